"""The Threads contract: transactions, a thread's state and metadata, and the seq of its events."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from server import events
from server.events import CommentRemoved, ThreadLocked
from server.model import ThreadKey, ThreadMeta, ThreadState, tombstone
from server.storage import Storage, StoreError
from server.threads import history
from server.threads.ports import IdempotentAnswer, StoredEvent
from tests.contract.records import SITE, TIMEOUT, Boom, created, post, record, seqs

T1 = ThreadKey(SITE, "t1")


async def test_commit_makes_changes_visible(storage: Storage) -> None:
    """A clean transaction's comment, event, seq and lock flag are all visible afterwards."""
    rec = record("c1")
    async with storage.threads.transaction(T1) as tx:
        assert (await tx.state()).seq == 0
        await tx.insert_comment(rec)
        payload = await history.append(tx, created(rec), rec.id)
        await tx.set_locked(True)
    assert await storage.comments.get("c1") == rec
    state = await storage.threads.state(T1)
    assert (state.seq, state.locked) == (1, True)
    assert [e.payload for e in await storage.log.events_after(T1, 0, 10)] == [payload]
    assert await storage.comments.of_thread(T1) == (state, [rec])


async def test_raising_transaction_leaves_nothing(storage: Storage) -> None:
    """A transaction that raises changes no comment, seq, event, lock flag or idempotency key."""
    first = record("c1")
    await post(storage, first)
    answer = IdempotentAnswer(key="k", fingerprint="f", status=201, body=b"{}", created_at=1.0)

    async def doomed() -> None:
        async with storage.threads.transaction(T1) as tx:
            await tx.update_comment(msgspec.structs.replace(first, status="removed"))
            await tx.insert_comment(record("c2", created_at=1_700_000_001.0))
            await history.append(tx, CommentRemoved(seq=0, id="c1"), "c1")
            await history.rewrite(tx, "c1", tombstone(first))
            await tx.set_locked(True)
            await tx.remember(answer)
            raise Boom

    with pytest.raises(Boom):
        await doomed()
    assert await storage.comments.get("c1") == first
    assert await storage.comments.get("c2") is None
    state = await storage.threads.state(T1)
    assert (state.seq, state.locked) == (1, False)
    replay = await storage.log.events_after(T1, 0, 10)
    assert [e.seq for e in replay] == [1]
    assert b"secret body of c1" in replay[0].payload
    async with storage.threads.transaction(T1) as tx:
        assert await tx.recall("k") is None


async def test_cancelled_transaction_rolls_back_and_store_stays_usable(storage: Storage) -> None:
    """Cancelling a task inside a transaction rolls it back and frees the store for the next."""
    inside = asyncio.Event()

    async def stuck() -> None:
        async with storage.threads.transaction(T1) as tx:
            await history.append(tx, ThreadLocked(seq=0), None)
            inside.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(stuck())
    async with asyncio.timeout(TIMEOUT):
        await inside.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with storage.threads.transaction(T1) as tx:
            assert (await tx.state()).seq == 0
            assert await history.append(tx, ThreadLocked(seq=0), None)
    assert await seqs(storage, "t1") == [1]


async def test_reads_see_only_committed_state_without_waiting(storage: Storage) -> None:
    """Reads outside a transaction neither wait for an open one nor see its changes."""
    await post(storage, record("c1"))
    async with storage.threads.transaction(T1) as tx:
        await tx.insert_comment(record("c2"))
        await history.append(tx, ThreadLocked(seq=0), None)
        async with asyncio.timeout(TIMEOUT):
            assert (await storage.threads.state(T1)).seq == 1
            assert await storage.comments.get("c2") is None
            assert await seqs(storage, "t1") == [1]
    assert await seqs(storage, "t1") == [1, 2]


async def test_transaction_is_unusable_after_it_ends(storage: Storage) -> None:
    """A Transaction used after its block has ended raises instead of writing outside it."""
    async with storage.threads.transaction(T1) as tx:
        pass
    with pytest.raises(StoreError):
        await history.append(tx, ThreadLocked(seq=0), None)
    assert await seqs(storage, "t1") == []


