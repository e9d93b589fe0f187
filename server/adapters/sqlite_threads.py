"""The SQL of a thread's own row: its seq, its lock flag and its metadata.

The `Threads` port's adapter, which also opens a thread's transaction, is in
sqlite_transaction.py; the comments of a thread are in sqlite_comments.py.

Functions take the connection first, block, and write inside the caller's transaction, as in
sqlite_comments.py.
"""

from __future__ import annotations

import sqlite3

from server.model import ThreadMeta, ThreadState


def thread_state(conn: sqlite3.Connection, site: str, thread: str) -> ThreadState:
    row = conn.execute(
        "SELECT seq, locked, title, url, byline FROM threads WHERE site = ? AND thread = ?",
        (site, thread),
    ).fetchone()
    if row is None:
        return ThreadState(site=site, thread=thread)
    return ThreadState(
        site=site,
        thread=thread,
        seq=int(row[0]),
        locked=bool(row[1]),
        title=row[2],
        url=row[3],
        byline=row[4],
    )


def thread_meta(conn: sqlite3.Connection, site: str, thread: str) -> ThreadMeta:
    row = conn.execute(
        "SELECT title, url FROM threads WHERE site = ? AND thread = ?", (site, thread)
    ).fetchone()
    return ThreadMeta() if row is None else ThreadMeta(title=row[0], url=row[1])


# `first`: a field already set keeps its value, decided inside the one statement, so two
# processes naming a new thread at once cannot both win.
_KEEP_SET = (
    "title = CASE WHEN threads.title = '' THEN excluded.title ELSE threads.title END, "
    "url = CASE WHEN threads.url = '' THEN excluded.url ELSE threads.url END"
)
_REPLACE = "title = excluded.title, url = excluded.url"


def set_thread_meta(
    conn: sqlite3.Connection, site: str, thread: str, meta: ThreadMeta, first: bool
) -> ThreadMeta:
    conn.execute(
        "INSERT INTO threads (site, thread, title, url) VALUES (?, ?, ?, ?) "
        f"ON CONFLICT (site, thread) DO UPDATE SET {_KEEP_SET if first else _REPLACE}",
        (site, thread, meta.title, meta.url),
    )
    return thread_meta(conn, site, thread)


def set_byline(conn: sqlite3.Connection, site: str, thread: str, byline: str) -> None:
    conn.execute(
        "INSERT INTO threads (site, thread, byline) VALUES (?, ?, ?) "
        "ON CONFLICT (site, thread) DO UPDATE SET byline = excluded.byline",
        (site, thread, byline),
    )


def set_locked(conn: sqlite3.Connection, site: str, thread: str, locked: bool) -> None:
    conn.execute(
        "INSERT INTO threads (site, thread, locked) VALUES (?, ?, ?) "
        "ON CONFLICT (site, thread) DO UPDATE SET locked = excluded.locked",
        (site, thread, int(locked)),
    )


def set_seq(conn: sqlite3.Connection, site: str, thread: str, seq: int) -> None:
    conn.execute(
        "INSERT INTO threads (site, thread, seq) VALUES (?, ?, ?) "
        "ON CONFLICT (site, thread) DO UPDATE SET seq = excluded.seq",
        (site, thread, seq),
    )
