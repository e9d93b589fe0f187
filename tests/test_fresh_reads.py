"""Reads shared by sockets that open together (server/fresh.py), on the in-memory store's
reaction counts: callers waiting together share one read, and no caller is given a read that began
before it arrived, so a change made meanwhile is never hidden from it."""

from __future__ import annotations

import asyncio

import pytest

from server.adapters.memory_store import memory_storage
from server.fresh import FreshReads
from server.model import ThreadKey
from server.reactions.ports import CommentReactions, ReactionChange
from server.storage import Storage

KEY = ThreadKey("news", "t1")
WAIT = 5.0


class Gated:
    """The store's read of a thread's counts, held at a gate after it has read (so a caller
    can arrive while it is in flight), counting the reads made."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.gate = asyncio.Event()
        self.began = asyncio.Event()
        self.reads = 0
        self.fail = False

    async def read(self, key: ThreadKey) -> list[CommentReactions]:
        self.reads += 1
        found = await self.storage.reactions.of_thread(key)
        self.began.set()
        await self.gate.wait()
        if self.fail:
            self.fail = False
            raise RuntimeError("the store failed")
        return found


async def like(storage: Storage, reader: str) -> None:
    change = ReactionChange(
        site=KEY.site, thread=KEY.thread, comment_id="c1", reader=reader, kind="like", on=True
    )
    await storage.reactions.apply([change])


Counts = FreshReads[ThreadKey, list[CommentReactions]]


def arriving(
    fresh: Counts, n: int
) -> tuple[list[asyncio.Task[list[CommentReactions]]], asyncio.Event]:
    """`n` callers as tasks, and an event set once the last has asked (asking is synchronous up
    to the wait, so by then each has taken its place)."""
    arrived = asyncio.Event()
    count = 0

    async def caller() -> list[CommentReactions]:
        nonlocal count
        count += 1
        if count == n:
            arrived.set()
        return await fresh.get(KEY)

    return [asyncio.create_task(caller()) for _ in range(n)], arrived


def likes(found: list[CommentReactions]) -> int:
    return sum(c.counts.get("like", 0) for c in found)


async def test_callers_waiting_together_share_one_read() -> None:
    """While a read is held, 50 callers arrive: two reads in all (the first caller's, and one
    begun after it for the other 50), and everyone gets the counts."""
    storage = memory_storage()
    await like(storage, "ann")
    gated = Gated(storage)
    fresh = Counts(gated.read)
    first = asyncio.create_task(fresh.get(KEY))
    await asyncio.wait_for(gated.began.wait(), WAIT)
    others, arrived = arriving(fresh, 50)
    await asyncio.wait_for(arrived.wait(), WAIT)
    gated.gate.set()
    found = await asyncio.wait_for(asyncio.gather(first, *others), WAIT)
    assert gated.reads == 2
    assert {likes(f) for f in found} == {1}


async def test_a_caller_never_gets_a_read_that_began_before_it_arrived() -> None:
    """A like made while a read is in flight: the caller that arrives after it gets counts with
    the like, though the read in flight (begun before) has none."""
    storage = memory_storage()
    gated = Gated(storage)
    fresh = Counts(gated.read)
    early = asyncio.create_task(fresh.get(KEY))
    await asyncio.wait_for(gated.began.wait(), WAIT)
    await like(storage, "ann")
    (late,), arrived = arriving(fresh, 1)
    await asyncio.wait_for(arrived.wait(), WAIT)
    gated.gate.set()
    assert likes(await asyncio.wait_for(early, WAIT)) == 0
    assert likes(await asyncio.wait_for(late, WAIT)) == 1


async def test_a_failed_read_fails_its_callers_only_and_a_gone_caller_cancels_nothing() -> None:
    """The read's error reaches those who waited on it; the next read serves the next callers;
    a caller cancelled meanwhile leaves the read to the others."""
    storage = memory_storage()
    await like(storage, "ann")
    gated = Gated(storage)
    gated.fail = True
    fresh = Counts(gated.read)
    failing = asyncio.create_task(fresh.get(KEY))
    await asyncio.wait_for(gated.began.wait(), WAIT)
    (gone, staying), arrived = arriving(fresh, 2)
    await asyncio.wait_for(arrived.wait(), WAIT)
    gone.cancel()
    gated.gate.set()
    with pytest.raises(RuntimeError, match="the store failed"):
        await asyncio.wait_for(failing, WAIT)
    assert likes(await asyncio.wait_for(staying, WAIT)) == 1
    assert gone.cancelled()
    assert likes(await asyncio.wait_for(fresh.get(KEY), WAIT)) == 1
    assert gated.reads == 3
