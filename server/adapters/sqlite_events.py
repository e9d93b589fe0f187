"""The SQL of the event log: appended per thread, read per thread by seq and store-wide by position.

A thread's seq and its new event are written by one function in the caller's transaction, so a
replay after `since` never skips or repeats an event. A removal or an edit rewrites the
comment's stored events, and the webhook deliveries that carry copies of them, so no replay shows
its old text again.
Workers read the whole log in commit order, each from a named cursor that one owner at a time
holds by lease: two copies of a worker never handle the same event together.

Functions take the connection first, block, and write inside the caller's transaction, as in
sqlite_comments.py.
"""

from __future__ import annotations

import sqlite3

from server import events
from server.adapters.redaction import TYPES_WITH_COMMENT, rewritten
from server.adapters.sqlite_comments import thread_comment, thread_state
from server.events import DurableEvent
from server.model import PublicComment
from server.ports import LogEntry, StoredEvent, StoreError


def append(
    conn: sqlite3.Connection, site: str, thread: str, event: DurableEvent, comment_id: str | None
) -> bytes:
    seq = thread_state(conn, site, thread).seq + 1
    placed = events.with_seq(event, seq)
    payload = events.encode(placed)
    conn.execute(
        "INSERT INTO events (site, thread, seq, type, comment_id, payload) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (site, thread, seq, events.event_type(placed), comment_id, payload),
    )
    conn.execute(
        "INSERT INTO threads (site, thread, seq) VALUES (?, ?, ?) "
        "ON CONFLICT (site, thread) DO UPDATE SET seq = excluded.seq",
        (site, thread, seq),
    )
    return payload


def rewrite(
    conn: sqlite3.Connection, site: str, thread: str, comment_id: str, comment: PublicComment
) -> None:
    if thread_comment(conn, site, thread, comment_id) is None:
        raise StoreError(f"no comment {comment_id} in thread {site}/{thread}")
    marks = ", ".join("?" * len(TYPES_WITH_COMMENT))
    rows = conn.execute(
        "SELECT seq, payload, position FROM events WHERE comment_id = ? AND site = ? "
        f"AND thread = ? AND type IN ({marks})",
        (comment_id, site, thread, *TYPES_WITH_COMMENT),
    ).fetchall()
    rewritten_rows = [(rewritten(bytes(row[1]), comment), row[0], row[2]) for row in rows]
    conn.executemany(
        "UPDATE events SET payload = ? WHERE site = ? AND thread = ? AND seq = ?",
        [(payload, site, thread, seq) for payload, seq, _ in rewritten_rows],
    )
    # Webhook deliveries carry a copy of the event: a replay must not send the text again.
    conn.executemany(
        "UPDATE deliveries SET payload = ? WHERE position = ?",
        [(payload, position) for payload, _, position in rewritten_rows],
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
