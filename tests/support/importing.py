"""What the import and export tests share: the sample files, a migrated database with a site,
and reading back what an import wrote."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from server import events
from server.model import CommentRecord, ThreadKey, ThreadState
from server.settings import Settings
from server.web.app import store_for
from tests.support.command import livethread, migrated

DATA = Path(__file__).resolve().parent.parent / "data" / "import"


def isso_database(folder: Path) -> Path:
    """Isso's database, built from tests/data/import/isso.sql."""
    path = folder / "isso.db"
    conn = sqlite3.connect(path)
    try:
        conn.executescript((DATA / "isso.sql").read_text(encoding="utf-8"))
        conn.commit()
    finally:
        conn.close()
    return path


def with_site(path: Path, site: str = "news") -> str:
    """A migrated SQLite database with `site`; its URL."""
    url = migrated(path)
    added = livethread("site", "add", site, "--origin", "https://news.example", "--database", url)
    assert added.returncode == 0, added.stderr
    return url


class Thread:
    """A thread read back: its state, its comments by id, and its logged events."""

    def __init__(
        self, state: ThreadState, comments: list[CommentRecord], logged: list[events.DurableEvent]
    ) -> None:
        self.state = state
        self.comments = {c.id: c for c in comments}
        self.ordered = comments
        self.events = logged

    def by_name(self, name: str) -> list[CommentRecord]:
        return [c for c in self.ordered if c.author_name == name]


async def _read(database: str, site: str) -> dict[str, Thread]:
    store = store_for(Settings(database=database))
    await store.open()
    try:
        found: dict[str, Thread] = {}
        for thread in await store.imports.site_threads(site):
            key = ThreadKey(site, thread)
            state, comments = await store.comments.of_thread(key)
            stored = await store.log.events_after(key, 0, 100_000)
            logged = [events.decode_event(e.payload) for e in stored]
            found[thread] = Thread(state, comments, logged)
        return found
    finally:
        await store.close()


def threads_of(database: str, site: str = "news") -> dict[str, Thread]:
    """Every thread of the site, read through the store."""
    return asyncio.run(_read(database, site))


def import_(
    database: str, fmt: str, file: Path, *extra: str, site: str = "news"
) -> tuple[int, str, str]:
    """`livethread import FMT FILE --site SITE EXTRA…`: exit code, stdout, stderr."""
    done = livethread("import", fmt, str(file), "--site", site, "--database", database, *extra)
    return done.returncode, done.stdout, done.stderr
