"""Running workers: each worker's consumer and background loops, as owned, supervised tasks.

`livethread worker NAME…` runs a Runner as its own process; `livethread serve` runs one inside
each server process (unless `--no-workers`), which is safe because a worker's database lease
lets only one copy handle events at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from server.bus import Bus
from server.threads.ports import EventLog
from workers.consumer import Consumer, Handler, Lag
from workers.cursors import Cursors

log = logging.getLogger(__name__)

# A failed loop is restarted after this long (doubling up to the cap): never silently dead.
RESTART = (1.0, 60.0)


@dataclass(frozen=True)
class Worker:
    """A handler of log events, the loops it needs besides (e.g. sending due deliveries), and
    what to release when it stops."""

    handler: Handler
    loops: tuple[Callable[[], Awaitable[None]], ...] = ()
    close: Callable[[], Awaitable[None]] | None = None


@dataclass
class Runner:
    cursors: Cursors
    log: EventLog
    bus: Bus
    workers: list[Worker]
    poll: float = 5.0
    lease: float = 30.0
    _consumers: list[Consumer] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [w.handler.name for w in self.workers]

    async def start(self) -> None:
        for worker in self.workers:
            consumer = Consumer(
                self.cursors, self.log, self.bus, worker.handler, poll=self.poll, lease=self.lease
            )
            self._consumers.append(consumer)
            self._spawn(consumer.run, f"worker {consumer.name}")
            for index, loop in enumerate(worker.loops):
                self._spawn(loop, f"worker {consumer.name} loop {index}")

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for worker in self.workers:
            if worker.close is not None:
                with contextlib.suppress(Exception):
                    await worker.close()

    def consumer(self, name: str) -> Consumer:
        """The running consumer of a worker (to wait on its position; KeyError if none)."""
        for consumer in self._consumers:
            if consumer.name == name:
                return consumer
        raise KeyError(name)

    async def lag(self) -> dict[str, Lag]:
        return {c.name: await c.lag() for c in self._consumers}

    def _spawn(self, work: Callable[[], Awaitable[None]], name: str) -> None:
        task = asyncio.get_running_loop().create_task(_supervised(work, name), name=name)
        self._tasks.append(task)


async def _supervised(work: Callable[[], Awaitable[None]], name: str) -> None:
    delay = RESTART[0]
    while True:
        started = time.monotonic()
        try:
            await work()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            if time.monotonic() - started > RESTART[1]:
                delay = RESTART[0]  # it ran well for a while: this is a fresh failure
            log.exception("%s failed; restarting in %.0f s", name, delay)
            await asyncio.sleep(delay)
            delay = min(RESTART[1], delay * 2)
