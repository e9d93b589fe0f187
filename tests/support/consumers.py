"""A worker's consumer run as the runner runs it, for a test's `async with`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from tests.support.clients import WAIT
from workers.consumer import Consumer


@contextlib.asynccontextmanager
async def running(consumer: Consumer) -> AsyncIterator[Consumer]:
    """`consumer` running in a task of its own; leaving cancels it, as a crash would."""
    task = asyncio.create_task(consumer.run())
    try:
        yield consumer
    finally:
        task.cancel()
        async with asyncio.timeout(WAIT):
            await asyncio.gather(task, return_exceptions=True)
