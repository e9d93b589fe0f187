"""The SQL of reply notifications: who was mailed about which reply, and who wants no more.

The notifications worker records each mail here, so an event handled again (after a restart, or
by the next lease holder) does not mail the same person about the same reply twice. The signing
secret of unsubscribe links is made once per database, the first process to ask winning, so
every process signs and checks links alike.

Functions take the connection first, block, and write inside the caller's transaction, as in
sqlite_comments.py.
"""

from __future__ import annotations

import sqlite3


def mark_notified(conn: sqlite3.Connection, reply_id: str, recipient: str) -> bool:
    cursor = conn.execute(
        "INSERT OR IGNORE INTO notifications_sent (reply_id, recipient) VALUES (?, ?)",
        (reply_id, recipient),
    )
    return cursor.rowcount == 1


def was_notified(conn: sqlite3.Connection, reply_id: str, recipient: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM notifications_sent WHERE reply_id = ? AND recipient = ?",
        (reply_id, recipient),
    ).fetchone()
    return row is not None


def unsubscribe(conn: sqlite3.Connection, comment_id: str) -> bool:
    cursor = conn.execute("UPDATE comments SET notify = 0 WHERE id = ?", (comment_id,))
    return cursor.rowcount == 1


def secret(conn: sqlite3.Connection, name: str, fresh: str) -> str:
    # INSERT OR IGNORE then SELECT: when two processes race, both read the winner's value.
    conn.execute("INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)", (name, fresh))
    row = conn.execute("SELECT value FROM secrets WHERE name = ?", (name,)).fetchone()
    return str(row[0])
