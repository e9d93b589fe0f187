"""The use-case layer on real parts, for tests below HTTP: the test's store (a SQLite file, or a
PostgreSQL database with `--store postgres`), the in-process bus, `Comments` over both, and the
comment a form would have sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from server.adapters.memory_bus import MemoryBus
from server.composition import comments_for, store_for
from server.model import Site
from server.settings import Settings
from server.storage import Storage
from server.threads.comments import Comments
from server.validation import CleanComment


def new_comment(
    body: str,
    *,
    site: str = "news",
    thread: str = "t",
    parent: str | None = None,
    name: str = "Ann",
    email: str | None = None,
    notify: bool = False,
) -> CleanComment:
    """A comment as validated from the form (no website; no email unless given)."""
    return CleanComment(
        site=site,
        thread=thread,
        parent=parent,
        name=name,
        email=email,
        url=None,
        body=body,
        notify=notify,
    )


Parts = tuple[Storage, MemoryBus, Comments]


@asynccontextmanager
async def use_cases(database: str, *sites: Site) -> AsyncIterator[Parts]:
    """The store at the `database` URL with `sites` (default: "news"), a bus, and Comments over
    them."""
    store, bus = store_for(Settings(database=database)), MemoryBus()
    await store.open()
    await bus.start()
    for site in sites or (Site(name="news"),):
        await store.sites.put(site)
    try:
        yield store, bus, comments_for(store, bus)
    finally:
        await bus.close()
        await store.close()
