"""PostgreSQL shared by three server processes: a thread's seqs stay gap-free and in commit order
when posts to it arrive through all three at once, and every reader, on any process, applies
every post once, in order."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from tests.support.clients import WAIT
from tests.support.cluster import cluster, everyone_got, following, post
from tests.support.postgres import PostgresServer
from tests.support.redis_server import RedisServer

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
    async with cluster(postgres.database(), redis=redis_server) as c:
        servers = [await c.start() for _ in range(PROCESSES)]
        async with following(servers) as readers, httpx.AsyncClient(timeout=WAIT) as http:

            async def client(k: int) -> list[str]:
                return [
                    str((await post(http, servers[(k + n) % PROCESSES].http, f"{k}.{n}"))["id"])
                    for n in range(POSTS)
                ]

            sent = await asyncio.gather(*map(client, range(CLIENTS)))
            acknowledged = [cid for ids in sent for cid in ids]
            await everyone_got(c, readers, acknowledged, CLIENTS * POSTS)
