"""PostgreSQL shared by three server processes: a thread's seqs stay gap-free and in commit order
when posts to it arrive through all three at once, and every reader, on any process, applies
every post once, in order."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from tests.support.checker import check
from tests.support.clients import WAIT
from tests.support.cluster import cluster, post
from tests.support.follower import Follower
from tests.support.postgres import PostgresServer
from tests.support.redis_server import RedisServer

SITE, THREAD = "news", "article-1"
PROCESSES, CLIENTS, POSTS = 3, 15, 10


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as running:
        yield running


@pytest.mark.timeout(90)
async def test_concurrent_posts_through_three_processes_get_gap_free_seqs_in_order(
    postgres: PostgresServer, redis_server: RedisServer
) -> None:
    """150 concurrent posts to one thread through 3 processes on one PostgreSQL database get
    seqs 1..150, each stored once; readers on every process apply all of them in seq order."""
    async with cluster(postgres.database(), redis=redis_server, site=SITE) as c:
        servers = [await c.start() for _ in range(PROCESSES)]
        readers = [Follower([p.http], SITE, THREAD, name=f"on-{n}") for n, p in enumerate(servers)]
        for r in readers:
            r.start()
        try:
            for r in readers:
                await r.connected()
            async with httpx.AsyncClient(timeout=WAIT) as http:

                async def client(k: int) -> list[str]:
                    return [
                        str((await post(http, servers[(k + n) % PROCESSES].http, f"{k}.{n}"))["id"])
                        for n in range(POSTS)
                    ]

                acknowledged = [
                    cid for ids in await asyncio.gather(*map(client, range(CLIENTS))) for cid in ids
                ]
            total = CLIENTS * POSTS
            for r in readers:
                await r.reach(total)
            truth = await c.truth()
            assert [e.seq for e in truth.events] == list(range(1, total + 1))
            assert truth.lost(acknowledged) == set() and len(truth.created) == total
            for report in [check(truth, r) for r in readers]:
                assert report.clean, report
            for r in readers:
                assert [e.seq for e in r.received] == list(range(1, total + 1))
        finally:
            for r in readers:
                await r.stop()
