"""Failover: SIGKILL one of two server processes holding 1,000 sockets (issue 4, item 4)."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest

from server.model import ThreadKey
from server.settings import Settings
from server.web.app import store_for
from tests.chaos import raise_file_limit
from tests.support.checker import Truth, check
from tests.support.clients import WAIT, comment_json, provision
from tests.support.follower import Follower
from tests.support.redis_server import RedisServer
from tests.support.server import serve_process

SITE, THREAD = "news", "article-1"
READERS = 1000
# The widget's first-retry window (client-js/src/backoff.js: BASE_MS 500): after a drop each
# reader waits uniform(0, 0.5 s) before its first attempt, so 500 returns spread over ~0.5 s.
BACKOFF = (0.5, 5.0)
BEFORE, DURING = 5, 20  # posts before the kill, and through B while A's readers come back
PACE = 0.05  # seconds between two posts during the failover (about 1 s of posting)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as running:
        yield running


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _truth(database: str) -> Truth:
    store = store_for(Settings(database=database))
    await store.open()
    try:
        return Truth.of(await store.log.events_after(ThreadKey(SITE, THREAD), 0, 100_000))
    finally:
        await store.close()


@pytest.mark.timeout(90)
async def test_sigkill_of_one_process_moves_its_500_readers_to_the_other(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """A killed process's 500 readers return to the other spread by jitter and miss nothing."""
    raise_file_limit(READERS + 200)
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    await provision(Settings(database=database))
    args = ("--database", database, "--redis", redis_server.url)
    env = {"LIVETHREAD_BUS_PREFIX": f"test-{uuid.uuid4().hex}:"}
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(serve_process(*args, env=env))
        b = await stack.enter_async_context(serve_process(*args, env=env))
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=WAIT))
        readers = [
            Follower([a.http, b.http], SITE, THREAD, name=f"reader-{i}", backoff=BACKOFF)
            for i in range(READERS)
        ]
        stack.push_async_callback(lambda: asyncio.gather(*(r.stop() for r in readers)))
        for i, r in enumerate(readers):
            r.start(preferred=i % 2)
        on_a, on_b = readers[0::2], readers[1::2]
        await asyncio.gather(*(r.connected(within=60) for r in readers))

        async def post(base: str, n: int) -> None:
            answer = await http.post(f"{base}/api/v1/comments", json=comment_json(body=f"#{n}"))
            assert answer.status_code == 201, answer.text

        for n in range(BEFORE):
            await post((a, b)[n % 2].http, n)
        await asyncio.gather(*(r.reach(BEFORE, within=30) for r in readers))
        # Every reader is on its preferred process (so 500 on each) when A dies.
        assert [r.name for r in readers if len(r.hellos) != 1] == []

        a.process.kill()
        killed = time.monotonic()
        async with asyncio.timeout(WAIT):
            await a.process.wait()
        for n in range(BEFORE, BEFORE + DURING):
            await post(b.http, n)
            await asyncio.sleep(PACE)  # pacing the posts over the reconnect window
        final = BEFORE + DURING
        await asyncio.gather(*(r.reach(final, within=30) for r in readers))
        converged = time.monotonic() - killed

        truth = await _truth(database)
        assert sorted(truth.seqs) == list(range(1, final + 1))
        reports = [check(truth, r) for r in readers]
        assert [rep for rep in reports if not rep.clean] == []
        assert all(rep.delivered == final for rep in reports)
        assert [r.name for r in readers if r.resyncs or r.gaps] == []
        # Only A's readers moved (each at least once); B's kept their first socket.
        assert all(len(r.hellos) == 1 for r in on_b)
        assert all(len(r.hellos) >= 2 for r in on_a)
        back = [r.hellos[1] - killed for r in on_a]
        assert min(back) > 0
        p10, p50, p90 = (quantile(back, q) for q in (0.1, 0.5, 0.9))
        print(
            f"\nfailover: {len(on_a)} readers of the killed process back on the other in "
            f"{min(back) * 1000:.0f}..{max(back) * 1000:.0f} ms (p10 {p10 * 1000:.0f}, "
            f"median {p50 * 1000:.0f}, p90 {p90 * 1000:.0f}; p10-p90 span "
            f"{(p90 - p10) * 1000:.0f} ms, mean {statistics.fmean(back) * 1000:.0f} ms); "
            f"all {READERS} readers at seq {final} {converged:.2f} s after the kill"
        )
        assert p90 - p10 >= 0.2, "reconnects bunched together: no jitter?"
