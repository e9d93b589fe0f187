"""The workers' consumer loop: in order, at least once, one copy at a time, woken by the bus."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

import pytest

from server.threads.comments import Comments
from server.threads.ports import LogEntry
from tests.support.consumers import running
from tests.support.parts import Parts, new_comment, use_cases
from tests.support.waiting import eventually
from workers.consumer import Consumer

WAIT = 10.0


class Recorder:
    """A handler that records the positions it handled; it can be told to fail a few times."""

    def __init__(
        self,
        name: str = "recorder",
        fail: int = 0,
        changed: asyncio.Condition | None = None,
        *,
        fail_prepare: int = 0,
    ) -> None:
        self.name = name
        self._fail_prepare = fail_prepare
        self.positions: list[int] = []
        self.batches: list[list[int]] = []  # the positions of each batch prepared
        self.attempts = 0
        self._fail = fail
        self._changed = changed or asyncio.Condition()

    async def prepare(self, entries: Sequence[LogEntry]) -> None:
        self.batches.append([entry.position for entry in entries])
        if self._fail_prepare:
            self._fail_prepare -= 1
            raise RuntimeError("a batch that cannot be prepared, on purpose")

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
async def parts(database_url: str) -> AsyncIterator[Parts]:
    async with use_cases(database_url) as parts:
        yield parts


async def _post(comments: Comments, body: str) -> None:
    await comments.post(new_comment(body))


async def two_posts_handled_by(parts: Parts, handler: Recorder) -> None:
    """Two posts, then a consumer retrying fast, until `handler` has handled both."""
    store, bus, comments = parts
    await _post(comments, "one")
    await _post(comments, "two")
    async with running(
        Consumer(store.cursors, store.log, bus, handler, poll=60.0, retry=(0.01, 0.05))
    ):
        await handler.reach(2)


class Copies:
    """Two copies of one worker (one recorder each) over the same store and bus."""

    def __init__(self, parts: Parts, *, gather: float = 0.2) -> None:
        store, bus, _ = parts
        changed = asyncio.Condition()
        self.one, self.two = Recorder(changed=changed), Recorder(changed=changed)
        self.consumers = {
            r: Consumer(store.cursors, store.log, bus, r, poll=0.1, lease=30.0, gather=gather)
            for r in (self.one, self.two)
        }
        self._changed = changed

    def handled(self) -> int:
        return len(self.one.positions) + len(self.two.positions)

    async def reach(self, count: int) -> None:
        """Until the two copies together have handled `count` events."""
        async with asyncio.timeout(WAIT), self._changed:
            await self._changed.wait_for(lambda: self.handled() >= count)

    def holder(self) -> tuple[Recorder, Recorder]:
        """(the copy that handled events, the other); call once one has."""
        return (self.one, self.two) if self.one.positions else (self.two, self.one)


async def test_every_event_is_handled_in_order_and_the_cursor_follows(
    parts: Parts,
) -> None:
    """Events are handled in log order and each position is committed after its handler."""
    store, bus, comments = parts
    for n in range(5):
        await _post(comments, f"#{n}")
    handler = Recorder()
    async with running(Consumer(store.cursors, store.log, bus, handler, poll=60.0)):
        await handler.reach(5)

        # Committed after the handler returns: waited for while the consumer runs (stopping it
        # may cancel a commit still in flight, which the next run would redo).
        async def committed() -> bool:
            return await store.cursors.position("recorder") == 5

        await eventually(committed)
    assert handler.positions == [1, 2, 3, 4, 5]
    assert handler.batches == [[1, 2, 3, 4, 5]]  # prepared once, before its events


async def test_a_batch_that_cannot_be_prepared_is_retried_whole(parts: Parts) -> None:
    """A prepare that raises handles nothing of its batch; the batch is tried again."""
    handler = Recorder(fail_prepare=2)
    await two_posts_handled_by(parts, handler)
    assert handler.batches == [[1, 2], [1, 2], [1, 2]]
    assert handler.positions == [1, 2]
    assert handler.attempts == 2


async def test_a_new_event_wakes_the_worker_through_the_bus(
    parts: Parts,
) -> None:
    """With a one-minute poll, a post is still handled at once: the commit wakes the worker."""
    store, bus, comments = parts
    handler = Recorder()
    consumer = Consumer(store.cursors, store.log, bus, handler, poll=60.0)
    async with running(consumer):
        await _post(comments, "first")
        await handler.reach(1)
        await _post(comments, "second")
        async with asyncio.timeout(WAIT):
            await consumer.committed(2)
        assert (await consumer.lag()).events == 0


async def test_with_the_bus_down_a_slow_poll_still_finds_events(
    parts: Parts,
) -> None:
    """When nothing is announced (the bus is down), the slow poll finds new events."""
    store, bus, comments = parts
    handler = Recorder()
    async with running(Consumer(store.cursors, store.log, bus, handler, poll=0.2)):
        await bus.close()  # publish now returns False: no wake-ups
        await _post(comments, "unannounced")
        await handler.reach(1)


async def test_a_failing_handler_is_retried_and_nothing_is_skipped(
    parts: Parts,
) -> None:
    """A handler that raises gets the same event again; the cursor never passes it."""
    handler = Recorder(fail=2)
    await two_posts_handled_by(parts, handler)
    assert handler.positions == [1, 2]
    assert handler.attempts == 4


async def test_a_worker_that_was_down_catches_up_from_its_cursor(
    parts: Parts,
) -> None:
    """Events committed while the worker was stopped are handled when it starts again, once."""
    store, bus, comments = parts
    first = Recorder()
    earlier = Consumer(store.cursors, store.log, bus, first, poll=60.0)
    async with running(earlier):
        await _post(comments, "before")
        async with asyncio.timeout(WAIT):
            await earlier.committed(1)
    await _post(comments, "while down 1")
    await _post(comments, "while down 2")
    second = Recorder()
    consumer = Consumer(store.cursors, store.log, bus, second, poll=60.0)
    assert (await consumer.lag()).events == 2
    async with running(consumer):
        await second.reach(2)
    assert second.positions == [2, 3]


async def test_two_copies_never_handle_the_same_events(parts: Parts) -> None:
    """Two copies of one worker share its lease: each event is handled by exactly one."""
    copies = Copies(parts)
    async with running(copies.consumers[copies.one]), running(copies.consumers[copies.two]):
        for n in range(20):
            await _post(parts[2], f"#{n}")
        await copies.reach(20)
    one, two = copies.one, copies.two
    assert sorted(one.positions + two.positions) == list(range(1, 21))
    assert not (one.positions and two.positions)  # the lease holder did all of it


async def test_a_standby_copy_takes_over_when_the_holder_stops(parts: Parts) -> None:
    """When the lease holder stops (giving the lease back), the other copy goes on from there."""
    copies = Copies(parts)
    stacks = {recorder: contextlib.AsyncExitStack() for recorder in copies.consumers}
    async with stacks[copies.one], stacks[copies.two]:
        for recorder, stack in stacks.items():
            await stack.enter_async_context(running(copies.consumers[recorder]))
        await _post(parts[2], "#1")
        await copies.reach(1)
        holder, standby = copies.holder()
        async with asyncio.timeout(WAIT):
            await copies.consumers[holder].committed(1)
        await stacks[holder].aclose()  # the holder stops
        await _post(parts[2], "#2")
        await standby.reach(1)
        assert standby.positions == [2] and holder.positions == [1]


async def test_a_standby_copy_does_not_write_its_lease_per_event(parts: Parts) -> None:
    """A copy waiting for the lease tries it at most once a pause, not once per event it hears."""
    copies = Copies(parts, gather=0.0)
    async with running(copies.consumers[copies.one]), running(copies.consumers[copies.two]):
        for n in range(1, 51):
            await _post(parts[2], f"#{n}")
            await copies.reach(n)  # before the next post: 50 separate wakes on the bus
    standby = copies.consumers[copies.holder()[1]]
    assert standby.handled == 0
    # The first try, then one per second-long pause while the 50 events went by.
    assert 1 <= standby.lease_tries <= 5, standby.lease_tries
