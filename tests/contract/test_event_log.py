"""The EventLog contract, and rewriting a comment's stored events: replays by seq, the
store-wide log by position, `events_of` and `replace` in a transaction."""

from __future__ import annotations

import msgspec
import pytest

from server import events
from server.events import CommentCreated, CommentEdited, CommentRemoved, ThreadLocked
from server.model import Site, ThreadKey, public, tombstone
from server.storage import Storage, StoreError
from server.threads import history
from server.threads.ports import StoredEvent
from tests.contract.records import SITE, Boom, created, delivery, hook, post, record

T1 = ThreadKey(SITE, "t1")


async def test_events_after_returns_missed_events_in_order(storage: Storage) -> None:
    """events_after gives exactly the events after a seq, oldest first, at most `limit`."""
    payloads = [
        await post(storage, record(f"c{i}", created_at=1_700_000_000.0 + i)) for i in range(5)
    ]
    replay = await storage.log.events_after(T1, 2, 100)
    assert [(e.seq, e.payload) for e in replay] == [
        (3, payloads[2]),
        (4, payloads[3]),
        (5, payloads[4]),
    ]
    assert [e.seq for e in await storage.log.events_after(T1, 2, 2)] == [3, 4]
    assert await storage.log.events_after(T1, 5, 100) == []
    assert await storage.log.events_after(T1, 0, 0) == []
    assert await storage.log.events_after(ThreadKey(SITE, "unknown"), 0, 100) == []


async def test_redact_erases_author_and_body_from_replays(storage: Storage) -> None:
    """After redact, replayed created/edited events carry a tombstone; seq and type are kept."""
    victim = record("c1")
    bystander = record("c2", created_at=1_700_000_001.0)
    await post(storage, victim)
    async with storage.threads.transaction(T1) as tx:
        edited = msgspec.structs.replace(victim, body_html="<p>secret edit</p>", edited_at=2e9)
        await tx.update_comment(edited)
        await history.append(tx, CommentEdited(seq=0, comment=public(edited)), victim.id)
    await post(storage, bystander)
    before = await storage.log.events_after(T1, 0, 10)
    async with storage.threads.transaction(T1) as tx:
        await tx.update_comment(msgspec.structs.replace(edited, status="removed"))
        await history.append(tx, CommentRemoved(seq=0, id=victim.id), victim.id)
        await history.rewrite(tx, victim.id, tombstone(edited))
    replay = await storage.log.events_after(T1, 0, 10)
    assert [e.seq for e in replay] == [1, 2, 3, 4]
    decoded = [events.decode_event(e.payload) for e in replay]
    assert [events.event_type(e) for e in decoded] == [
        "comment.created",
        "comment.edited",
        "comment.created",
        "comment.removed",
    ]
    for stored, event in zip(replay[:2], decoded[:2], strict=True):
        assert isinstance(event, CommentCreated | CommentEdited)
        assert event.seq == stored.seq
        assert (event.comment.status, event.comment.author, event.comment.html) == (
            "removed",
            None,
            None,
        )
        assert event.comment.id == victim.id
        assert event.comment.created == public(victim).created
        for secret in (b"secret", b"Author of c1", b"mail.example"):
            assert secret not in stored.payload
    assert replay[2] == before[2]
    assert decoded[3] == CommentRemoved(seq=4, id=victim.id)


async def test_log_orders_every_thread_in_commit_order(storage: Storage) -> None:
    """The store-wide log lists every committed event once, by position, across threads."""
    assert await storage.log.end() == 0
    await post(storage, record("a1", thread="t1"))
    await post(storage, record("b1", thread="t2"))
    await post(storage, record("a2", thread="t1"))
    entries = await storage.log.after(0, 10)
    assert [(e.position, e.thread, e.seq) for e in entries] == [
        (1, "t1", 1),
        (2, "t2", 1),
        (3, "t1", 2),
    ]
    assert await storage.log.end() == 3
    assert [e.position for e in await storage.log.after(1, 1)] == [2]
    assert await storage.log.after(3, 10) == []


async def test_log_leaves_out_rolled_back_events(storage: Storage) -> None:
    """An event whose transaction rolled back never appears in the log."""

    async def doomed() -> None:
        async with storage.threads.transaction(T1) as tx:
            await history.append(tx, created(record("x")), None)
            raise Boom

    with pytest.raises(Boom):
        await doomed()
    await post(storage, record("a1"))
    entries = await storage.log.after(0, 10)
    assert [(e.thread, e.seq) for e in entries] == [("t1", 1)]


async def test_log_shows_redactions(storage: Storage) -> None:
    """A redacted event reads redacted through the log too."""
    rec = record("a1")
    await post(storage, rec)
    async with storage.threads.transaction(T1) as tx:
        await history.rewrite(tx, "a1", tombstone(rec))
    (entry,) = await storage.log.after(0, 10)
    assert b"secret body" not in entry.payload


