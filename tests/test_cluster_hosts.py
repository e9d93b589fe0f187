"""Three server processes on PostgreSQL and a Redis Cluster bus (sharded pub/sub): a master
failover in the middle of a stream of posts loses, doubles and reorders nothing for any reader
(the bus resubscribes; the log-tail check repairs what the switch dropped)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.clients import WAIT
from tests.support.cluster import SITE, THREAD, cluster, everyone_got, following, post
from tests.support.postgres import PostgresServer
from tests.support.redis_cluster import RedisCluster

PROCESSES, BEFORE, AFTER = 3, 30, 30


@pytest.fixture
def redis_cluster() -> Iterator[RedisCluster]:
    with RedisCluster() as running:
        yield running


@pytest.mark.timeout(120)
async def test_a_master_failover_mid_stream_loses_nothing_for_readers_on_three_processes(
    postgres: PostgresServer, redis_cluster: RedisCluster
) -> None:
    """Readers on 3 processes get every post once, in seq order, though the master serving the
    thread's channel fails over to its replica halfway through the posts."""
    async with cluster(postgres.database(), redis=redis_cluster) as c:
        servers = [await c.start() for _ in range(PROCESSES)]
        async with following(servers) as readers, httpx.AsyncClient(timeout=WAIT) as http:
            acknowledged: list[str] = []
            for n in range(BEFORE):
                answer = await post(http, servers[n % PROCESSES].http, f"before {n}")
                acknowledged.append(str(answer["id"]))
            redis_cluster.failover(redis_cluster.owner(f"{{thread:{SITE}:{THREAD}}}"))
            for n in range(AFTER):
                answer = await post(http, servers[n % PROCESSES].http, f"after {n}")
                acknowledged.append(str(answer["id"]))
            await everyone_got(c, readers, acknowledged, BEFORE + AFTER)