async def test_append_assigns_consecutive_seqs_per_thread(storage: Storage) -> None:
    """Seqs start at 1 and go up by one per event, independently in each thread."""
    a, b = ThreadKey(SITE, "a"), ThreadKey(SITE, "b")
    returned: list[bytes] = []
    for _ in range(3):
        async with storage.threads.transaction(a) as tx:
            returned.append(await history.append(tx, ThreadLocked(seq=0), None))
    async with storage.threads.transaction(b) as tx:
        returned.append(await history.append(tx, ThreadLocked(seq=0), None))
    async with storage.threads.transaction(a) as tx:
        returned.append(await history.append(tx, ThreadLocked(seq=0), None))
        returned.append(await history.append(tx, ThreadLocked(seq=0), None))
    async with storage.threads.transaction(ThreadKey("other-site", "a")) as tx:
        returned.append(await history.append(tx, ThreadLocked(seq=0), None))
    assert [events.seq_of(p) for p in returned] == [1, 2, 3, 1, 4, 5, 1]
    assert await seqs(storage, "a") == [1, 2, 3, 4, 5]
    assert await seqs(storage, "b") == [1]
    assert (await storage.threads.state(a)).seq == 5


async def test_append_keeps_the_seq_and_bytes_it_is_given(storage: Storage) -> None:
    """tx.append stores the event's seq and bytes exactly as given (never re-encoded), the
    thread's seq follows it inside the transaction and after the commit, and the store-wide log
    carries the same bytes."""
    # Odd spacing and an unknown field: a store that decoded and re-encoded would lose them.
    first = StoredEvent(seq=1, payload=b'{"type": "thread.locked",  "seq": 1, "x": [1]}')
    second = StoredEvent(seq=2, payload=b'{"seq":2,"type":"thread.unlocked"}')
    async with storage.threads.transaction(T1) as tx:
        await tx.append(first, "thread.locked", None)
        assert (await tx.state()).seq == 1
        await tx.append(second, "thread.unlocked", None)
        assert (await tx.state()).seq == 2
    assert (await storage.threads.state(T1)).seq == 2
    assert await storage.log.events_after(T1, 0, 10) == [first, second]
    assert [(e.key, e.seq, e.payload) for e in await storage.log.after(0, 10)] == [
        (T1, 1, first.payload),
        (T1, 2, second.payload),
    ]
    third = StoredEvent(seq=3, payload=b"{}")
    async with storage.threads.transaction(T1) as tx:
        assert (await tx.state()).seq == 2
        await tx.append(third, "thread.locked", None)
    assert await storage.log.events_after(T1, 2, 10) == [third]
    assert (await storage.threads.state(ThreadKey(SITE, "t2"))).seq == 0


async def test_comment_in_transaction_is_scoped_to_its_thread(storage: Storage) -> None:
    """Transaction.comment() finds a comment of its own thread only."""
    rec = record("c1", thread="a")
    await post(storage, rec)
    async with storage.threads.transaction(ThreadKey(SITE, "b")) as tx:
        assert await tx.comment("c1") is None
    async with storage.threads.transaction(ThreadKey("other-site", "a")) as tx:
        assert await tx.comment("c1") is None
    async with storage.threads.transaction(ThreadKey(SITE, "a")) as tx:
        assert await tx.comment("c1") == rec
        assert await tx.comment("missing") is None


async def test_writes_outside_the_thread_are_refused(storage: Storage) -> None:
    """Inserting into or updating a comment of another thread raises StoreError."""
    await post(storage, record("c1", thread="a"))
    async with storage.threads.transaction(ThreadKey(SITE, "b")) as tx:
        with pytest.raises(StoreError):
            await tx.insert_comment(record("c2", thread="a"))
        with pytest.raises(StoreError):
            await tx.update_comment(record("c1", thread="a"))
        with pytest.raises(StoreError):
            await tx.update_comment(record("missing", thread="b"))
    with pytest.raises(StoreError):
        await post(storage, record("c1", thread="a"))


