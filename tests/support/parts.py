"""The use-case layer on real parts, for tests below HTTP: a SQLite store, the in-process bus,
`Comments` over both, and the comment a form would have sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from server.adapters.memory_bus import MemoryBus
from server.adapters.sqlite_store import sqlite_storage
from server.composition import comments_for
from server.model import Site
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
async def use_cases(path: Path, *sites: Site) -> AsyncIterator[Parts]:
    """A store on `path` with `sites` (default: "news"), a bus, and Comments over them."""
    store, bus = sqlite_storage(str(path)), MemoryBus()
    await store.open()
    await bus.start()
    for site in sites or (Site(name="news"),):
        await store.sites.put(site)
    try:
        yield store, bus, comments_for(store, bus)
    finally:
        await bus.close()
        await store.close()
