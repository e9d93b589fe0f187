"""The WebhookRegistry and DeliveryQueue contract: each site's webhooks and their deliveries."""

from __future__ import annotations

import msgspec
import pytest

from server.model import Site, ThreadKey, tombstone
from server.storage import Storage, StoreError
from server.threads import history
from tests.contract.records import SITE, delivery, hook, post, record


async def test_webhooks_round_trip_per_site(storage: Storage) -> None:
    """Webhooks are kept per site (listed by id), replaced by id, and removed."""
    webhooks = storage.webhooks
    await storage.sites.put(Site(name=SITE))
    await storage.sites.put(Site(name="other"))
    wanted = ("comment.created", "thread.locked")
    await webhooks.put(hook("w2", types=wanted))
    await webhooks.put(hook("w1"))
    await webhooks.put(hook("w3", site="other"))
    assert await webhooks.of_site(SITE) == [hook("w1"), hook("w2", types=wanted)]
    assert await webhooks.get("w3") == hook("w3", site="other")
    changed = msgspec.structs.replace(hook("w1"), url="https://elsewhere.example/")
    await webhooks.put(changed)
    assert await webhooks.get("w1") == changed
    assert await webhooks.remove("w1")
    assert not await webhooks.remove("w1")
    assert await webhooks.get("w1") is None
    assert [w.id for w in await webhooks.of_site(SITE)] == ["w2"]
    assert await webhooks.of_site("nobody") == []


async def test_a_webhook_needs_its_site(storage: Storage) -> None:
    """A webhook for a site that does not exist is refused."""
    with pytest.raises(StoreError):
        await storage.webhooks.put(hook("w1", site="nowhere"))


async def test_deliveries_are_queued_once_and_come_due_in_order(storage: Storage) -> None:
    """Queueing is idempotent by id; due deliveries come longest due first, up to a limit."""
    deliveries = storage.deliveries
    await storage.sites.put(Site(name=SITE))
    await storage.webhooks.put(hook("w1"))
    await deliveries.enqueue([delivery("w1", 2, next_at=10.0), delivery("w1", 1, next_at=20.0)])
    await deliveries.enqueue([delivery("w1", 3, next_at=10.0)])
    await deliveries.settle("w1:3", "sent", 1, 11.0, None)
    # Queued again (a worker handling the event twice): nothing changes, not even a sent one.
    await deliveries.enqueue([delivery("w1", 2, next_at=0.0), delivery("w1", 3)])
    assert [d.id for d in await deliveries.due(15.0, 10)] == ["w1:2"]
    assert [d.id for d in await deliveries.due(20.0, 10)] == ["w1:2", "w1:1"]
    assert [d.id for d in await deliveries.due(20.0, 1)] == ["w1:2"]
    assert await deliveries.due(5.0, 10) == []
    (sent,) = await deliveries.in_status("sent")
    assert (sent.id, sent.attempts, sent.next_at, sent.last_error) == ("w1:3", 1, 11.0, None)
    assert [d.id for d in await deliveries.in_status("pending")] == ["w1:1", "w1:2"]
    assert (await deliveries.in_status("pending"))[1] == delivery("w1", 2, next_at=10.0)


async def test_a_failed_delivery_is_retried_later_then_parked_and_replayed(
    storage: Storage,
) -> None:
    """Settling records attempts, the next time and the error; replay makes parked ones due."""
    deliveries = storage.deliveries
    await storage.sites.put(Site(name=SITE))
    await storage.webhooks.put(hook("w1"))
    await deliveries.enqueue([delivery("w1", n) for n in (1, 2, 3)])
    await deliveries.settle("w1:1", "pending", 1, 50.0, "HTTP 500")
    assert [d.id for d in await deliveries.due(10.0, 10)] == ["w1:2", "w1:3"]
    (retried,) = [d for d in await deliveries.in_status("pending") if d.id == "w1:1"]
    assert (retried.attempts, retried.next_at, retried.last_error) == (1, 50.0, "HTTP 500")
    for delivery_id in ("w1:1", "w1:2", "w1:3"):
        await deliveries.settle(delivery_id, "parked", 8, 60.0, "timed out")
    assert await deliveries.due(1000.0, 10) == []
    assert [d.id for d in await deliveries.in_status("parked")] == ["w1:1", "w1:2", "w1:3"]
    assert await deliveries.replay(["w1:2", "w1:2", "missing"]) == 1
    (again,) = await deliveries.due(0.0, 10)
    assert (again.id, again.status, again.attempts, again.next_at) == ("w1:2", "pending", 0, 0.0)
    assert await deliveries.replay(["w1:2"]) == 0  # not parked any more
    assert await deliveries.replay(None) == 2
    assert await deliveries.in_status("parked") == []
    assert [d.id for d in await deliveries.due(0.0, 10)] == ["w1:1", "w1:2", "w1:3"]


async def test_removing_a_webhook_removes_its_deliveries(storage: Storage) -> None:
    """A removed webhook's deliveries go with it, and none can be queued for it afterwards."""
    await storage.sites.put(Site(name=SITE))
    await storage.webhooks.put(hook("w1"))
    await storage.webhooks.put(hook("w2"))
    await storage.deliveries.enqueue([delivery("w1", 1), delivery("w2", 1)])
    assert await storage.webhooks.remove("w1")
    await storage.deliveries.enqueue([delivery("w1", 2), delivery("w2", 2)])
    assert [d.id for d in await storage.deliveries.in_status("pending")] == ["w2:1", "w2:2"]


async def test_a_redaction_reaches_queued_webhook_deliveries(storage: Storage) -> None:
    """Deliveries copy their event; redacting the comment rewrites the copies too."""
    await storage.sites.put(Site(name=SITE))
    await storage.webhooks.put(hook("w1"))
    await post(storage, record("a1"))
    await post(storage, record("a2"))
    entries = await storage.log.after(0, 10)
    await storage.deliveries.enqueue(
        [msgspec.structs.replace(delivery("w1", e.position), payload=e.payload) for e in entries]
    )
    await storage.deliveries.settle("w1:1", "parked", 8, 0.0, "HTTP 500")
    async with storage.threads.transaction(ThreadKey(SITE, "t1")) as tx:
        await history.rewrite(tx, "a1", tombstone(record("a1")))
    parked = await storage.deliveries.in_status("parked")
    pending = await storage.deliveries.in_status("pending")
    assert b"secret body" not in parked[0].payload
    assert parked[0].payload == (await storage.log.after(0, 1))[0].payload
    assert b"secret body of a2" in pending[0].payload
