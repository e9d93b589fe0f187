"""The webhooks room's storage ports: each site's webhooks and the deliveries queued for them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

import msgspec


class Webhook(msgspec.Struct, frozen=True, kw_only=True):
    """A URL of a site's that receives that site's events as signed POSTs."""

    id: str
    site: str
    url: str
    # The HMAC key of the signatures; kept in clear because signing needs it.
    secret: str
    # The event types sent (`comment.created`, ...); empty means every type.
    events: tuple[str, ...] = ()


DeliveryStatus = Literal["pending", "sent", "parked"]


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """One event for one webhook. `id` is stable (f"{webhook_id}:{position}"), so queueing the
    same event again changes nothing and receivers can drop a delivery they already have."""

    id: str
    webhook_id: str
    position: int
    site: str
    thread: str
    # The event's stored JSON (rewritten with it if its comment is removed or edited).
    payload: bytes
    attempts: int = 0
    # When it is due (pending) or was last tried.
    next_at: float = 0.0
    status: DeliveryStatus = "pending"
    last_error: str | None = None


class WebhookRegistry(Protocol):
    """Each site's webhooks."""

    async def put(self, webhook: Webhook) -> None:
        """Create or replace a webhook (by id); its site must exist (StoreError)."""
        ...

    async def get(self, webhook_id: str) -> Webhook | None: ...

    async def of_site(self, site: str) -> list[Webhook]:
        """A site's webhooks, by id."""
        ...

    async def remove(self, webhook_id: str) -> bool:
        """Remove a webhook and its deliveries; False if there was none."""
        ...


class DeliveryQueue(Protocol):
    """Deliveries waiting, sent and parked. Each is queued once by its stable id, however
    often a worker handles its event, so a crash between queueing and advancing the worker's
    cursor sends nothing twice."""

    async def enqueue(self, deliveries: Sequence[Delivery]) -> None:
        """Queue deliveries; one whose id is already queued (in any status), or whose webhook
        is gone, is left out."""
        ...

    async def due(self, now: float, limit: int) -> list[Delivery]:
        """Pending deliveries with next_at <= now, longest due first, at most `limit`."""
        ...

    async def settle(
        self,
        delivery_id: str,
        status: DeliveryStatus,
        attempts: int,
        next_at: float,
        last_error: str | None,
    ) -> None:
        """Record an attempt's outcome (nothing happens if the delivery is gone)."""
        ...

    async def in_status(self, status: DeliveryStatus) -> list[Delivery]:
        """Every delivery in a status, by position."""
        ...

    async def replay(self, ids: Sequence[str] | None) -> int:
        """Make parked deliveries (these, or all when None) pending again, due at once, with
        their attempts reset; returns how many were parked."""
        ...
