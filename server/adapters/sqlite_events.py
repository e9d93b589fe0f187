"""The SQL of the event log: appended per thread, read per thread by seq and store-wide by position.

The core (server/threads/history.py) gives each event its seq and its bytes; here they are only
kept. A thread's seq and its new event are written by one function in the caller's transaction,
so a replay after `since` never skips or repeats an event. A removal or an edit has the core
rewrite the comment's stored events: `replace` puts the new bytes in the events and in the
webhook deliveries that carry copies of them, so no replay shows the old text again.
Workers read the whole log in commit order, each from a named cursor that one owner at a time
holds by lease: two copies of a worker never handle the same event together.

Functions take the connection first, block, and write inside the caller's transaction, as in
sqlite_comments.py. The adapters of the `EventLog` and `Cursors` ports are at the end.
"""

from __future__ import annotations

import sqlite3

from server.adapters.sqlite_database import SqliteDatabase
from server.adapters.sqlite_threads import set_seq
from server.events import EventType
from server.model import ThreadKey
from server.storage import StoreError
from server.threads.ports import LogEntry, StoredEvent


def append(
    conn: sqlite3.Connection,
    site: str,
    thread: str,
    event: StoredEvent,
    type: EventType,
    comment_id: str | None,
) -> None:
    """Keep the event as given, and make its seq the thread's."""
    try:
        conn.execute(
            "INSERT INTO events (site, thread, seq, type, comment_id, payload) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (site, thread, event.seq, type, comment_id, event.payload),
        )
    except sqlite3.IntegrityError as exc:
        raise StoreError(f"thread {site}/{thread} already has an event {event.seq}") from exc
    set_seq(conn, site, thread, event.seq)


def events_of(
    conn: sqlite3.Connection, site: str, thread: str, comment_id: str, types: list[EventType]
) -> list[StoredEvent]:
    if not types:
        return []
    marks = ", ".join("?" * len(types))
    rows = conn.execute(
        "SELECT seq, payload FROM events WHERE comment_id = ? AND site = ? AND thread = ? "
        f"AND type IN ({marks}) ORDER BY seq",
        (comment_id, site, thread, *types),
    ).fetchall()
    return [StoredEvent(seq=int(row[0]), payload=bytes(row[1])) for row in rows]


def replace(conn: sqlite3.Connection, site: str, thread: str, events: list[StoredEvent]) -> None:
    """New bytes for stored events (by seq), and for the webhook deliveries copied from them.
    A seq the thread does not have is refused (StoreError); the caller's transaction then rolls
    back whatever this changed."""
    rows = [(e.payload, site, thread, e.seq) for e in events]
    changed = conn.executemany(
        "UPDATE events SET payload = ? WHERE site = ? AND thread = ? AND seq = ?", rows
    ).rowcount
    if changed != len(rows):
        raise StoreError(f"an event to replace is not in thread {site}/{thread}")
    # Webhook deliveries carry a copy of the event: a replay must not send the text again.
    conn.executemany(
        "UPDATE deliveries SET payload = ? WHERE position = "
        "(SELECT position FROM events WHERE site = ? AND thread = ? AND seq = ?)",
        rows,
    )


def events_after(
    conn: sqlite3.Connection, site: str, thread: str, after: int, limit: int
) -> list[StoredEvent]:
    # max(): a negative LIMIT means "no limit" to SQLite, which is not what a caller meant.
    rows = conn.execute(
        "SELECT seq, payload FROM events WHERE site = ? AND thread = ? AND seq > ? "
        "ORDER BY seq LIMIT ?",
        (site, thread, after, max(limit, 0)),
    ).fetchall()
    return [StoredEvent(seq=int(row[0]), payload=bytes(row[1])) for row in rows]


def log_end(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT MAX(position) FROM events").fetchone()
    return int(row[0] or 0)


def log_after(conn: sqlite3.Connection, after: int, limit: int) -> list[LogEntry]:
    rows = conn.execute(
        "SELECT position, site, thread, seq, payload FROM events WHERE position > ? "
        "ORDER BY position LIMIT ?",
        (after, max(limit, 0)),
    ).fetchall()
    return [
        LogEntry(position=r[0], site=r[1], thread=r[2], seq=r[3], payload=bytes(r[4])) for r in rows
    ]


def cursor(conn: sqlite3.Connection, name: str) -> int:
    row = conn.execute("SELECT position FROM cursors WHERE name = ?", (name,)).fetchone()
    return 0 if row is None else int(row[0])


def lease(conn: sqlite3.Connection, name: str, owner: str, until: float, now: float) -> bool:
    # Like every write, inside the writer's transaction (sqlite_writer.py): both statements or
    # neither.
    conn.execute("INSERT OR IGNORE INTO cursors (name) VALUES (?)", (name,))
    taken = conn.execute(
        "UPDATE cursors SET owner = ?, lease_until = ? "
        "WHERE name = ? AND (owner IS NULL OR owner = ? OR lease_until < ?)",
        (owner, until, name, owner, now),
    ).rowcount
    return taken == 1


def advance(conn: sqlite3.Connection, name: str, owner: str, position: int) -> bool:
    moved = conn.execute(
        "UPDATE cursors SET position = ? WHERE name = ? AND owner = ?",
        (position, name, owner),
    ).rowcount
    return moved == 1


class SqliteEventLog:
    """`EventLog`: the committed events, from the reader connection."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def events_after(self, key: ThreadKey, after: int, limit: int) -> list[StoredEvent]:
        return await self._db.read_now(events_after, key.site, key.thread, after, limit)

    async def end(self) -> int:
        return await self._db.read_now(log_end)

    async def after(self, after: int, limit: int) -> list[LogEntry]:
        return await self._db.read_now(log_after, after, limit)


class SqliteCursors:
    """`Cursors`: positions read from the reader, leases and advances written by the writer."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def position(self, name: str) -> int:
        return await self._db.read_now(cursor, name)

    async def lease(self, name: str, owner: str, until: float, now: float) -> bool:
        return await self._db.write(lease, name, owner, until, now)

    async def advance(self, name: str, owner: str, position: int) -> bool:
        return await self._db.write(advance, name, owner, position)
