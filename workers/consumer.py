"""The loop every worker runs in: the event log, in order, from the worker's committed cursor.

At least once: an event's position is committed only after its handler returned, so a worker
that dies mid-batch handles that event again when it comes back; handlers are idempotent.
One copy at a time: the worker's lease in the database (renewed as it goes) keeps a second copy
of the same worker waiting, so no event is handled twice at the same time.
Woken by the bus: every commit is announced on the `log` channel; when the bus is down the
worker still finds new events by a slow poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from server.comments import LOG_CHANNEL
from server.ports import Bus, LogEntry, Store

log = logging.getLogger(__name__)


class Handler(Protocol):
    """What a worker does with one event. Must be idempotent; raising means "try again"."""

    @property
    def name(self) -> str: ...

    async def handle(self, entry: LogEntry) -> None: ...


@dataclass(frozen=True)
class Lag:
    """How far a worker is behind the log: events not yet handled, and for how long."""

    events: int
    seconds: float


class _Wake:
    """A bus listener that only wakes the consumer (the payload carries nothing it needs)."""

    def __init__(self, event: asyncio.Event) -> None:
        self._event = event

    def deliver(self, payload: bytes) -> None:
        self._event.set()

    def resumed(self) -> None:
        self._event.set()


class Consumer:
    def __init__(
        self,
        store: Store,
        bus: Bus,
        handler: Handler,
        *,
        batch: int = 100,
        poll: float = 5.0,
        lease: float = 30.0,
        retry: tuple[float, float] = (1.0, 60.0),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._bus = bus
        self._handler = handler
        self._batch = batch
        self._poll = poll
        self._lease = lease
        self._retry = retry
        self._clock = clock
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._wake = asyncio.Event()
        self._failures = 0
        self._caught_up_at = clock()
        self.handled = 0
        # The position this copy last committed, and a condition to watch it move by.
        self.position = 0
        self._moved = asyncio.Condition()

    async def committed(self, position: int) -> None:
        """Wait until this copy has committed `position` (bound it with a timeout)."""
        async with self._moved:
            await self._moved.wait_for(lambda: self.position >= position)

    @property
    def name(self) -> str:
        return self._handler.name

    async def run(self) -> None:
        """Consume until cancelled."""
        listener = _Wake(self._wake)
        await self._bus.subscribe(LOG_CHANNEL, listener)
        try:
            while True:
                await self._round()
        finally:
            await self._bus.unsubscribe(LOG_CHANNEL, listener)
            # Give the lease back (an expiry in the past), so a successor need not wait it
            # out. A copy that dies without this is replaced once its lease lapses.
            with contextlib.suppress(Exception):
                await self._store.lease(self.name, self._owner, 0.0, self._clock())

    async def lag(self) -> Lag:
        behind = max(0, await self._store.log_end() - await self._store.cursor(self.name))
        seconds = 0.0 if behind == 0 else max(0.0, self._clock() - self._caught_up_at)
        return Lag(events=behind, seconds=seconds)

    async def _round(self) -> None:
        now = self._clock()
        if not await self._store.lease(self.name, self._owner, now + self._lease, now):
            # Another copy holds the lease: wait for it to lapse (or for this copy's turn).
            await self._sleep(self._lease / 3)
            return
        cursor = await self._store.cursor(self.name)
        entries = await self._store.log_after(cursor, self._batch)
        if not entries:
            self._caught_up_at = self._clock()
            await self._wait()
            return
        renew_at = now + self._lease / 3
        for entry in entries:
            try:
                await self._handler.handle(entry)
            except Exception:
                self._failures += 1
                log.exception("worker %s failed on event %s; retrying", self.name, entry.position)
                low, high = self._retry
                # A real pause, not cut short by new events: a failing handler must not be
                # retried at the pace of the traffic.
                await asyncio.sleep(min(high, low * 2 ** min(self._failures - 1, 16)))
                return
            self._failures = 0
            if not await self._store.advance(self.name, self._owner, entry.position):
                return  # the lease lapsed and another copy took over
            self.handled += 1
            async with self._moved:
                self.position = entry.position
                self._moved.notify_all()
            if self._clock() >= renew_at:
                return  # renew the lease before going on

    async def _wait(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._poll):
                await self._wake.wait()
        self._wake.clear()

    async def _sleep(self, seconds: float) -> None:
        # A pause that the bus may cut short (a new event is worth trying again at once).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        self._wake.clear()
