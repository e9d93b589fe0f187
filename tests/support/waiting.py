"""Polling with a deadline, for states the system under test offers no signal for.

Use it only there (a hub's member count inside a server, Redis NUMSUB, /healthz): where there
is a signal (a frame, a task, an event), await the signal instead.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

from tests.support.clients import WAIT

# Short enough not to slow a test down, long enough not to busy the loop the server shares.
EVERY = 0.01


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], within: float = WAIT, every: float = EVERY
) -> None:
    """Return once `check()` holds; TimeoutError if it does not within `within` seconds."""
    async with asyncio.timeout(within):
        while True:
            held = check()
            if inspect.isawaitable(held):
                held = await held
            if held:
                return
            # The poll itself, bounded by `within`: for states nothing announces.
            await asyncio.sleep(every)
