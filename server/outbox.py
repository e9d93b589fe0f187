"""Publishing that never holds up an answer: the Bus, with a bounded queue in front of it.

A post is acknowledged once it has committed; publishing it is only the fast path to other
processes (their hubs also read the event log's tail every `tail_interval`). Yet a publish to a
Redis that does not answer (stopped, or its link stalled) waits out the bus's timeout, a second
per post. So `Outbox.publish_all` only queues the messages and returns: one task, owned by the
outbox (started and stopped with the bus, restarted if it fails), hands them to the real bus in
order, as many as are waiting in one round trip. When that task is idle, `publish_all` yields to
it once first, so the messages are on their way before the caller's next step (a post's answer)
rather than after it.

An empty message is a wake-up (the log channel's, telling workers to read the store): one still
queued for a channel makes the next redundant, and one sent less than `wake_interval` ago
defers the next to the end of that interval. So posts send the workers (each of which gathers
for a moment after it wakes anyway) a few wake-ups a second, not one per post to every
process, and a wake-up asked for still goes out within `wake_interval`.

The queue holds at most `limit` messages. When it is full the oldest is dropped (and counted):
every message here is an event already committed, which readers get from the log tail a moment
later, or a worker's wake-up, which its poll makes up for. A burst of drops is logged once.
Subscribing and everything else is the wrapped bus's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence

from server.bus import Bus, Listener

log = logging.getLogger(__name__)

# Most messages per round trip to the bus.
BATCH = 256
# At close, how long what is still queued may take to go out.
FLUSH_TIMEOUT = 2.0
# Most wake-ups per channel a second, one per this; the workers gather as long after waking.
WAKE_INTERVAL = 0.2


class Outbox:
    """A Bus whose publishing returns at once; one owned task does the real publishing."""

    def __init__(
        self,
        bus: Bus,
        *,
        limit: int = 10_000,
        flush_timeout: float = FLUSH_TIMEOUT,
        wake_interval: float = WAKE_INTERVAL,
    ):
        self._bus = bus
        self._wake_interval = wake_interval
        # When each channel's last wake-up went out, and the deferred ones not yet queued.
        self._woken: dict[str, float] = {}
        self._deferred: dict[str, asyncio.TimerHandle] = {}
        self._limit = limit
        self._flush_timeout = flush_timeout
        self._queue: deque[tuple[str, bytes]] = deque()
        self._waking: set[str] = set()  # channels with a wake-up queued
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()  # set while nothing is queued or being published
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._closed = True
        self._bursting = False
        self._burst_drops = 0
        self.dropped = 0  # messages dropped since the start, for tests and diagnostics

    @property
    def connected(self) -> bool:
        return self._bus.connected

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def start(self) -> None:
        await self._bus.start()
        self._closed = False
        self._spawn()

    async def close(self) -> None:
        """Send what is queued (for at most `flush_timeout`), then stop, then close the bus."""
        self._closed = True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._flush_timeout):
                await self._idle.wait()
        for deferred in self._deferred.values():
            deferred.cancel()
        self._deferred.clear()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._queue:
            log.warning("outbox: %d message(s) not published at close", len(self._queue))
            self._queue.clear()
            self._waking.clear()
        await self._bus.close()

    async def publish(self, channel: str, payload: bytes) -> bool:
        """Queue the message; False only once closed."""
        return await self.publish_all(((channel, payload),))

    async def publish_all(self, messages: Sequence[tuple[str, bytes]]) -> bool:
        """Queue the messages, in order; False only once closed. Never waits on the bus: it
        yields once, when the outbox's task was idle, so that the task writes them to the bus
        before the caller goes on (a post's answer goes out after its event has)."""
        if self._closed:
            return False
        added = False
        for channel, payload in messages:
            if not payload:
                if channel in self._waking or channel in self._deferred:
                    continue
                loop = asyncio.get_running_loop()
                due = self._woken.get(channel, -self._wake_interval) + self._wake_interval
                if loop.time() < due:
                    self._deferred[channel] = loop.call_at(due, self._wake_later, channel)
                    continue
                self._waking.add(channel)
            self._queue.append((channel, payload))
            added = True
        while len(self._queue) > self._limit:
            self._taken()
            self._dropped_one()
        if not added:
            return True  # only wake-ups already on their way
        self._idle.clear()
        idle = not self._wake.is_set()
        self._wake.set()
        if idle:
            await asyncio.sleep(0)
        return True

    async def subscribe(self, channel: str, listener: Listener) -> None:
        await self._bus.subscribe(channel, listener)

    async def unsubscribe(self, channel: str, listener: Listener) -> None:
        await self._bus.unsubscribe(channel, listener)

    def _taken(self) -> tuple[str, bytes]:
        channel, payload = self._queue.popleft()
        if not payload:
            self._waking.discard(channel)
            self._woken[channel] = asyncio.get_running_loop().time()
        return channel, payload

    def _wake_later(self, channel: str) -> None:
        del self._deferred[channel]
        if self._closed or channel in self._waking:
            return
        self._waking.add(channel)
        self._queue.append((channel, b""))
        self._idle.clear()
        self._wake.set()

    def _dropped_one(self) -> None:
        self.dropped += 1
        self._burst_drops += 1
        if not self._bursting:
            self._bursting = True
            log.warning(
                "outbox: %d messages waiting for the bus; dropping the oldest (readers get "
                "them from the event log)",
                self._limit,
            )

    def _spawn(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._drain(), name="livethread-outbox")
        self._task.add_done_callback(self._stopped)

    def _stopped(self, task: asyncio.Task[None]) -> None:
        if task is not self._task or task.cancelled():
            return
        error = task.exception()
        if self._closed:
            return
        # The only publisher this process has: never leave it dead.
        log.error("outbox: publisher failed; restarting it", exc_info=error)
        self._spawn()

    async def _drain(self) -> None:
        while True:
            while self._queue:
                batch = [self._taken() for _ in range(min(BATCH, len(self._queue)))]
                # False means the bus is away and has said so (rate-limited); the hubs' log-tail
                # checks deliver these events instead.
                await self._bus.publish_all(batch)
                if self._bursting and len(self._queue) < self._limit // 2:
                    log.warning("outbox: dropped %d message(s) in that burst", self._burst_drops)
                    self._bursting, self._burst_drops = False, 0
            self._wake.clear()
            self._idle.set()
            await self._wake.wait()
