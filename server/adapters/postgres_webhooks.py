"""Webhooks and their deliveries on the PostgreSQL store: the `WebhookRegistry` and
`DeliveryQueue` ports, the outbox the webhooks worker sends from; the PostgreSQL twin of
sqlite_webhooks.py.

Each delivery is a row with its own copy of the event, status and next attempt, so a send
survives restarts and is retried until it is delivered or parked, where it stays until an
operator replays it. Removing a webhook removes its deliveries (ON DELETE CASCADE). Webhooks are
listed by id and deliveries by (position, id), ids compared byte by byte (COLLATE "C") as in
SQLite and the memory store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from server.adapters.postgres_database import PostgresDatabase, affected
from server.storage import StoreError
from workers.webhooks.ports import Delivery, DeliveryStatus, Webhook

_WEBHOOK_COLUMNS = "id, site, url, secret, events"
_DELIVERY_COLUMNS = (
    "id, webhook_id, position, site, thread, payload, attempts, next_at, status, last_error"
)

# Left out: an id already queued (in any status: ON CONFLICT), a webhook that is gone (the
# EXISTS). FOR KEY SHARE holds the webhook until the insert commits, so a removal running at
# the same time either waits and then takes the new delivery with it (the cascade), or
# committed first and the EXISTS finds nothing: never a foreign key violation.
_ENQUEUE = (
    f"INSERT INTO deliveries ({_DELIVERY_COLUMNS}) "
    "SELECT $1::text, $2::text, $3::bigint, $4::text, $5::text, $6::bytea, $7::integer, "
    "$8::double precision, $9::text, $10::text "
    "WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = $2 FOR KEY SHARE) "
    "ON CONFLICT (id) DO NOTHING"
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


class PostgresWebhooks:
    """`WebhookRegistry`: each site's webhooks."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def put(self, webhook: Webhook) -> None:
        # An upsert: deleting and inserting again would cascade to the webhook's deliveries.
        status = await self._db.execute(
            f"INSERT INTO webhooks ({_WEBHOOK_COLUMNS}) "
            "SELECT $1::text, $2::text, $3::text, $4::text, $5::text "
            "WHERE EXISTS (SELECT 1 FROM sites WHERE name = $2) "
            "ON CONFLICT (id) DO UPDATE SET site = excluded.site, url = excluded.url, "
            "secret = excluded.secret, events = excluded.events",
            webhook.id,
            webhook.site,
            webhook.url,
            webhook.secret,
            msgspec.json.encode(list(webhook.events)).decode(),
        )
        if affected(status) != 1:
            raise StoreError(f"no site {webhook.site!r} for webhook {webhook.id!r}")

    async def get(self, webhook_id: str) -> Webhook | None:
        row = await self._db.fetchrow(
            f"SELECT {_WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1", webhook_id
        )
        return None if row is None else _webhook(row)

    async def of_site(self, site: str) -> list[Webhook]:
        rows = await self._db.fetch(
            f'SELECT {_WEBHOOK_COLUMNS} FROM webhooks WHERE site = $1 ORDER BY id COLLATE "C"',
            site,
        )
        return [_webhook(row) for row in rows]

    async def remove(self, webhook_id: str) -> bool:
        # One statement: the foreign key's ON DELETE CASCADE removes the deliveries with it.
        status = await self._db.execute("DELETE FROM webhooks WHERE id = $1", webhook_id)
        return affected(status) == 1


class PostgresDeliveries:
    """`DeliveryQueue`: the deliveries, pending, sent and parked."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def enqueue(self, deliveries: Sequence[Delivery]) -> None:
        if not deliveries:
            return
        # In id order: two workers queueing overlapping batches take the rows' locks in the
        # same order, so neither waits on the other in a cycle (a deadlock).
        # (A stable sort: of two with one id, the first is queued, as in SQLite.)
        ordered = sorted(deliveries, key=lambda d: d.id)
        await self._db.executemany(
            _ENQUEUE,
            [
                (
                    d.id,
                    d.webhook_id,
                    d.position,
                    d.site,
                    d.thread,
                    bytes(d.payload),
                    d.attempts,
                    float(d.next_at),
                    d.status,
                    d.last_error,
                )
                for d in ordered
            ],
        )

    async def due(self, now: float, limit: int) -> list[Delivery]:
        # The WHERE states the partial index `deliveries_due`'s condition, so the planner uses it.
        rows = await self._db.fetch(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries "
            "WHERE status = 'pending' AND next_at <= $1 "
            'ORDER BY next_at, position, id COLLATE "C" LIMIT $2',
            float(now),
            max(limit, 0),
        )
        return [_delivery(row) for row in rows]

    async def settle(
        self,
        delivery_id: str,
        status: DeliveryStatus,
        attempts: int,
        next_at: float,
        last_error: str | None,
    ) -> None:
        await self._db.execute(
            "UPDATE deliveries SET status = $2, attempts = $3, next_at = $4, last_error = $5 "
            "WHERE id = $1",
            delivery_id,
            status,
            attempts,
            float(next_at),
            last_error,
        )

    async def in_status(self, status: DeliveryStatus) -> list[Delivery]:
        rows = await self._db.fetch(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE status = $1 "
            'ORDER BY position, id COLLATE "C"',
            status,
        )
        return [_delivery(row) for row in rows]

    async def replay(self, ids: Sequence[str] | None) -> int:
        update = "UPDATE deliveries SET status = 'pending', attempts = 0, next_at = 0 "
        if ids is None:
            status = await self._db.execute(update + "WHERE status = 'parked'")
        else:
            status = await self._db.execute(
                update + "WHERE status = 'parked' AND id = ANY($1::text[])", list(ids)
            )
        return affected(status)
