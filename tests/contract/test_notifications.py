"""The Subscriptions and Addresses contract: reply mails sent once, and each address's consent."""

from __future__ import annotations

import msgspec

from server.model import Site
from server.storage import Storage
from tests.contract.records import SITE, post, record


async def test_a_comment_keeps_its_notify_choice_until_unsubscribed(storage: Storage) -> None:
    """notify round-trips through the store; unsubscribe turns it off, once there is a comment."""
    await storage.sites.put(Site(name=SITE))
    await post(storage, msgspec.structs.replace(record("n1"), notify=True))
    await post(storage, record("n2"))
    first, second = await storage.comments.get("n1"), await storage.comments.get("n2")
    assert first is not None and first.notify
    assert second is not None and not second.notify
    assert await storage.subscriptions.unsubscribe("n1")
    after = await storage.comments.get("n1")
    assert after is not None and not after.notify
    assert after == msgspec.structs.replace(first, notify=False)
    assert not await storage.subscriptions.unsubscribe("nobody")


async def test_a_notification_is_marked_sent_once(storage: Storage) -> None:
    """mark_notified is True the first time for a (reply, recipient) pair, then False."""
    subscriptions = storage.subscriptions
    assert not await subscriptions.was_notified("r1", "ann@mail.example")
    assert await subscriptions.mark_notified("r1", "ann@mail.example")
    assert await subscriptions.was_notified("r1", "ann@mail.example")
    assert not await subscriptions.mark_notified("r1", "ann@mail.example")
    assert await subscriptions.mark_notified("r1", "bob@mail.example")
    assert await subscriptions.mark_notified("r2", "ann@mail.example")


async def test_an_address_is_asked_then_confirmed_for_good(storage: Storage) -> None:
    """Reply-mail addresses: unknown until asked; a confirmation mail records when and for
    which site (counted per site from a time on); confirming keeps the first time."""
    addresses = storage.addresses
    assert await addresses.get("k1") is None
    await addresses.confirmation_sent("k1", SITE, 100.0)
    await addresses.confirmation_sent("k2", SITE, 200.0)
    await addresses.confirmation_sent("k3", "elsewhere", 200.0)
    state = await addresses.get("k1")
    assert state is not None and state.requested_at == 100.0 and state.confirmed_at is None
    assert await addresses.confirmations_sent(SITE, 100.0) == 2
    assert await addresses.confirmations_sent(SITE, 150.0) == 1
    assert await addresses.confirmations_sent("elsewhere", 0.0) == 1
    assert await addresses.confirm("k1", 300.0)
    assert not await addresses.confirm("k1", 400.0)
    state = await addresses.get("k1")
    assert state is not None and state.confirmed_at == 300.0 and state.requested_at == 100.0
    # A later confirmation mail (for another site) moves the address's request, not its consent.
    await addresses.confirmation_sent("k1", "elsewhere", 500.0)
    state = await addresses.get("k1")
    assert state is not None and state.requested_at == 500.0 and state.confirmed_at == 300.0
    assert await addresses.confirmations_sent(SITE, 0.0) == 1
    # Confirming an address never asked (the link is the proof) is kept too.
    assert await addresses.confirm("k9", 600.0)
    assert (await addresses.get("k9")) is not None
    # Erased on its owner's request: unknown again, to be asked afresh.
    assert await addresses.forget("k1")
    assert await addresses.get("k1") is None
    assert not await addresses.forget("k1")
    assert await addresses.confirmations_sent("elsewhere", 0.0) == 1
