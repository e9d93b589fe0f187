"""The hub's ordering: catch-up triggers that land during a catch-up are not lost, large
fan-outs take turns, and a hung bus does not hold up a join."""

from __future__ import annotations

import asyncio
import time

from server import channels, events
from server.adapters.memory_bus import MemoryBus
from server.adapters.memory_store import memory_storage
from server.bus import Listener
from server.model import CommentRecord, ThreadKey, public
from server.storage import Storage
from server.threads import history
from server.threads.hub import Hub
from server.threads.ports import EventLog, LogEntry, StoredEvent

WAIT = 5.0


class GatedLog:
    """An event log with one backlog read held at a gate the test opens."""

    def __init__(self, inner: EventLog) -> None:
        self._inner = inner
        self.gate: asyncio.Event | None = None
        self.waiting = asyncio.Event()

    async def end(self) -> int:
        return await self._inner.end()

    async def after(self, after: int, limit: int) -> list[LogEntry]:
        return await self._inner.after(after, limit)

    async def events_after(self, key: ThreadKey, after: int, limit: int) -> list[StoredEvent]:
        got = await self._inner.events_after(key, after, limit)
        if self.gate is not None:
            gate, self.gate = self.gate, None
            self.waiting.set()
            await gate.wait()
        return got


class Recorder:
    """A hub member that records the seqs it is given."""

    def __init__(self, until: int) -> None:
        self.seqs: list[int] = []
        self.until = until
        self.done = asyncio.Event()

    def push(self, seq: int, payload: bytes) -> None:
        self.seqs.append(seq)
        if seq >= self.until:
            self.done.set()

    def reset(self, seq: int, payload: bytes) -> None:
        raise AssertionError(f"unexpected resync at {seq}")

    address: str | None = None
    reader = True

    def aside(self, payload: bytes) -> None:
        raise AssertionError("unexpected frame aside the seq order")


async def _commit_unpublished(store: Storage, n: int) -> None:
    record = CommentRecord(
        id=f"c{n}",
        site="s",
        thread="t",
        parent=None,
        author_name="x",
        body_source="b",
        body_html="<p>b</p>",
        created_at=time.time(),
    )
    async with store.threads.transaction(ThreadKey("s", "t")) as tx:
        await tx.insert_comment(record)
        await history.append(tx, events.CommentCreated(seq=0, comment=public(record)), record.id)


async def test_tail_check_during_a_catch_up_is_not_forgotten() -> None:
    """An event committed while a room is already catching up still reaches its members."""
    store, bus = memory_storage(), MemoryBus()
    gated = GatedLog(store.log)
    await store.open()
    await bus.start()
    # The test drives the tail checks itself.
    hub = Hub(store.threads, gated, bus, tail_interval=3600)
    await hub.start()
    member = Recorder(until=2)
    try:
        await hub.join(ThreadKey("s", "t"), member)
        await _commit_unpublished(store, 1)
        gated.gate = asyncio.Event()
        gate = gated.gate
        await hub.check_tail()  # the room starts catching up and is held reading seq 1
        async with asyncio.timeout(WAIT):
            await gated.waiting.wait()
        await _commit_unpublished(store, 2)  # committed after that read
        await hub.check_tail()  # seen while the catch-up is still running
        gate.set()
        async with asyncio.timeout(WAIT):
            await member.done.wait()
        assert member.seqs == [1, 2]
    finally:
        await hub.close()
        await bus.close()
        await store.close()


class Counter:
    """A hub member that notes, when it gets its event, how many of `others` have theirs."""

    def __init__(self, others: list[Recorder]) -> None:
        self.others = others
        self.others_done_then: int | None = None
        self.done = asyncio.Event()

    def push(self, seq: int, payload: bytes) -> None:
        self.others_done_then = sum(1 for m in self.others if m.seqs)
        self.done.set()

    def reset(self, seq: int, payload: bytes) -> None:
        raise AssertionError(f"unexpected resync at {seq}")

    address: str | None = None
    reader = True

    def aside(self, payload: bytes) -> None:
        raise AssertionError("unexpected frame aside the seq order")


async def _hub(**options: int) -> tuple[Hub, MemoryBus]:
    store, bus = memory_storage(), MemoryBus()
    await store.open()
    await bus.start()
    hub = Hub(store.threads, store.log, bus, tail_interval=3600, **options)
    await hub.start()
    return hub, bus


def _locked(seq: int) -> bytes:
    return events.encode(events.ThreadLocked(seq=seq))


async def test_a_large_fanout_takes_turns_with_other_threads() -> None:
    """An event for a small thread goes out while a 2,000-reader fan-out is still under way."""
    hub, bus = await _hub(chunk=100)
    big = [Recorder(until=1) for _ in range(2000)]
    small = Counter(big)
    try:
        for member in big:
            await hub.join(ThreadKey("s", "big"), member)
        await hub.join(ThreadKey("s", "small"), small)
        await bus.publish(channels.thread(ThreadKey("s", "big")), _locked(1))
        await bus.publish(channels.thread(ThreadKey("s", "small")), _locked(1))
        async with asyncio.timeout(WAIT):
            await small.done.wait()
            for member in big:
                await member.done.wait()
        assert small.others_done_then is not None
        assert small.others_done_then < len(big)
        assert all(m.seqs == [1] for m in big)
    finally:
        await hub.close()
        await bus.close()


async def test_chunked_fanout_keeps_each_threads_order_even_past_the_outbox_limit() -> None:
    """Bursts into large threads reach every reader once and in seq order, whether they wait
    their turn or the outbox is full and they go out at once."""
    for limit in (1024, 2):
        hub, bus = await _hub(chunk=50, outbox_limit=limit)
        rooms = {name: [Recorder(until=10) for _ in range(300)] for name in ("a", "b")}
        try:
            for name, members in rooms.items():
                for member in members:
                    await hub.join(ThreadKey("s", name), member)
            for seq in range(1, 11):
                for name in rooms:
                    await bus.publish(channels.thread(ThreadKey("s", name)), _locked(seq))
            async with asyncio.timeout(WAIT):
                for members in rooms.values():
                    for member in members:
                        await member.done.wait()
            for members in rooms.values():
                assert all(m.seqs == list(range(1, 11)) for m in members)
        finally:
            await hub.close()
            await bus.close()


class HungBus(MemoryBus):
    """The in-process bus, whose subscribing waits at a gate the test opens (a hung Redis)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def subscribe(self, channel: str, listener: Listener) -> None:
        await super().subscribe(channel, listener)
        await self.gate.wait()


async def test_join_does_not_wait_for_a_hung_bus_and_catches_up_once_it_answers() -> None:
    """A first reader joins within `subscribe_wait` while the bus does not confirm its
    subscription; what is committed meanwhile reaches it (no tail check runs here: the
    catch-up after the late confirmation does it)."""
    store, bus = memory_storage(), HungBus()
    await store.open()
    await bus.start()
    hub = Hub(store.threads, store.log, bus, tail_interval=3600, subscribe_wait=0.05)
    await hub.start()
    member = Recorder(until=2)
    try:
        async with asyncio.timeout(1.0):
            assert await hub.join(ThreadKey("s", "t"), member) == 0
        await _commit_unpublished(store, 1)
        await _commit_unpublished(store, 2)
        assert member.seqs == []
        bus.gate.set()
        async with asyncio.timeout(WAIT):
            await member.done.wait()
        assert member.seqs == [1, 2]
    finally:
        await hub.close()
        await bus.close()
        await store.close()
