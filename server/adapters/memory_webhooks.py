"""The in-memory twins of the webhooks room's ports (workers/webhooks/ports.py): each site's
webhooks and the deliveries queued for them, on the shared `Tables`. A delivery's payload is
rewritten with its event by the transaction that rewrites the event (memory_transaction.py)."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from server.adapters.memory_tables import Tables
from server.storage import StoreError
from workers.webhooks.ports import Delivery, DeliveryStatus, Webhook


class MemoryWebhooks:
    """`WebhookRegistry`: each site's webhooks, by id."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def put(self, webhook: Webhook) -> None:
        if webhook.site not in self._tables.sites:
            raise StoreError(f"no site {webhook.site!r} for webhook {webhook.id!r}")
        self._tables.webhooks[webhook.id] = webhook

    async def get(self, webhook_id: str) -> Webhook | None:
        return self._tables.webhooks.get(webhook_id)

    async def of_site(self, site: str) -> list[Webhook]:
        found = [w for w in self._tables.webhooks.values() if w.site == site]
        return sorted(found, key=lambda w: w.id)

    async def remove(self, webhook_id: str) -> bool:
        tables = self._tables
        if tables.webhooks.pop(webhook_id, None) is None:
            return False
        for delivery_id in [i for i, d in tables.deliveries.items() if d.webhook_id == webhook_id]:
            del tables.deliveries[delivery_id]
        return True


class MemoryDeliveries:
    """`DeliveryQueue`: deliveries by their stable id, in any status."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def enqueue(self, deliveries: Sequence[Delivery]) -> None:
        tables = self._tables
        for delivery in deliveries:
            if delivery.webhook_id in tables.webhooks:
                tables.deliveries.setdefault(delivery.id, delivery)

    async def due(self, now: float, limit: int) -> list[Delivery]:
        due = [
            d
            for d in self._tables.deliveries.values()
            if d.status == "pending" and d.next_at <= now
        ]
        due.sort(key=lambda d: (d.next_at, d.position, d.id))
        return due[: max(limit, 0)]

    async def settle(
        self,
        delivery_id: str,
        status: DeliveryStatus,
        attempts: int,
        next_at: float,
        last_error: str | None,
    ) -> None:
        delivery = self._tables.deliveries.get(delivery_id)
        if delivery is not None:
            self._tables.deliveries[delivery_id] = msgspec.structs.replace(
                delivery, status=status, attempts=attempts, next_at=next_at, last_error=last_error
            )

    async def in_status(self, status: DeliveryStatus) -> list[Delivery]:
        found = [d for d in self._tables.deliveries.values() if d.status == status]
        return sorted(found, key=lambda d: (d.position, d.id))

    async def replay(self, ids: Sequence[str] | None) -> int:
        tables = self._tables
        chosen = tables.deliveries.keys() if ids is None else dict.fromkeys(ids)
        replayed = 0
        for delivery_id in list(chosen):
            delivery = tables.deliveries.get(delivery_id)
            if delivery is not None and delivery.status == "parked":
                tables.deliveries[delivery_id] = msgspec.structs.replace(
                    delivery, status="pending", attempts=0, next_at=0.0
                )
                replayed += 1
        return replayed
