"""The Buckets contract: every implementation must pass this one suite.

The first tests run against MemoryBuckets (one process), RedisBuckets on one redis-server and
RedisBuckets on a Redis Cluster alike, on real time: rates are either slow enough that no token
refills during a test (60 s) or fast enough to watch one refill within a bounded wait. The
Redis-only ones check what only a shared store has: two holders (two processes) share one
limit, idle keys expire in Redis, a stopped or hung Redis raises within the timeout, and
`Fallback` then limits per process and shares again once Redis is back.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass

import pytest
import redis.asyncio as aioredis
from redis.crc import key_slot

from server.adapters.redis_buckets import RedisBuckets
from server.limits import Buckets, BucketsUnavailable, Fallback, MemoryBuckets, Rate
from tests.support.redis_cluster import RedisCluster
from tests.support.redis_server import RedisServer
from tests.support.waiting import eventually

WAIT = 10.0  # the bound on every wait of the suite, in seconds
SLOW = Rate(3, 60)  # no token refills within a test
KINDS = ["memory", "redis", "redis_cluster"]


def _conforms(
    memory: MemoryBuckets, redis: RedisBuckets, fallback: Fallback
) -> tuple[Buckets, ...]:
    # Never called: mypy proves here that every implementation satisfies the port.
    return memory, redis, fallback


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="module")
def redis_cluster() -> Iterator[RedisCluster]:
    with RedisCluster() as cluster:
        yield cluster


@dataclass
class Store:
    """Buckets of one kind, and how to make another holder of the same store (another process)
    and to ask whether a key's bucket is still kept."""

    buckets: Buckets
    another: Callable[[], Buckets]
    held: Callable[[str], Awaitable[bool]]


@pytest.fixture(params=KINDS)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    """Fresh buckets of each kind; a Redis store has a prefix of its own."""
    prefix = f"test-{uuid.uuid4().hex}:"
    if request.param == "memory":
        memory = MemoryBuckets()

        async def kept(key: str) -> bool:
            memory.forget_idle()
            return key in memory

        yield Store(memory, lambda: memory, kept)
        return
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        url = server.url

        def make() -> RedisBuckets:
            return RedisBuckets.on_server(url, prefix)

        probe: aioredis.Redis | aioredis.RedisCluster = aioredis.Redis.from_url(url)
    else:
        cluster: RedisCluster = request.getfixturevalue("redis_cluster")
        url = cluster.url

        def make() -> RedisBuckets:
            return RedisBuckets.on_cluster(url, prefix)

        probe = aioredis.RedisCluster(host="127.0.0.1", port=cluster.ports[0])
    made: list[RedisBuckets] = []

    def another() -> RedisBuckets:
        made.append(make())
        return made[-1]

    first = another()
    async with asyncio.timeout(WAIT):
        await probe.ping()  # a cluster client reads the slot map first: not in a test's time

    async def in_redis(key: str) -> bool:
        return bool(await probe.exists(first.name(key)))

    try:
        yield Store(first, another, in_redis)
    finally:
        for buckets in made:
            await buckets.aclose()
        await probe.aclose()


def key() -> str:
    return f"k-{uuid.uuid4().hex}"