async def test_events_of_gives_a_comments_events_of_the_given_types(storage: Storage) -> None:
    """events_of returns, by seq, only this thread's stored events about that comment and of
    those types, as stored (its own transaction's appends included)."""
    await post(storage, record("c1"))
    await post(storage, record("c2", created_at=1_700_000_001.0))
    await post(storage, record("o1", thread="t2"))
    edited = msgspec.structs.replace(record("c1"), body_html="<p>edit</p>", edited_at=2e9)
    async with storage.threads.transaction(T1) as tx:
        await history.append(tx, CommentEdited(seq=0, comment=public(edited)), "c1")
        await history.append(tx, ThreadLocked(seq=0), None)
    stored = await storage.log.events_after(T1, 0, 10)
    async with storage.threads.transaction(T1) as tx:
        assert await tx.events_of("c1", history.TYPES_WITH_COMMENT) == [stored[0], stored[2]]
        assert await tx.events_of("c1", ["comment.edited"]) == [stored[2]]
        assert await tx.events_of("c2", history.TYPES_WITH_COMMENT) == [stored[1]]
        assert await tx.events_of("c1", []) == []
        assert await tx.events_of("o1", history.TYPES_WITH_COMMENT) == []
        assert await tx.events_of("missing", history.TYPES_WITH_COMMENT) == []
        # The transaction's own appends are among them.
        await history.append(tx, CommentRemoved(seq=0, id="c1"), "c1")
        assert [e.seq for e in await tx.events_of("c1", ["comment.removed"])] == [5]
    async with storage.threads.transaction(ThreadKey(SITE, "t2")) as tx:
        assert await tx.events_of("c1", history.TYPES_WITH_COMMENT) == []
        (other,) = await tx.events_of("o1", ["comment.created"])
        assert other.seq == 1


async def test_replace_changes_stored_events_and_their_queued_deliveries(
    storage: Storage,
) -> None:
    """replace gives the named events (by seq) their new bytes, in the thread's replay, in the
    store-wide log and in every queued delivery copied from them, whatever its status; other
    events and deliveries keep theirs, and a rolled-back replace changes nothing."""
    await storage.sites.put(Site(name=SITE))
    await storage.webhooks.put(hook("w1"))
    await storage.webhooks.put(hook("w2"))
    for n in range(3):
        await post(storage, record(f"a{n}", created_at=1_700_000_000.0 + n))
    await post(storage, record("o1", thread="t2"))
    entries = await storage.log.after(0, 10)
    await storage.deliveries.enqueue(
        [
            msgspec.structs.replace(delivery(w, e.position), payload=e.payload, thread=e.thread)
            for w in ("w1", "w2")
            for e in entries
        ]
    )
    await storage.deliveries.settle("w2:1", "parked", 8, 0.0, "HTTP 500")
    await storage.deliveries.settle("w2:3", "sent", 1, 0.0, None)
    new_first = StoredEvent(seq=1, payload=b'{"type":"comment.created","seq":1,"new":1}')
    new_third = StoredEvent(seq=3, payload=b'{"type":"comment.created","seq":3,"new":3}')

    async def doomed() -> None:
        async with storage.threads.transaction(T1) as tx:
            await tx.replace([StoredEvent(seq=2, payload=b"{}")])
            raise Boom

    with pytest.raises(Boom):
        await doomed()
    async with storage.threads.transaction(T1) as tx:
        await tx.replace([new_first, new_third])
    old = [e.payload for e in entries]
    expected = [new_first.payload, old[1], new_third.payload, old[3]]
    replay = await storage.log.events_after(T1, 0, 10)
    assert [(e.seq, e.payload) for e in replay] == list(zip((1, 2, 3), expected[:3], strict=True))
    assert [e.payload for e in await storage.log.after(0, 10)] == expected
    copies = {
        d.id: d.payload
        for status in ("pending", "sent", "parked")
        for d in await storage.deliveries.in_status(status)
    }
    assert copies == {
        f"{w}:{position}": payload
        for w in ("w1", "w2")
        for position, payload in enumerate(expected, start=1)
    }


async def test_replace_refuses_a_seq_the_thread_does_not_have(storage: Storage) -> None:
    """replace naming a seq the thread lacks raises StoreError, and its transaction keeps none
    of the batch (the one known seq in it keeps its bytes)."""
    await post(storage, record("a1"))
    before = await storage.log.events_after(T1, 0, 10)
    with pytest.raises(StoreError):
        async with storage.threads.transaction(T1) as tx:
            await tx.replace([StoredEvent(seq=1, payload=b"{}"), StoredEvent(seq=9, payload=b"{}")])
    assert await storage.log.events_after(T1, 0, 10) == before


async def test_rewrite_puts_the_current_text_in_every_earlier_event_and_delivery(
    storage: Storage,
) -> None:
    """After a rewrite with an edited comment, no stored event of it or queued webhook delivery
    copied from one carries the old text; other comments' events are untouched."""
    await storage.sites.put(Site(name=SITE))
    await storage.webhooks.put(hook("w1"))
    first = record("e1")
    await post(storage, first)
    await post(storage, record("e2", created_at=1_700_000_001.0))
    entries = await storage.log.after(0, 10)
    await storage.deliveries.enqueue(
        [msgspec.structs.replace(delivery("w1", e.position), payload=e.payload) for e in entries]
    )
    edited = msgspec.structs.replace(first, body_html="<p>only the new text</p>", edited_at=2e9)
    async with storage.threads.transaction(T1) as tx:
        await tx.update_comment(edited)
        await history.rewrite(tx, "e1", public(edited))
        await history.append(tx, CommentEdited(seq=0, comment=public(edited)), "e1")
    replay = await storage.log.events_after(T1, 0, 10)
    assert [e.seq for e in replay] == [1, 2, 3]
    assert b"secret body of e1" not in b"".join(e.payload for e in replay)
    assert b"only the new text" in replay[0].payload
    assert b"secret body of e2" in replay[1].payload
    copies = {d.position: d.payload for d in await storage.deliveries.in_status("pending")}
    assert b"secret body of e1" not in copies[1] and b"only the new text" in copies[1]
    assert copies[2] == entries[1].payload
