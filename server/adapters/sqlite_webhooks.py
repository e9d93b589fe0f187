"""The SQL of webhooks and their deliveries: the outbox the webhooks worker sends from.

Each delivery is a row with its own copy of the event, status and next attempt, so a send
survives restarts and is retried with backoff until it is delivered or parked (failed every
attempt, or refused), where it stays until an operator replays it. Removing a webhook removes its
deliveries (ON DELETE CASCADE).

Functions take the connection first, block, and write inside the caller's transaction, as in
sqlite_comments.py. The adapters of the `WebhookRegistry` and `DeliveryQueue` ports are at the
end.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import msgspec

from server.adapters.sqlite_comments import MAX_PARAMS
from server.adapters.sqlite_database import SqliteDatabase
from server.adapters.sqlite_sites import site
from server.storage import StoreError
from workers.webhooks.ports import Delivery, DeliveryStatus, Webhook

_DELIVERY_COLUMNS = (
    "id, webhook_id, position, site, thread, payload, attempts, next_at, status, last_error"
)


def _webhook(row: Any) -> Webhook:
    return Webhook(
        id=row[0],
        site=row[1],
        url=row[2],
        secret=row[3],
        events=msgspec.json.decode(row[4], type=tuple[str, ...]),
    )


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row[0],
        webhook_id=row[1],
        position=int(row[2]),
        site=row[3],
        thread=row[4],
        payload=bytes(row[5]),
        attempts=int(row[6]),
        next_at=float(row[7]),
        status=row[8],
        last_error=row[9],
    )


def put_webhook(conn: sqlite3.Connection, webhook: Webhook) -> None:
    if site(conn, webhook.site) is None:
        raise StoreError(f"no site {webhook.site!r} for webhook {webhook.id!r}")
    # An upsert: INSERT OR REPLACE would delete the row and cascade to its deliveries.
    conn.execute(
        "INSERT INTO webhooks (id, site, url, secret, events) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET site = excluded.site, url = excluded.url, "
        "secret = excluded.secret, events = excluded.events",
        (
            webhook.id,
            webhook.site,
            webhook.url,
            webhook.secret,
            msgspec.json.encode(list(webhook.events)).decode(),
        ),
    )


def webhook(conn: sqlite3.Connection, webhook_id: str) -> Webhook | None:
    row = conn.execute(
        "SELECT id, site, url, secret, events FROM webhooks WHERE id = ?", (webhook_id,)
    ).fetchone()
    return None if row is None else _webhook(row)


def webhooks(conn: sqlite3.Connection, site: str) -> list[Webhook]:
    rows = conn.execute(
        "SELECT id, site, url, secret, events FROM webhooks WHERE site = ? ORDER BY id", (site,)
    ).fetchall()
    return [_webhook(row) for row in rows]


def remove_webhook(conn: sqlite3.Connection, webhook_id: str) -> bool:
    # One statement: the foreign key's ON DELETE CASCADE removes the deliveries with it.
    return conn.execute("DELETE FROM webhooks WHERE id = ?", (webhook_id,)).rowcount == 1


def enqueue_deliveries(conn: sqlite3.Connection, deliveries: list[Delivery]) -> None:
    if not deliveries:
        return
    # OR IGNORE skips an id already queued; the EXISTS skips a webhook removed meanwhile
    # (a foreign key violation is not something OR IGNORE ignores).
    conn.executemany(
        f"INSERT OR IGNORE INTO deliveries ({_DELIVERY_COLUMNS}) "
        "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? "
        "WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = ?)",
        [
            (
                d.id,
                d.webhook_id,
                d.position,
                d.site,
                d.thread,
                d.payload,
                d.attempts,
                d.next_at,
                d.status,
                d.last_error,
                d.webhook_id,
            )
            for d in deliveries
        ],
    )


def due_deliveries(conn: sqlite3.Connection, now: float, limit: int) -> list[Delivery]:
    rows = conn.execute(
        f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE status = 'pending' AND next_at <= ? "
        "ORDER BY next_at, position, id LIMIT ?",
        (now, max(limit, 0)),
    ).fetchall()
    return [_delivery(row) for row in rows]


def settle_delivery(
    conn: sqlite3.Connection,
    delivery_id: str,
    status: DeliveryStatus,
    attempts: int,
    next_at: float,
    last_error: str | None,
) -> None:
    conn.execute(
        "UPDATE deliveries SET status = ?, attempts = ?, next_at = ?, last_error = ? WHERE id = ?",
        (status, attempts, next_at, last_error, delivery_id),
    )


def deliveries(conn: sqlite3.Connection, status: DeliveryStatus) -> list[Delivery]:
    rows = conn.execute(
        f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE status = ? ORDER BY position, id",
        (status,),
    ).fetchall()
    return [_delivery(row) for row in rows]


def replay_deliveries(conn: sqlite3.Connection, ids: list[str] | None) -> int:
    update = "UPDATE deliveries SET status = 'pending', attempts = 0, next_at = 0 "
    if ids is None:
        return conn.execute(update + "WHERE status = 'parked'").rowcount
    changed = 0
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), MAX_PARAMS):
        chunk = unique[start : start + MAX_PARAMS]
        marks = ", ".join("?" * len(chunk))
        changed += conn.execute(
            update + f"WHERE status = 'parked' AND id IN ({marks})", chunk
        ).rowcount
    return changed


class SqliteWebhooks:
    """`WebhookRegistry`: written by the writer, read from the reader."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def put(self, webhook: Webhook) -> None:
        await self._db.write(put_webhook, webhook)

    async def get(self, webhook_id: str) -> Webhook | None:
        return await self._db.read_now(webhook, webhook_id)

    async def of_site(self, site: str) -> list[Webhook]:
        return await self._db.read_now(webhooks, site)

    async def remove(self, webhook_id: str) -> bool:
        return await self._db.write(remove_webhook, webhook_id)


class SqliteDeliveries:
    """`DeliveryQueue`: written by the writer, read from the reader."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def enqueue(self, deliveries: Sequence[Delivery]) -> None:
        await self._db.write(enqueue_deliveries, list(deliveries))

    async def due(self, now: float, limit: int) -> list[Delivery]:
        return await self._db.read(due_deliveries, now, limit)

    async def settle(
        self,
        delivery_id: str,
        status: DeliveryStatus,
        attempts: int,
        next_at: float,
        last_error: str | None,
    ) -> None:
        await self._db.write(settle_delivery, delivery_id, status, attempts, next_at, last_error)

    async def in_status(self, status: DeliveryStatus) -> list[Delivery]:
        return await self._db.read(deliveries, status)

    async def replay(self, ids: Sequence[str] | None) -> int:
        return await self._db.write(replay_deliveries, None if ids is None else list(ids))
