"""The Database and Secrets contract: migrating a live store, readiness, shared secrets."""

from __future__ import annotations

from server import events
from server.model import Moderator, Site, ThreadKey
from server.storage import Storage
from tests.contract.records import SITE, post, record, seqs


async def test_migrations_are_idempotent(storage: Storage, schema_version: int) -> None:
    """Migrating an up-to-date store again keeps its sites, comments and events, and its version."""
    # A store without a schema (the memory one) is at version 0, so what it is held to is that
    # `livethread migrate` on a live store loses nothing, and the store goes on where it was.
    site = Site(name=SITE, origins=("https://a.example",))
    await storage.sites.put(site)
    await storage.moderators.put(Moderator(name="m", site=SITE), "hash")
    rec = record("c1")
    payload = await post(storage, rec)
    first = await storage.database.migrate()
    assert await storage.database.migrate() == first
    assert first == schema_version
    assert await storage.sites.get(SITE) == site
    assert await storage.comments.get("c1") == rec
    replay = await storage.log.events_after(ThreadKey(SITE, "t1"), 0, 10)
    assert [e.payload for e in replay] == [payload]
    assert await storage.moderators.by_token("hash") == Moderator(name="m", site=SITE)
    later = await post(storage, record("c2", created_at=1_700_000_001.0))
    assert events.seq_of(later) == 2
    assert await seqs(storage, "t1") == [1, 2]
    assert [e.position for e in await storage.log.after(0, 10)] == [1, 2]


async def test_a_secret_is_made_once_and_kept(storage: Storage) -> None:
    """secret(name) makes a random value on first use and returns the same one after."""
    first = await storage.secrets.get("unsubscribe")
    assert len(first) >= 32
    assert await storage.secrets.get("unsubscribe") == first
    assert await storage.secrets.get("other") != first


async def test_a_store_that_can_write_says_so(storage: Storage) -> None:
    """writable() returns when nothing holds the write lock and the disk has room."""
    await storage.database.writable(0.5)
