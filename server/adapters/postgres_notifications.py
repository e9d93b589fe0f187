"""Reply notifications on the PostgreSQL store: the `Subscriptions`, `Addresses` and `Secrets`
ports; the PostgreSQL twin of sqlite_notifications.py.

The notifications worker records each mail here, so an event handled again (after a restart, or
by the next lease holder) does not mail the same person about the same reply twice: the row's
primary key lets one INSERT win, and only its caller hears True. Secrets are made once per
database, the first process to ask winning, so every process signs and checks links alike.
Addresses that asked for reply mail are kept by keyed hash with their double opt-in.
"""

from __future__ import annotations

import secrets

from server.adapters.postgres_database import PostgresDatabase, affected, store_errors
from server.storage import StoreError
from workers.notifications.ports import AddressState


class PostgresSubscriptions:
    """`Subscriptions`: reply mails sent, and each comment's notify choice."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def mark_notified(self, reply_id: str, recipient: str) -> bool:
        # Two callers at once: the second's INSERT waits for the first's, then does nothing.
        status = await self._db.execute(
            "INSERT INTO notifications_sent (reply_id, recipient) VALUES ($1, $2) "
            "ON CONFLICT DO NOTHING",
            reply_id,
            recipient,
        )
        return affected(status) == 1

    async def was_notified(self, reply_id: str, recipient: str) -> bool:
        found = await self._db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM notifications_sent "
            "WHERE reply_id = $1 AND recipient = $2)",
            reply_id,
            recipient,
        )
        return bool(found)

    async def unsubscribe(self, comment_id: str) -> bool:
        # `notify` enters neither `in_review` nor `counted`: those columns stay as they are.
        status = await self._db.execute(
            "UPDATE comments SET notify = FALSE WHERE id = $1", comment_id
        )
        return affected(status) == 1


class PostgresAddresses:
    """`Addresses`: reply-mail addresses' double opt-in, by keyed hash."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def get(self, key: str) -> AddressState | None:
        row = await self._db.fetchrow(
            "SELECT requested_at, confirmed_at FROM mail_addresses WHERE key = $1", key
        )
        if row is None:
            return None
        return AddressState(key=key, requested_at=row[0], confirmed_at=row[1])

    async def confirmations_sent(self, site: str, since: float) -> int:
        found = await self._db.fetchval(
            "SELECT count(*) FROM mail_addresses WHERE site = $1 AND requested_at >= $2",
            site,
            float(since),
        )
        return int(found)

    async def confirmation_sent(self, key: str, site: str, at: float) -> None:
        await self._db.execute(
            "INSERT INTO mail_addresses (key, site, requested_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (key) DO UPDATE SET "
            "site = excluded.site, requested_at = excluded.requested_at",
            key,
            site,
            float(at),
        )

    async def confirm(self, key: str, at: float) -> bool:
        # The first confirmation stands: a second click of the link changes nothing.
        status = await self._db.execute(
            "INSERT INTO mail_addresses (key, confirmed_at) VALUES ($1, $2) "
            "ON CONFLICT (key) DO UPDATE SET confirmed_at = excluded.confirmed_at "
            "WHERE mail_addresses.confirmed_at IS NULL",
            key,
            float(at),
        )
        return affected(status) == 1

    async def forget(self, key: str) -> bool:
        status = await self._db.execute("DELETE FROM mail_addresses WHERE key = $1", key)
        return affected(status) == 1


class PostgresSecrets:
    """`Secrets`: made on first use; every caller, in any process, gets the same one."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def get(self, name: str) -> str:
        select = "SELECT value FROM secrets WHERE name = $1"
        async with self._db.connection() as conn:
            with store_errors():
                value = await conn.fetchval(select, name)
                if value is None:
                    # INSERT, then SELECT in a statement (a snapshot) of its own: when two
                    # processes race, the loser's INSERT waits for the winner's to commit and
                    # does nothing, and its SELECT then reads the winner's value.
                    await conn.execute(
                        "INSERT INTO secrets (name, value) VALUES ($1, $2) "
                        "ON CONFLICT (name) DO NOTHING",
                        name,
                        secrets.token_urlsafe(32),
                    )
                    value = await conn.fetchval(select, name)
        if value is None:
            raise StoreError(f"the secret {name!r} could not be made")
        return str(value)
