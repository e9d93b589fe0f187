"""Forgetting what bans need for a while only: comments' address hashes once older than the
deployment's retention, and bans that have ended (the audit log keeps that they were).

Each server process runs the sweep (`Retention.run`) as one owned task, hourly: it is two
bulk updates any process may make at any time, so several running at once do no harm.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from server.moderation.ports import Expiry

log = logging.getLogger(__name__)

# How often the sweep runs, and how long it waits after failing before trying again: an
# address is kept at most this much beyond its retention.
INTERVAL = 3600.0
RETRY = 60.0


class Retention:
    def __init__(
        self,
        expiry: Expiry,
        *,
        addresses: float,
        interval: float = INTERVAL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`addresses`: how long (seconds) a comment keeps its address hash."""
        self._expiry = expiry
        self._addresses = addresses
        self._interval = interval
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    async def sweep(self) -> tuple[int, int]:
        """Forget now: how many comments' addresses and how many ended bans."""
        now = self._clock()
        addresses = await self._expiry.forget_addresses(now - self._addresses)
        bans = await self._expiry.forget_bans(now)
        if addresses or bans:
            log.info("forgot %d comments' addresses and %d ended bans", addresses, bans)
        return addresses, bans

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="retention")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep()
                wait = self._interval
            except Exception:
                # Never silently dead: logged, and tried again soon.
                log.exception("retention sweep failed")
                wait = RETRY
            await asyncio.sleep(wait)
