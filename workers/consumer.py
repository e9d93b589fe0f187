"""The loop every worker runs in: the event log, in order, from the worker's committed cursor.

At least once: a batch's position is committed only after its handlers returned, so a worker
that dies mid-batch handles those events again when it comes back; handlers are idempotent.
One copy at a time: the worker's lease in the database (renewed as it goes) keeps a second copy
of the same worker waiting, so no event is handled twice at the same time.
Imported comments' creation events (`Cursors.passed_over`) are passed over, not handled.
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from server import channels
from server.bus import Bus
from server.threads.ports import EventLog, LogEntry
from workers.cursors import Cursors

log = logging.getLogger(__name__)


class Handler(Protocol):
    """What a worker does with one event. Must be idempotent; raising means "try again"."""

    @property
    def name(self) -> str: ...

    async def prepare(self, entries: Sequence[LogEntry]) -> None:
        """Before a batch: read what handling these events needs, once for the batch
        (workers/prepared.py). Raising means "try the batch again"."""
        ...

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
        cursors: Cursors,
        log: EventLog,
        bus: Bus,
        handler: Handler,
        *,
        batch: int = 100,
        poll: float = 5.0,
        lease: float = 30.0,
        retry: tuple[float, float] = (1.0, 60.0),
        gather: float = 0.2,
        standby: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._cursors = cursors
        self._log = log
        self._bus = bus
        self._handler = handler
        self._batch = batch
        self._poll = poll
        self._lease = lease
        self._retry = retry
        self._gather = gather
        self._standby_pause = min(standby, lease / 3)
        self._clock = clock
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._wake = asyncio.Event()
        self._failures = 0
        self._caught_up_at = clock()
        # While this copy holds the lease: when to renew it, and the cursor it last committed
        # (None: read it from the store).
        self._renew_at = 0.0
        self._cursor: int | None = None
        self.handled = 0
        self.lease_tries = 0  # lease writes made (a standby copy's are paced, not per event)
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
        await self._bus.subscribe(channels.LOG, listener)
        try:
            while True:
                await self._round()
        finally:
            await self._bus.unsubscribe(channels.LOG, listener)
            # Give the lease back (an expiry in the past), so a successor need not wait it
            # out. A copy that dies without this is replaced once its lease lapses.
            with contextlib.suppress(Exception):
                await self._cursors.lease(self.name, self._owner, 0.0, self._clock())

    async def lag(self) -> Lag:
        behind = max(0, await self._log.end() - await self._cursors.position(self.name))
        seconds = 0.0 if behind == 0 else max(0.0, self._clock() - self._caught_up_at)
        return Lag(events=behind, seconds=seconds)

    async def _round(self) -> None:
        now = self._clock()
        # The lease is renewed a third of its term at a time, not every round: a round per
        # post must not cost a write per post.
        if now >= self._renew_at:
            self.lease_tries += 1
            if not await self._cursors.lease(self.name, self._owner, now + self._lease, now):
                self._cursor = None
                await self._stand_by()
                return
            self._renew_at = now + self._lease / 3
        if self._cursor is None:
            self._cursor = await self._cursors.position(self.name)
        entries = await self._log.after(self._cursor, self._batch)
        if not entries:
            self._caught_up_at = self._clock()
            await self._wait()
            return
        # Imported comments' creation events are years old: no worker acts on them (they are
        # still passed, so the cursor moves over them).
        passed = await self._cursors.passed_over(self._cursor, entries[-1].position)
        try:
            await self._handler.prepare([e for e in entries if e.position not in passed])
        except Exception:
            self._failures += 1
            first = entries[0].position
            log.exception("worker %s failed to prepare events from %s; retrying", self.name, first)
            await self._pause()
            return
        done: LogEntry | None = None
        failed = False
        for entry in entries:
            if entry.position in passed:
                done = entry
                continue
            try:
                await self._handler.handle(entry)
            except Exception:
                failed = True
                self._failures += 1
                log.exception("worker %s failed on event %s; retrying", self.name, entry.position)
                break
            self._failures = 0
            done = entry
            self.handled += 1
            if self._clock() >= self._renew_at:
                break  # renew the lease before going on
        # One cursor write for the handled part of the batch: a copy that dies before it
        # handles those events again (at least once; handlers are idempotent).
        if done is not None and not await self._commit(done.position):
            return
        if failed:
            await self._pause()

    async def _pause(self) -> None:
        low, high = self._retry
        # A real pause, not cut short by new events: a failing handler must not be retried at
        # the pace of the traffic.
        await asyncio.sleep(min(high, low * 2 ** min(self._failures - 1, 16)))

    async def _commit(self, position: int) -> bool:
        if not await self._cursors.advance(self.name, self._owner, position):
            # The lease lapsed and another copy took over: start again from the store.
            self._cursor = None
            self._renew_at = 0.0
            return False
        self._cursor = position
        async with self._moved:
            self.position = position
            self._moved.notify_all()
        return True

    async def _wait(self) -> None:
        woken = False
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._poll):
                await self._wake.wait()
                woken = True
        if woken and self._gather > 0:
            # Let the posts of a busy moment arrive, to handle them as one batch: a round (a
            # log read, a cursor write) per batch instead of per post. Nothing here waits on a
            # worker: a reader's post was answered, and published, before it woke us.
            await asyncio.sleep(self._gather)
        self._wake.clear()

    async def _stand_by(self) -> None:
        # Another copy holds the lease. Each try is a write, so a standby copy tries at most
        # once per pause however busy the log is (the wakes during the pause count once), and
        # otherwise a third of the term later: the holder may have given the lease back.
        await asyncio.sleep(self._standby_pause)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._lease / 3):
                await self._wake.wait()
        self._wake.clear()