async def test_a_burst_is_allowed_then_refused_with_the_wait(store: Store) -> None:
    """Up to `count` at once; the next is told how long until a token refills."""
    k = key()
    assert [await store.buckets.take(k, SLOW) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = await store.buckets.take(k, SLOW)
    assert 19.0 < wait <= 20.0


async def test_keys_are_independent(store: Store) -> None:
    """One key spending its tokens does not touch another's."""
    a, b = key(), key()
    assert await store.buckets.take(a, Rate(1, 60)) == 0.0
    assert await store.buckets.take(a, Rate(1, 60)) > 0
    assert await store.buckets.take(b, Rate(1, 60)) == 0.0


async def test_a_refused_take_spends_nothing(store: Store) -> None:
    """Refusals do not push the next token further away: the wait only shrinks."""
    k = key()
    assert await store.buckets.take(k, Rate(1, 60)) == 0.0
    waits = [await store.buckets.take(k, Rate(1, 60)) for _ in range(5)]
    assert all(0 < w <= 60.0 for w in waits)
    assert waits == sorted(waits, reverse=True)


async def test_a_token_refills_after_the_wait(store: Store) -> None:
    """A refused take's wait is when a token is there again: not before, and not much after."""
    k, rate = key(), Rate(1, 0.4)
    assert await store.buckets.take(k, rate) == 0.0
    started = time.monotonic()
    wait = await store.buckets.take(k, rate)
    assert 0 < wait <= 0.4

    async def allowed() -> bool:
        return await store.buckets.take(k, rate) == 0.0

    # Polled: a bucket refills as time passes, which nothing signals.
    await eventually(allowed, within=WAIT, every=0.02)
    assert time.monotonic() - started >= wait - 0.05


async def test_every_holder_shares_one_limit(store: Store) -> None:
    """Takes alternating between two holders of one store (two processes on one Redis) are
    allowed `count` times in total, not `count` times each."""
    k, one, other = key(), store.buckets, store.another()
    answers = [await (one if n % 2 else other).take(k, Rate(4, 60)) for n in range(8)]
    assert answers[:4] == [0.0] * 4
    assert all(wait > 0 for wait in answers[4:])


async def test_concurrent_takes_never_exceed_the_burst(store: Store) -> None:
    """Fifty takes at once, from two holders: exactly `count` allowed (each take is atomic)."""
    k, holders = key(), (store.buckets, store.another())
    async with asyncio.timeout(WAIT):
        answers = await asyncio.gather(*(holders[n % 2].take(k, Rate(10, 60)) for n in range(50)))
    assert answers.count(0.0) == 10


async def test_idle_buckets_are_forgotten_once_full_again(store: Store) -> None:
    """A key is kept while its bucket is short of tokens, and forgotten once it has refilled."""
    k, rate = key(), Rate(2, 1.0)
    await store.buckets.take(k, rate)
    await store.buckets.take(k, rate)
    assert await store.held(k)  # for a second from now

    async def forgotten() -> bool:
        return not await store.held(k)

    # Polled: forgetting follows the refill, which nothing signals.
    await eventually(forgotten, within=WAIT, every=0.02)


# Redis-only: a shared store that can be away.


def redis_buckets(server: RedisServer, timeout: float = 0.3) -> RedisBuckets:
    return RedisBuckets.on_server(server.url, f"test-{uuid.uuid4().hex}:", timeout=timeout)


async def test_the_bucket_is_one_key_in_its_own_slot_on_the_cluster(
    redis_cluster: RedisCluster,
) -> None:
    """On a cluster a take touches one key, hash-tagged by the caller's key, on the master
    owning that slot; it holds only the bucket's time, never the key's parts in its value."""
    buckets = RedisBuckets.on_cluster(redis_cluster.url, f"test-{uuid.uuid4().hex}:")
    try:
        k = key()
        assert await buckets.take(k, SLOW) == 0.0
        name = buckets.name(k)
        assert key_slot(name.encode()) == key_slot(k.encode())
        owner = redis_cluster.client(redis_cluster.owner(name))
        try:
            stored = owner.get(name)
            ttl = owner.pttl(name)
        finally:
            owner.close()
        assert isinstance(stored, bytes) and stored.isdigit()
        assert 0 < ttl <= 20_000  # full again one token's time after the only take
    finally:
        await buckets.aclose()


@pytest.mark.timeout(60)
async def test_a_stopped_or_hung_redis_raises_within_the_timeout() -> None:
    """Redis stopped (refused) or hung (SIGSTOP: connected, silent): BucketsUnavailable within
    the timeout, never a hang; once Redis is back, takes work again."""
    with RedisServer() as server:
        buckets = redis_buckets(server, timeout=0.3)
        try:
            assert await buckets.take(key(), SLOW) == 0.0
            for outage, back in ((server.stop, server.start), (server.pause, server.resume)):
                outage()
                started = time.monotonic()
                with pytest.raises(BucketsUnavailable):
                    await buckets.take(key(), SLOW)
                assert time.monotonic() - started < 1.0
                back()
                assert await buckets.take(key(), SLOW) == 0.0
        finally:
            await buckets.aclose()


@pytest.mark.timeout(60)
async def test_fallback_limits_per_process_while_redis_is_stopped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With Redis stopped, each process limits on its own (every take answered at once, none
    refused for the outage); once Redis is back and the retry time passed, the limit is shared
    again."""
    with RedisServer() as server:
        prefix = f"test-{uuid.uuid4().hex}:"
        one = Fallback(RedisBuckets.on_server(server.url, prefix, timeout=0.3), retry=0.2)
        other = Fallback(RedisBuckets.on_server(server.url, prefix, timeout=0.3), retry=0.2)
        try:
            k = key()
            assert await one.take(k, SLOW) == 0.0
            server.stop()
            started = time.monotonic()
            # Per process now: each allows the whole burst of its own, then refuses.
            assert [await one.take(k, SLOW) for _ in range(3)] == [0.0, 0.0, 0.0]
            assert await one.take(k, SLOW) > 0
            assert [await other.take(k, SLOW) for _ in range(3)] == [0.0, 0.0, 0.0]
            assert await other.take(k, SLOW) > 0
            assert time.monotonic() - started < 2.0  # two timeouts at most, then straight local
            assert "shared rate limits unavailable" in caplog.text
            server.start()
            fresh = key()

            async def shared_again(holder: Fallback) -> bool:
                await holder.take(key(), SLOW)
                return holder.shared  # the take reached Redis (else `retry` starts over)

            # Polled: the store is tried again once `retry` has passed, which nothing signals.
            for holder in (one, other):
                await eventually(functools.partial(shared_again, holder), within=WAIT, every=0.05)
            answers = [await (one if n % 2 else other).take(fresh, SLOW) for n in range(4)]
            assert answers[:3] == [0.0] * 3 and answers[3] > 0
        finally:
            await one.aclose()
            await other.aclose()


@pytest.mark.timeout(120)
async def test_fallback_rides_out_the_loss_of_a_cluster_master() -> None:
    """The master holding some buckets dies (SIGKILL): every take on its slots still answers
    within the bound (from this process's buckets meanwhile), and once its replica has taken
    over they are shared again."""
    with RedisCluster() as cluster:
        shared = RedisBuckets.on_cluster(cluster.url, f"test-{uuid.uuid4().hex}:", timeout=0.3)
        buckets = Fallback(shared, retry=0.2)
        try:
            assert await buckets.take(key(), SLOW) == 0.0  # connected, the slot map known
            victim = cluster.masters()[0]
            on_victim = [
                k for k in (key() for _ in range(200)) if cluster.owner(shared.name(k)) == victim
            ]
            assert len(on_victim) > 20
            await asyncio.to_thread(cluster.kill, victim)
            fell_back = False
            for k in on_victim[:10]:
                started = time.monotonic()
                assert await buckets.take(k, SLOW) == 0.0
                assert time.monotonic() - started < 1.0
                fell_back = fell_back or not buckets.shared
            assert fell_back

            again = itertools.cycle(on_victim)

            async def shared_again() -> bool:
                await buckets.take(next(again), Rate(1000, 60))
                return buckets.shared  # the take reached the slot's new master

            # Polled: the replica takes over after the node timeout, which nothing here signals.
            await eventually(shared_again, within=30.0, every=0.1)
        finally:
            await buckets.aclose()
