"""The Bus contract: every implementation must pass this one suite.

The first tests run against MemoryBus and RedisBus alike; the Redis-only ones check what only a
transport has (one SUBSCRIBE per channel per process, several processes, outages). Every Redis
test runs on a private redis-server with a prefix of its own, and every wait is bounded.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack

import pytest
import redis.asyncio as aioredis

from server.adapters.memory_bus import MemoryBus
from server.adapters.redis_bus import RedisBus
from server.bus import Bus
from tests.contract.conftest_bus import (
    WAIT,
    Exploding,
    Recorder,
    SlowUplink,
    numsub,
    numsub_becomes,
    subscribe_calls,
)
from tests.support.redis_server import RedisServer

AnyBus = MemoryBus | RedisBus
MakeBus = Callable[[], Awaitable[RedisBus]]


def _conforms(memory: MemoryBus, redis: RedisBus) -> tuple[Bus, Bus]:
    # Never called: mypy proves here that both implementations satisfy the port.
    return memory, redis


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex}:"


def redis_bus(server: RedisServer, prefix: str) -> RedisBus:
    """A bus with short timeouts, so outages are noticed quickly."""
    return RedisBus(server.url, prefix, timeout=0.5, backoff=(0.05, 0.5))


@pytest.fixture
async def make_redis_bus(redis_server: RedisServer, prefix: str) -> AsyncIterator[MakeBus]:
    """Makes started RedisBus instances (one per "server process") sharing a prefix."""
    async with AsyncExitStack() as stack:

        async def make() -> RedisBus:
            bus = redis_bus(redis_server, prefix)
            stack.push_async_callback(bus.close)
            await bus.start()
            assert bus.connected
            return bus

        yield make


@pytest.fixture(params=["memory", "redis"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[AnyBus]:
    # The Redis fixtures are looked up only for the Redis case, so MemoryBus runs need no server.
    opened: AnyBus = (
        MemoryBus()
        if request.param == "memory"
        else redis_bus(request.getfixturevalue("redis_server"), request.getfixturevalue("prefix"))
    )
    await opened.start()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def probe(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    """A plain client, to look at the server from outside the bus."""
    client = aioredis.Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


# -- every implementation ----------------------------------------------------------------------


async def test_message_reaches_every_listener_of_its_channel_and_no_other(bus: AnyBus) -> None:
    """A publish reaches each listener of its channel, and none of another channel's."""
    first, second, elsewhere = Recorder(), Recorder(), Recorder()
    await bus.subscribe("a", first)
    await bus.subscribe("a", second)
    await bus.subscribe("b", elsewhere)

    assert await bus.publish("a", b"for a")
    assert await bus.publish("b", b"for b")

    assert await first.next() == b"for a"
    assert await second.next() == b"for a"
    # Both buses deliver in publish order across channels, so had "for a" leaked to `elsewhere`,
    # it would come before "for b".
    assert await elsewhere.next() == b"for b"
    assert first.pending() == second.pending() == elsewhere.pending() == []


async def test_order_is_preserved_per_channel(bus: AnyBus) -> None:
    """Messages on one channel arrive in the order they were published."""
    listener = Recorder()
    await bus.subscribe("ordered", listener)
    sent = [f"message {i}".encode() for i in range(200)]
    for payload in sent:
        assert await bus.publish("ordered", payload)
    assert [await listener.next() for _ in sent] == sent


async def test_publish_all_delivers_each_message_in_order(bus: AnyBus) -> None:
    """Several messages handed over at once reach their channels' listeners, in order."""
    thread, log = Recorder(), Recorder()
    await bus.subscribe("thread", thread)
    await bus.subscribe("log", log)
    assert await bus.publish_all([("thread", b"one"), ("log", b""), ("thread", b"two")])
    assert [await thread.next(), await thread.next()] == [b"one", b"two"]
    assert await log.next() == b""
    assert thread.pending() == log.pending() == []


async def test_more_publishers_than_connections_all_get_through(bus: AnyBus) -> None:
    """Publishers beyond the bus's connections wait their turn: none fails, none is lost."""
    listener = Recorder()
    await bus.subscribe("busy", listener)
    sent = {f"{i}".encode() for i in range(100)}
    results = await asyncio.gather(*(bus.publish("busy", payload) for payload in sent))
    assert all(results)
    assert {await listener.next() for _ in sent} == sent


async def test_unsubscribed_listener_receives_nothing_more(bus: AnyBus) -> None:
    """After unsubscribe() returns, the listener gets nothing; the channel's others still do."""
    leaving, staying = Recorder(), Recorder()
    await bus.subscribe("c", leaving)
    await bus.subscribe("c", staying)
    await bus.unsubscribe("c", leaving)

    assert await bus.publish("c", b"after")
    assert await staying.next() == b"after"
    # One message goes to all of a channel's listeners in one pass: it is too late for `leaving`.
    assert leaving.pending() == []


