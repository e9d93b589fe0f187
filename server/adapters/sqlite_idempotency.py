"""The SQL of posts' remembered answers, by site and `Idempotency-Key`
(server/threads/idempotency.py).

The answer is written in the post's own transaction, so it is kept exactly when the comment is;
erasing a comment overwrites the answers kept for it, so its text cannot come back on a retry.

Functions take the connection first, block, and write inside the caller's transaction, as in
sqlite_comments.py; the transaction (sqlite_transaction.py) calls them for the `AnswerWrites`
part of its port.
"""

from __future__ import annotations

import sqlite3

from server.storage import StoreError
from server.threads.ports import ERASED, IdempotentAnswer


def recall(conn: sqlite3.Connection, site: str, key: str) -> IdempotentAnswer | None:
    row = conn.execute(
        "SELECT fingerprint, status, body, created_at, comment_id FROM idempotency "
        "WHERE site = ? AND key = ?",
        (site, key),
    ).fetchone()
    if row is None:
        return None
    return IdempotentAnswer(
        key=key,
        fingerprint=row[0],
        status=int(row[1]),
        body=bytes(row[2]),
        created_at=float(row[3]),
        comment_id=row[4],
    )


def remember(conn: sqlite3.Connection, site: str, answer: IdempotentAnswer) -> None:
    try:
        conn.execute(
            "INSERT INTO idempotency "
            "(site, key, fingerprint, status, body, created_at, comment_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                site,
                answer.key,
                answer.fingerprint,
                answer.status,
                answer.body,
                answer.created_at,
                answer.comment_id,
            ),
        )
    except sqlite3.IntegrityError as exc:
        raise StoreError(f"idempotency key {answer.key!r} is already remembered") from exc


def forget_answers(conn: sqlite3.Connection, before: float) -> None:
    conn.execute("DELETE FROM idempotency WHERE created_at < ?", (before,))


def erase_answers(conn: sqlite3.Connection, site: str, comment_id: str, body: bytes) -> None:
    conn.execute(
        "UPDATE idempotency SET body = ?, fingerprint = ? WHERE site = ? AND comment_id = ?",
        (body, ERASED, site, comment_id),
    )
