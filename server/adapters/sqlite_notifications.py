"""The SQL of reply notifications: who was mailed about which reply, and who wants no more.

The notifications worker records each mail here, so an event handled again (after a restart, or
by the next lease holder) does not mail the same person about the same reply twice. The signing
secret of unsubscribe links is made once per database, the first process to ask winning, so
every process signs and checks links alike. Addresses that asked for reply mail are kept by keyed
hash with their double opt-in: the last confirmation mail, and the confirmation.

Functions take the connection first, block, and write inside the caller's transaction, as in
sqlite_comments.py. The adapters of the `Subscriptions`, `Addresses` and `Secrets` ports are at
the end.
"""

from __future__ import annotations

import secrets
import sqlite3

from server.adapters.sqlite_database import SqliteDatabase
from workers.notifications.ports import AddressState


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


def address(conn: sqlite3.Connection, key: str) -> AddressState | None:
    row = conn.execute(
        "SELECT requested_at, confirmed_at FROM mail_addresses WHERE key = ?", (key,)
    ).fetchone()
    return None if row is None else AddressState(key=key, requested_at=row[0], confirmed_at=row[1])


def confirmations_sent(conn: sqlite3.Connection, site: str, since: float) -> int:
    row = conn.execute(
        "SELECT count(*) FROM mail_addresses WHERE site = ? AND requested_at >= ?", (site, since)
    ).fetchone()
    return int(row[0])


def confirmation_sent(conn: sqlite3.Connection, key: str, site: str, at: float) -> None:
    conn.execute(
        "INSERT INTO mail_addresses (key, site, requested_at) VALUES (?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET "
        "site = excluded.site, requested_at = excluded.requested_at",
        (key, site, at),
    )


def forget_address(conn: sqlite3.Connection, key: str) -> bool:
    return conn.execute("DELETE FROM mail_addresses WHERE key = ?", (key,)).rowcount == 1


def confirm_address(conn: sqlite3.Connection, key: str, at: float) -> bool:
    # The first confirmation stands: a second click of the link changes nothing.
    cursor = conn.execute(
        "INSERT INTO mail_addresses (key, confirmed_at) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET confirmed_at = excluded.confirmed_at "
        "WHERE confirmed_at IS NULL",
        (key, at),
    )
    return cursor.rowcount == 1


class SqliteSubscriptions:
    """`Subscriptions`: written by the writer, read from the reader."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def mark_notified(self, reply_id: str, recipient: str) -> bool:
        return await self._db.write(mark_notified, reply_id, recipient)

    async def was_notified(self, reply_id: str, recipient: str) -> bool:
        return await self._db.read_now(was_notified, reply_id, recipient)

    async def unsubscribe(self, comment_id: str) -> bool:
        return await self._db.write(unsubscribe, comment_id)


class SqliteAddresses:
    """`Addresses`: written by the writer, read from the reader."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def get(self, key: str) -> AddressState | None:
        return await self._db.read_now(address, key)

    async def confirmations_sent(self, site: str, since: float) -> int:
        return await self._db.read(confirmations_sent, site, since)

    async def confirmation_sent(self, key: str, site: str, at: float) -> None:
        await self._db.write(confirmation_sent, key, site, at)

    async def confirm(self, key: str, at: float) -> bool:
        return await self._db.write(confirm_address, key, at)

    async def forget(self, key: str) -> bool:
        return await self._db.write(forget_address, key)


class SqliteSecrets:
    """`Secrets`: made and read by the writer, so the first process to ask decides."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def get(self, name: str) -> str:
        return await self._db.write(secret, name, secrets.token_urlsafe(32))