async def test_failing_listener_does_not_stop_the_others(
    bus: AnyBus, caplog: pytest.LogCaptureFixture
) -> None:
    """A listener raising in deliver() is logged; the other listeners still get the message."""
    broken, healthy = Exploding(), Recorder()
    await bus.subscribe("d", broken)
    await bus.subscribe("d", healthy)
    with caplog.at_level(logging.ERROR):
        assert await bus.publish("d", b"payload")
        assert await healthy.next() == b"payload"
    assert broken.pending() == [b"payload"]
    assert "listener bug" in caplog.text


async def test_same_listener_twice_gets_each_message_once(bus: AnyBus) -> None:
    """Subscribing one listener twice to a channel delivers each message to it once."""
    listener, witness = Recorder(), Recorder()
    await bus.subscribe("e", listener)
    await bus.subscribe("e", listener)
    await bus.subscribe("e", witness)
    assert await bus.publish("e", b"once")
    assert await witness.next() == b"once"
    assert listener.pending() == [b"once"]


async def test_unsubscribing_an_unknown_listener_is_harmless(bus: AnyBus) -> None:
    """unsubscribe() of a listener that never joined changes nothing and does not raise."""
    member, stranger = Recorder(), Recorder()
    await bus.subscribe("f", member)
    await bus.unsubscribe("f", stranger)
    await bus.unsubscribe("nowhere", stranger)
    assert await bus.publish("f", b"still here")
    assert await member.next() == b"still here"


# -- Redis only ----------------------------------------------------------------------------------


async def test_redis_listeners_of_a_channel_share_one_subscription(
    make_redis_bus: MakeBus, probe: aioredis.Redis, prefix: str
) -> None:
    """Two listeners on one channel make one SUBSCRIBE: one subscriber per channel per process."""
    bus = await make_redis_bus()
    calls_before = await subscribe_calls(probe)
    await bus.subscribe("g", Recorder())
    await bus.subscribe("g", Recorder())
    assert await subscribe_calls(probe) - calls_before == 1
    assert await numsub(probe, prefix + "g") == 1


async def test_redis_last_listener_out_unsubscribes_the_channel(
    make_redis_bus: MakeBus, probe: aioredis.Redis, prefix: str
) -> None:
    """The channel stays subscribed while a listener remains; it is dropped when the last leaves."""
    bus = await make_redis_bus()
    first, last = Recorder(), Recorder()
    await bus.subscribe("h", first)
    await bus.subscribe("h", last)

    await bus.unsubscribe("h", first)
    assert await bus.publish("h", b"still subscribed")
    assert await last.next() == b"still subscribed"
    assert await numsub(probe, prefix + "h") == 1

    await bus.unsubscribe("h", last)
    await numsub_becomes(probe, prefix + "h", 0)


async def test_redis_publish_on_one_process_reaches_listeners_on_another(
    make_redis_bus: MakeBus, probe: aioredis.Redis, prefix: str
) -> None:
    """Bus A's publish, made right after bus B's subscribe() returns, reaches B's listeners."""
    a, b = await make_redis_bus(), await make_redis_bus()
    on_a, on_b = Recorder(), Recorder()
    await a.subscribe("i", on_a)
    await b.subscribe("i", on_b)
    # No wait in between: subscribe() returning means Redis has the subscription.
    assert await a.publish("i", b"from a")
    assert await on_b.next() == b"from a"
    assert await on_a.next() == b"from a"
    assert await numsub(probe, prefix + "i") == 2  # one per process


async def test_redis_subscribe_returns_once_redis_has_the_subscription(
    redis_server: RedisServer, prefix: str
) -> None:
    """Over a slow uplink, subscribe() still returns only once Redis has applied the SUBSCRIBE."""
    async with AsyncExitStack() as stack:
        uplink = await stack.enter_async_context(SlowUplink(redis_server.port, delay=0.3))
        publisher = RedisBus(redis_server.url, prefix)
        subscriber = RedisBus(uplink.url, prefix, timeout=2.0)
        for each in (publisher, subscriber):
            stack.push_async_callback(each.close)
            await each.start()
        listener = Recorder()
        await subscriber.subscribe("fresh", listener)
        # Published directly, at once: had subscribe() returned before Redis applied it, this
        # message would reach Redis first and be lost.
        assert await publisher.publish("fresh", b"first")
        assert await listener.next() == b"first"


