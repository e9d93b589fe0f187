""" "N reading now" (issue 17 item 4): readers counted across two real server processes on one
Redis, the count rising and falling as sockets open and close, and a killed process's readers
dropping out; in one process on the in-process bus too."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from server import events
from server.settings import Settings
from tests.support.clients import WAIT, Reader, provision, reader
from tests.support.redis_server import RedisServer
from tests.support.server import ServerProcess, serve, serve_process

SITE, THREAD = "news", "article-1"
# Fast ticks, so a dead process's readers drop out within about 12 of them (2.4 s).
INTERVAL = "0.2"


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as running:
        yield running


@pytest.fixture
async def pair(
    tmp_path: Path, redis_server: RedisServer
) -> AsyncIterator[tuple[ServerProcess, ServerProcess]]:
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    await provision(Settings(database=database))
    args = ("--database", database, "--redis", redis_server.url)
    env = {
        "LIVETHREAD_BUS_PREFIX": f"test-{uuid.uuid4().hex}:",
        "LIVETHREAD_PRESENCE_INTERVAL": INTERVAL,
    }
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(serve_process(*args, env=env))
        b = await stack.enter_async_context(serve_process(*args, env=env))
        yield a, b


async def sees(page: Reader, count: int, within: float = WAIT) -> None:
    """Read `page`'s frames until a presence frame says `count` (each earlier count passes)."""
    async with asyncio.timeout(within):
        while True:
            frame = await page.frame(within)
            if isinstance(frame, events.Presence) and frame.count == count:
                return


@pytest.mark.timeout(60)
async def test_presence_counts_readers_on_every_process_and_falls_as_they_leave(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    """Two readers on one process and one on the other: every page is told 3; one leaves: 2;
    the other process is killed: the survivors are told 2 minus its reader, within its TTL."""
    a, b = pair
    async with (
        reader(a.ws(SITE, THREAD)) as first,
        reader(a.ws(SITE, THREAD)) as second,
    ):
        async with reader(b.ws(SITE, THREAD)) as third:
            for page in (first, second, third):
                await sees(page, 3)
        for page in (first, second):
            await sees(page, 2)
        async with reader(b.ws(SITE, THREAD)) as again:
            await sees(again, 3)
            for page in (first, second):
                await sees(page, 3)
            b.process.kill()
            await b.process.wait()
            for page in (first, second):
                await sees(page, 2)


async def test_presence_on_one_process_without_redis(settings: Settings) -> None:
    """On the in-process bus the count is the process's own readers, told as they change."""
    fast = dataclasses.replace(settings, presence_interval=0.05)
    await provision(fast)
    async with serve(fast) as running, reader(running.ws(SITE, THREAD)) as first:
        await sees(first, 1)
        async with reader(running.ws(SITE, THREAD)) as second:
            await sees(first, 2)
            await sees(second, 2)
        await sees(first, 1)
        other = running.ws(SITE, "article-2")
        async with reader(other) as elsewhere:
            await sees(elsewhere, 1)
