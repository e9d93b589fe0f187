"""The workers' consumer loop: in order, at least once, one copy at a time, woken by the bus."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.adapters.memory_bus import MemoryBus
from server.adapters.sqlite_store import SqliteStore
from server.comments import Comments
from server.ports import LogEntry
from tests.support.parts import new_comment, use_cases
from workers.consumer import Consumer

WAIT = 10.0


class Recorder:
    """A handler that records the positions it handled; it can be told to fail a few times."""

    def __init__(
        self, name: str = "recorder", fail: int = 0, changed: asyncio.Condition | None = None
    ) -> None:
        self.name = name
        self.positions: list[int] = []
        self.attempts = 0
        self._fail = fail
        self._changed = changed or asyncio.Condition()

    async def handle(self, entry: LogEntry) -> None:
        self.attempts += 1
        if self._fail:
            self._fail -= 1
            raise RuntimeError("a handler that fails, on purpose")
        async with self._changed:
            self.positions.append(entry.position)
            self._changed.notify_all()

    async def reach(self, count: int) -> None:
        async with asyncio.timeout(WAIT), self._changed:
            await self._changed.wait_for(lambda: len(self.positions) >= count)


@pytest.fixture
async def parts(tmp_path: Path) -> AsyncIterator[tuple[SqliteStore, MemoryBus, Comments]]:
    async with use_cases(tmp_path / "db") as parts:
        yield parts


async def _post(comments: Comments, body: str) -> None:
    await comments.post(new_comment(body))


@contextlib.asynccontextmanager
async def running(consumer: Consumer) -> AsyncIterator[None]:
    task = asyncio.create_task(consumer.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_every_event_is_handled_in_order_and_the_cursor_follows(
    parts: tuple[SqliteStore, MemoryBus, Comments],
) -> None:
    """Events are handled in log order and each position is committed after its handler."""
    store, bus, comments = parts
    for n in range(5):
        await _post(comments, f"#{n}")
    handler = Recorder()
    async with running(Consumer(store, bus, handler, poll=60.0)):
        await handler.reach(5)
    assert handler.positions == [1, 2, 3, 4, 5]
    assert await store.cursor("recorder") == 5


async def test_a_new_event_wakes_the_worker_through_the_bus(
    parts: tuple[SqliteStore, MemoryBus, Comments],
) -> None:
    """With a one-minute poll, a post is still handled at once: the commit wakes the worker."""
    store, bus, comments = parts
    handler = Recorder()
    consumer = Consumer(store, bus, handler, poll=60.0)
    async with running(consumer):
        await _post(comments, "first")
        await handler.reach(1)
        await _post(comments, "second")
        async with asyncio.timeout(WAIT):
            await consumer.committed(2)
        assert (await consumer.lag()).events == 0


async def test_with_the_bus_down_a_slow_poll_still_finds_events(
    parts: tuple[SqliteStore, MemoryBus, Comments],
) -> None:
    """When nothing is announced (the bus is down), the slow poll finds new events."""
    store, bus, comments = parts
    handler = Recorder()
    async with running(Consumer(store, bus, handler, poll=0.2)):
        await bus.close()  # publish now returns False: no wake-ups
        await _post(comments, "unannounced")
        await handler.reach(1)


async def test_a_failing_handler_is_retried_and_nothing_is_skipped(
    parts: tuple[SqliteStore, MemoryBus, Comments],
) -> None:
    """A handler that raises gets the same event again; the cursor never passes it."""
    store, bus, comments = parts
    await _post(comments, "one")
    await _post(comments, "two")
    handler = Recorder(fail=2)
    async with running(Consumer(store, bus, handler, poll=60.0, retry=(0.01, 0.05))):
        await handler.reach(2)
    assert handler.positions == [1, 2]
    assert handler.attempts == 4


async def test_a_worker_that_was_down_catches_up_from_its_cursor(
    parts: tuple[SqliteStore, MemoryBus, Comments],
) -> None:
    """Events committed while the worker was stopped are handled when it starts again, once."""
    store, bus, comments = parts
    first = Recorder()
    earlier = Consumer(store, bus, first, poll=60.0)
    async with running(earlier):
        await _post(comments, "before")
        async with asyncio.timeout(WAIT):
            await earlier.committed(1)
    await _post(comments, "while down 1")
    await _post(comments, "while down 2")
    second = Recorder()
    consumer = Consumer(store, bus, second, poll=60.0)
    assert (await consumer.lag()).events == 2
    async with running(consumer):
        await second.reach(2)
    assert second.positions == [2, 3]


async def test_two_copies_never_handle_the_same_events(
    parts: tuple[SqliteStore, MemoryBus, Comments],
) -> None:
    """Two copies of one worker share its lease: each event is handled by exactly one."""
    store, bus, comments = parts
    changed = asyncio.Condition()
    one, two = Recorder(changed=changed), Recorder(changed=changed)
    async with (
        running(Consumer(store, bus, one, poll=0.1, lease=30.0)),
        running(Consumer(store, bus, two, poll=0.1, lease=30.0)),
    ):
        for n in range(20):
            await _post(comments, f"#{n}")
        async with asyncio.timeout(WAIT), changed:
            await changed.wait_for(lambda: len(one.positions) + len(two.positions) >= 20)
    handled = one.positions + two.positions
    assert sorted(handled) == list(range(1, 21))
    assert not (one.positions and two.positions)  # the lease holder did all of it


async def test_a_standby_copy_takes_over_when_the_holder_stops(
    parts: tuple[SqliteStore, MemoryBus, Comments],
) -> None:
    """When the lease holder stops (giving the lease back), the other copy goes on from there."""
    store, bus, comments = parts
    changed = asyncio.Condition()
    one, two = Recorder(changed=changed), Recorder(changed=changed)
    copies = {
        recorder: Consumer(store, bus, recorder, poll=0.1, lease=30.0) for recorder in (one, two)
    }
    stacks = {recorder: contextlib.AsyncExitStack() for recorder in (one, two)}
    async with stacks[one], stacks[two]:
        for recorder, stack in stacks.items():
            await stack.enter_async_context(running(copies[recorder]))
        await _post(comments, "#1")
        async with asyncio.timeout(WAIT), changed:
            await changed.wait_for(lambda: len(one.positions) + len(two.positions) >= 1)
        holder, standby = (one, two) if one.positions else (two, one)
        async with asyncio.timeout(WAIT):
            await copies[holder].committed(1)
        await stacks[holder].aclose()  # the holder stops
        await _post(comments, "#2")
        await standby.reach(1)
        assert standby.positions == [2] and holder.positions == [1]


async def test_a_standby_copy_does_not_write_its_lease_per_event(
    parts: tuple[SqliteStore, MemoryBus, Comments],
) -> None:
    """A copy waiting for the lease tries it at most once a pause, not once per event it hears."""
    store, bus, comments = parts
    changed = asyncio.Condition()
    one, two = Recorder(changed=changed), Recorder(changed=changed)
    first = Consumer(store, bus, one, poll=0.1, lease=30.0, gather=0.0)
    second = Consumer(store, bus, two, poll=0.1, lease=30.0, gather=0.0)

    async def handled(count: int) -> None:
        async with asyncio.timeout(WAIT), changed:
            await changed.wait_for(lambda: len(one.positions) + len(two.positions) >= count)

    async with running(first), running(second):
        for n in range(1, 51):
            await _post(comments, f"#{n}")
            await handled(n)  # before the next post: 50 separate wakes on the bus
    standby = second if one.positions else first
    assert standby.handled == 0
    # The first try, then one per second-long pause while the 50 events went by.
    assert 1 <= standby.lease_tries <= 5, standby.lease_tries