async def test_redis_prefix_isolates_deployments(redis_server: RedisServer, prefix: str) -> None:
    """Buses with different prefixes on one Redis do not hear each other's channels."""
    async with AsyncExitStack() as stack:
        ours = RedisBus(redis_server.url, f"{prefix}ours:")
        theirs = RedisBus(redis_server.url, f"{prefix}theirs:")
        for each in (ours, theirs):
            stack.push_async_callback(each.close)
            await each.start()
        listener = Recorder()
        await ours.subscribe("j", listener)
        assert await theirs.publish("j", b"not for us")
        assert await ours.publish("j", b"for us")
        # Redis sends a connection its messages in publish order: a leak would come first.
        assert await listener.next() == b"for us"


async def test_redis_cancelled_subscribe_leaves_nothing_behind(
    make_redis_bus: MakeBus, probe: aioredis.Redis, prefix: str
) -> None:
    """A subscribe() cancelled while waiting for Redis removes its listener and subscription."""
    bus = await make_redis_bus()
    listener, witness = Recorder(), Recorder()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0):  # cancels subscribe() at its first wait on Redis
            await bus.subscribe("k", listener)
    await numsub_becomes(probe, prefix + "k", 0)
    await bus.subscribe("witness", witness)
    assert await bus.publish("k", b"nobody listens")
    assert await bus.publish("witness", b"sentinel")
    assert await witness.next() == b"sentinel"
    assert listener.pending() == []


@pytest.mark.parametrize("graceful", [True, False], ids=["stopped", "killed"])
async def test_redis_outage_fails_publish_fast_then_the_bus_resumes(graceful: bool) -> None:
    """Redis down: publish fails fast, (un)subscribe is kept; Redis back: resubscribe, resumed()."""
    prefix = f"test-{uuid.uuid4().hex}:"
    with RedisServer() as server:
        async with AsyncExitStack() as stack:
            bus = redis_bus(server, prefix)
            stack.push_async_callback(bus.close)
            await bus.start()
            probe = aioredis.Redis.from_url(server.url)
            stack.push_async_callback(probe.aclose)
            kept, late, left = Recorder(), Recorder(), Recorder()
            await bus.subscribe("kept", kept)
            await bus.subscribe("left", left)
            assert await bus.publish("kept", b"before")
            assert await kept.next() == b"before"

            server.stop(graceful=graceful)
            async with asyncio.timeout(2.0):  # "does not hang": about two socket timeouts
                assert await bus.publish("kept", b"lost") is False
                assert await bus.publish_all([("kept", b"lost"), ("late", b"lost")]) is False
                await bus.subscribe("late", late)
                await bus.unsubscribe("left", left)

            server.start()
            async with asyncio.timeout(WAIT):
                await kept.was_resumed.wait()
                await late.was_resumed.wait()
            assert bus.connected
            # resumed() comes after Redis confirmed the resubscription: no polling needed.
            assert await numsub(probe, prefix + "kept") == 1
            assert await numsub(probe, prefix + "late") == 1
            assert await numsub(probe, prefix + "left") == 0
            assert await bus.publish("kept", b"after")
            assert await bus.publish("late", b"hello")
            assert await kept.next() == b"after"
            assert await late.next() == b"hello"
            assert kept.pending() == late.pending() == left.pending() == []
            assert not left.was_resumed.is_set()


async def test_redis_bus_started_while_redis_is_down_connects_when_it_comes_up() -> None:
    """start() returns though Redis is down; once Redis is up the bus subscribes and resumes."""
    with RedisServer() as server:
        server.stop()  # the port is now known and nobody listens on it
        async with AsyncExitStack() as stack:
            bus = redis_bus(server, f"test-{uuid.uuid4().hex}:")
            stack.push_async_callback(bus.close)
            async with asyncio.timeout(WAIT):
                await bus.start()
            assert not bus.connected
            listener = Recorder()
            await bus.subscribe("early", listener)
            assert await bus.publish("early", b"lost") is False

            server.start()
            async with asyncio.timeout(WAIT):
                await listener.was_resumed.wait()
            assert bus.connected
            assert await bus.publish("early", b"live")
            assert await listener.next() == b"live"


async def test_redis_silent_connection_is_detected_by_keepalive() -> None:
    """A Redis that stops answering (CLIENT PAUSE) is noticed by PING; the bus reconnects."""
    prefix = f"test-{uuid.uuid4().hex}:"
    with RedisServer() as server:
        async with AsyncExitStack() as stack:
            bus = RedisBus(server.url, prefix, timeout=0.3, keepalive=0.1, backoff=(0.05, 0.2))
            stack.push_async_callback(bus.close)
            await bus.start()
            probe = aioredis.Redis.from_url(server.url)
            stack.push_async_callback(probe.aclose)
            listener = Recorder()
            await bus.subscribe("quiet", listener)

            # The socket stays open but nothing is answered for a second: only PING can tell.
            await probe.client_pause(1000, all=True)
            async with asyncio.timeout(WAIT):
                await listener.was_resumed.wait()
            assert await bus.publish("quiet", b"back")
            assert await listener.next() == b"back"