async def test_has_replies(storage: Storage) -> None:
    """has_replies is true for a parent (whatever the reply's status) and false for a leaf."""
    await post(storage, record("p"))
    await post(storage, record("c", parent="p", status="pending", created_at=1_700_000_001.0))
    async with storage.threads.transaction(T1) as tx:
        assert await tx.has_replies("p")
        assert not await tx.has_replies("c")


async def test_thread_meta_first_fills_only_empty_fields_and_keeps_seq(storage: Storage) -> None:
    """`first` sets only the fields still empty (a second page changes nothing), a plain set
    replaces both, neither moves the seq or the lock, and the state and snapshot reads carry it."""
    threads = storage.threads
    assert await threads.meta(T1) == ThreadMeta()
    await post(storage, record("c1"))
    named = await threads.set_meta(T1, ThreadMeta(title="Budget"), first=True)
    assert named == ThreadMeta(title="Budget")
    later = ThreadMeta(title="Other", url="https://a.example/x")
    assert await threads.set_meta(T1, later, first=True) == ThreadMeta(
        title="Budget", url="https://a.example/x"
    )
    assert await threads.set_meta(T1, ThreadMeta(title="Zz"), first=True) == (
        ThreadMeta(title="Budget", url="https://a.example/x")
    )
    replaced = await threads.set_meta(T1, ThreadMeta(title="New"))
    assert replaced == ThreadMeta(title="New") == await threads.meta(T1)
    state = await threads.state(T1)
    assert (state.seq, state.locked, state.meta) == (1, False, ThreadMeta(title="New"))
    readable_state, _ = await storage.comments.readable(T1)
    assert readable_state.meta == ThreadMeta(title="New")
    assert await threads.meta(ThreadKey(SITE, "t2")) == ThreadMeta()


async def test_a_transaction_keeps_meta_set_while_it_was_open(storage: Storage) -> None:
    """A title set while another thread transaction is open survives that transaction's commit
    (seq and lock from the transaction, title from the set), and a new thread's row made by a
    title starts at seq 0, unlocked."""
    threads = storage.threads
    await threads.set_meta(T1, ThreadMeta(title="Named"), first=True)
    assert await threads.state(T1) == ThreadState(site=SITE, thread="t1", title="Named")
    started = asyncio.Event()

    async def rename() -> ThreadMeta:
        started.set()
        return await threads.set_meta(T1, ThreadMeta(title="Renamed"))

    async with asyncio.timeout(TIMEOUT):
        async with threads.transaction(T1) as tx:
            await tx.set_locked(True)
            racing = asyncio.ensure_future(rename())
            # Resumed once the rename has run up to its first wait, inside this transaction.
            await started.wait()
        await racing
    state = await threads.state(T1)
    assert (state.locked, state.title) == (True, "Renamed")


async def test_byline_is_set_read_and_cleared(storage: Storage) -> None:
    """set_byline on a new thread makes its row (seq 0, unlocked); the byline is read back by
    `state()` in and out of a transaction and by the snapshot reads; a later set replaces it,
    "" clears it, and neither moves the seq, the lock, the title or the URL."""
    threads = storage.threads
    await threads.set_byline(T1, "Ann Author")
    assert await threads.state(T1) == ThreadState(site=SITE, thread="t1", byline="Ann Author")
    await post(storage, record("c1"))
    await threads.set_meta(T1, ThreadMeta(title="Budget", url="https://a.example/b"))
    async with storage.threads.transaction(T1) as tx:
        assert (await tx.state()).byline == "Ann Author"
        await tx.set_locked(True)
    await threads.set_byline(T1, "Bo Writer")
    state = await threads.state(T1)
    assert (state.seq, state.locked, state.byline) == (1, True, "Bo Writer")
    assert state.meta == ThreadMeta(title="Budget", url="https://a.example/b")
    async with storage.threads.transaction(T1) as tx:
        assert await tx.state() == state
    assert (await storage.comments.of_thread(T1))[0] == state
    assert (await storage.comments.readable(T1))[0] == state
    await threads.set_byline(T1, "")
    cleared = await threads.state(T1)
    assert cleared == msgspec.structs.replace(state, byline="")
    assert (await threads.state(ThreadKey(SITE, "t2"))).byline == ""
