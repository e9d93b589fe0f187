"""Flood and velocity limits are shared by every `livethread serve` process on one Redis: two
real processes, requests alternating between them, are refused after the limit in total (not
once per process); Redis holds only keyed hashes of addresses; with Redis stopped each process
limits on its own and answers at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from server import events
from server.moderation.rules import Rules
from server.settings import Settings
from tests.support.clients import WAIT, comment_json, decode_json, reader
from tests.support.cluster import SITE, THREAD, cluster
from tests.support.moderation import set_rules
from tests.support.redis_cluster import RedisCluster
from tests.support.redis_server import HOST, RedisServer

LIMITED = {
    "LIVETHREAD_RATE_LIMIT": "1",
    "LIVETHREAD_POST_RATE_ADDRESS": "3/60",
    "LIVETHREAD_CONNECT_RATE_ADDRESS": "2/60",
}


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as running:
        yield running


@pytest.fixture(params=["redis", "redis_cluster"])
def transport(request: pytest.FixtureRequest) -> Iterator[RedisServer | RedisCluster]:
    """A private Redis server, or a private Redis Cluster: the buckets go where the bus goes."""
    with RedisServer() if request.param == "redis" else RedisCluster() as running:
        yield running


async def buckets_in(transport: RedisServer | RedisCluster) -> tuple[list[bytes], list[bytes]]:
    """The names and values of every bucket in Redis (on every master of a cluster)."""
    names: list[bytes] = []
    values: list[bytes] = []
    ports = [transport.port] if isinstance(transport, RedisServer) else transport.masters()
    for port in ports:
        node = aioredis.Redis(host=HOST, port=port)
        try:
            async with asyncio.timeout(WAIT):
                for name in [name async for name in node.scan_iter(match="*bucket:*")]:
                    value = await node.get(name)
                    if value is not None:
                        names.append(name.encode() if isinstance(name, str) else name)
                        values.append(value.encode() if isinstance(value, str) else value)
        finally:
            await node.aclose()
    return names, values


def refused_for(answer: httpx.Response, message: str) -> None:
    """A 429 in the error shape, with a Retry-After and the message saying why."""
    assert answer.status_code == 429, answer.text
    assert int(answer.headers["retry-after"]) >= 1
    error = decode_json(answer.content)
    assert error["error"] == "rate_limited"
    assert str(error["message"]).startswith(message), error


@pytest.mark.timeout(90)
async def test_posts_and_sockets_are_limited_in_total_across_two_processes(
    database_url: str, transport: RedisServer | RedisCluster
) -> None:
    """POST_RATE_ADDRESS=3/60 with posts alternating between two processes: three are stored,
    then every post through either process is 429 (per process, all six would pass); the
    third new socket from the address, on either process, is closed 4029. Redis holds the
    buckets under keyed hashes, never the address. On one Redis server and on a Redis Cluster."""
    async with cluster(database_url, redis=transport) as running:
        a = await running.start(env=LIMITED)
        b = await running.start(env=LIMITED)
        async with httpx.AsyncClient(timeout=WAIT) as http:
            answers = [
                await http.post(f"{p.http}/api/v1/comments", json=comment_json(f"post {n}"))
                for n, p in enumerate([a, b, a, b, a, b])
            ]
        assert [answer.status_code for answer in answers[:3]] == [201, 201, 201]
        for answer in answers[3:]:
            refused_for(answer, "Too many comments from your address")
        assert len((await running.truth()).created) == 3

        async with (
            reader(a.ws(SITE, THREAD)),
            reader(b.ws(SITE, THREAD)),
            connect(a.ws(SITE, THREAD), open_timeout=WAIT) as third,
        ):
            frame = events.decode_frame(await asyncio.wait_for(third.recv(), WAIT))
            assert isinstance(frame, events.Error) and frame.code == "rate_limited", frame
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(third.recv(), WAIT)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4029

        names, values = await buckets_in(transport)
    held = b"\n".join(names + values)
    assert b"post:address:" in held and b"connect:address:" in held
    assert b"127.0.0.1" not in held and b"localhost" not in held
    assert all(value.isdigit() for value in values)


@pytest.mark.timeout(90)
async def test_velocity_is_shared_and_a_stopped_redis_falls_back_to_each_process(
    database_url: str, redis_server: RedisServer
) -> None:
    """A site's velocity rule (2 a minute per author) holds across two processes; with Redis
    stopped, posts are answered at once and each process applies the rule on its own."""
    await set_rules(Settings(database=database_url), SITE, Rules(velocity_author="2/60"))
    open_limits = {**LIMITED, "LIVETHREAD_POST_RATE_ADDRESS": "100/60"}
    async with cluster(database_url, redis=redis_server) as running:
        a = await running.start(env=open_limits)
        b = await running.start(env=open_limits)
        async with httpx.AsyncClient(timeout=WAIT) as http:

            async def post(through: str, name: str, body: str) -> httpx.Response:
                payload = comment_json(body, name=name)
                return await http.post(f"{through}/api/v1/comments", json=payload)

            assert (await post(a.http, "Ann", "one")).status_code == 201
            assert (await post(b.http, "Ann", "two")).status_code == 201
            refused_for(await post(a.http, "ANN", "three"), "You are posting too fast under")
            refused_for(await post(b.http, "Ann", "four"), "You are posting too fast under")

            redis_server.stop()
            started = time.monotonic()
            through_a = [(await post(a.http, "Bob", f"bob {n}")).status_code for n in range(3)]
            through_b = [(await post(b.http, "Bob", f"bob b{n}")).status_code for n in range(2)]
            took = time.monotonic() - started
    # Per process now: each allows Bob two, so four in all where Redis would have allowed two.
    assert through_a == [201, 201, 429] and through_b == [201, 201]
    assert took < 5.0, f"five posts with Redis stopped took {took:.1f} s"
