"""The Bus contract: every implementation must pass this one suite.

The first tests run against MemoryBus, RedisBus (one redis-server) and RedisClusterBus (a Redis
Cluster, sharded pub/sub) alike; the Redis-only ones check, on both Redis transports, what only a
transport has (one (S)SUBSCRIBE per channel per process, several processes, outages). Every Redis
test runs on a private redis-server or cluster with a prefix of its own, and every wait is
bounded. Outages differ by transport: a single server is stopped and started again; in a cluster
the master serving the channel is lost and its replica takes over (cluster-only variants below).
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
from server.adapters.redis_cluster_bus import RedisClusterBus
from server.adapters.redis_cluster_nodes import Node, channel_name
from server.bus import Bus
from tests.contract.conftest_bus import (
    WAIT,
    ClusterProbe,
    Exploding,
    Probe,
    Recorder,
    ServerProbe,
    SlowUplink,
    name_on,
    numsub_becomes,
)
from tests.support.redis_cluster import RedisCluster
from tests.support.redis_server import HOST, RedisServer

AnyRedisBus = RedisBus | RedisClusterBus
AnyBus = MemoryBus | AnyRedisBus
MakeBus = Callable[[], Awaitable[AnyRedisBus]]
NewBus = Callable[[str], AnyRedisBus]  # a bus with this prefix, not started
TRANSPORTS = ["redis", "redis_cluster"]
TRIO = ("kept", "late", "left")  # the channels of the outage tests


def _conforms(memory: MemoryBus, redis: RedisBus, cluster: RedisClusterBus) -> tuple[Bus, ...]:
    # Never called: mypy proves here that every implementation satisfies the port.
    return memory, redis, cluster


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="module")
def redis_cluster() -> Iterator[RedisCluster]:
    """One cluster for the module's non-destructive tests (those that break one make their own)."""
    with RedisCluster() as cluster:
        yield cluster


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex}:"


def redis_bus(server: RedisServer, prefix: str) -> RedisBus:
    """A bus with short timeouts, so outages are noticed quickly."""
    return RedisBus(server.url, prefix, timeout=0.5, backoff=(0.05, 0.5))


def cluster_bus(cluster: RedisCluster, prefix: str) -> RedisClusterBus:
    """A cluster bus with short timeouts, so lost masters are noticed quickly."""
    return RedisClusterBus(cluster.url, prefix, timeout=0.5, backoff=(0.05, 0.5))


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def new_bus(transport: str, request: pytest.FixtureRequest) -> NewBus:
    """Builds buses of the transport under test, on its module-wide server or cluster."""
    # Looked up by name, so a run of one transport never starts the other's servers.
    if transport == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        return lambda prefix: redis_bus(server, prefix)
    cluster: RedisCluster = request.getfixturevalue("redis_cluster")
    return lambda prefix: cluster_bus(cluster, prefix)


@pytest.fixture
async def make_redis_bus(new_bus: NewBus, prefix: str) -> AsyncIterator[MakeBus]:
    """Makes started buses (one per "server process") sharing a prefix."""
    async with AsyncExitStack() as stack:

        async def make() -> AnyRedisBus:
            bus = new_bus(prefix)
            stack.push_async_callback(bus.close)
            await bus.start()
            assert bus.connected
            return bus

        yield make


@pytest.fixture(params=["memory", *TRANSPORTS])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[AnyBus]:
    # The Redis fixtures are looked up only for their case, so MemoryBus runs need no server.
    opened: AnyBus
    if request.param == "memory":
        opened = MemoryBus()
    elif request.param == "redis":
        opened = redis_bus(
            request.getfixturevalue("redis_server"), request.getfixturevalue("prefix")
        )
    else:
        opened = cluster_bus(
            request.getfixturevalue("redis_cluster"), request.getfixturevalue("prefix")
        )
    await opened.start()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def probe(
    transport: str, request: pytest.FixtureRequest, prefix: str
) -> AsyncIterator[Probe]:
    """Looks at the server or cluster from outside the bus."""
    looking: Probe = (
        ServerProbe(request.getfixturevalue("redis_server").url, prefix)
        if transport == "redis"
        else ClusterProbe(request.getfixturevalue("redis_cluster"), prefix)
    )
    yield looking
    await looking.aclose()


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
    # MemoryBus and RedisBus deliver in publish order across channels, so had "for a" leaked to
    # `elsewhere`, it would come before "for b". (A cluster orders only within a shard, and
    # "a" and "b" may live on two: there, this proves less.)
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


# -- Redis only (one server and cluster) ---------------------------------------------------------


async def test_redis_listeners_of_a_channel_share_one_subscription(
    make_redis_bus: MakeBus, probe: Probe
) -> None:
    """Two listeners on one channel make one (S)SUBSCRIBE: one subscription per channel per
    process."""
    bus = await make_redis_bus()
    calls_before = await probe.subscribe_calls()
    await bus.subscribe("g", Recorder())
    await bus.subscribe("g", Recorder())
    assert await probe.subscribe_calls() - calls_before == 1
    assert await probe.numsub("g") == 1


async def test_redis_last_listener_out_unsubscribes_the_channel(
    make_redis_bus: MakeBus, probe: Probe
) -> None:
    """The channel stays subscribed while a listener remains; it is dropped when the last leaves."""
    bus = await make_redis_bus()
    first, last = Recorder(), Recorder()
    await bus.subscribe("h", first)
    await bus.subscribe("h", last)

    await bus.unsubscribe("h", first)
    assert await bus.publish("h", b"still subscribed")
    assert await last.next() == b"still subscribed"
    assert await probe.numsub("h") == 1

    await bus.unsubscribe("h", last)
    await numsub_becomes(probe, "h", 0)


async def test_redis_publish_on_one_process_reaches_listeners_on_another(
    make_redis_bus: MakeBus, probe: Probe
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
    assert await probe.numsub("i") == 2  # one per process


async def test_redis_subscribe_returns_once_redis_has_the_subscription(
    transport: str, request: pytest.FixtureRequest, prefix: str
) -> None:
    """Over a slow uplink, subscribe() still returns only once Redis has applied the SUBSCRIBE."""
    async with AsyncExitStack() as stack:
        publisher: AnyRedisBus
        subscriber: AnyRedisBus
        if transport == "redis":
            server: RedisServer = request.getfixturevalue("redis_server")
            uplink = await stack.enter_async_context(SlowUplink(server.port, delay=0.3))
            publisher = RedisBus(server.url, prefix)
            subscriber = RedisBus(uplink.url, prefix, timeout=2.0)
        else:
            # Only the link to the master serving the channel is slow.
            cluster: RedisCluster = request.getfixturevalue("redis_cluster")
            owner = (HOST, cluster.owner(channel_name(prefix, "fresh")))
            uplink = await stack.enter_async_context(SlowUplink(owner[1], delay=0.3))

            def remap(node: Node) -> Node:
                return (HOST, uplink.port) if node == owner else node

            publisher = RedisClusterBus(cluster.url, prefix)
            subscriber = RedisClusterBus(cluster.url, prefix, timeout=2.0, address_remap=remap)
        for each in (publisher, subscriber):
            stack.push_async_callback(each.close)
            await each.start()
        listener = Recorder()
        await subscriber.subscribe("fresh", listener)
        # Published directly, at once: had subscribe() returned before Redis applied it, this
        # message would reach Redis first and be lost.
        assert await publisher.publish("fresh", b"first")
        assert await listener.next() == b"first"


async def test_redis_prefix_isolates_deployments(new_bus: NewBus, prefix: str) -> None:
    """Buses with different prefixes on one Redis do not hear each other's channels."""
    async with AsyncExitStack() as stack:
        ours, theirs = new_bus(f"{prefix}ours:"), new_bus(f"{prefix}theirs:")
        for each in (ours, theirs):
            stack.push_async_callback(each.close)
            await each.start()
        listener = Recorder()
        await ours.subscribe("j", listener)
        assert await theirs.publish("j", b"not for us")
        assert await ours.publish("j", b"for us")
        # Redis sends a connection its messages in publish order (in a cluster both names share
        # the channel's hash tag, so one shard carries both): a leak would come first.
        assert await listener.next() == b"for us"


async def test_redis_cancelled_subscribe_leaves_nothing_behind(
    make_redis_bus: MakeBus, probe: Probe
) -> None:
    """A subscribe() cancelled while waiting for Redis removes its listener and subscription."""
    bus = await make_redis_bus()
    listener, witness = Recorder(), Recorder()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0):  # cancels subscribe() at its first wait on Redis
            await bus.subscribe("k", listener)
    await numsub_becomes(probe, "k", 0)
    await bus.subscribe("witness", witness)
    assert await bus.publish("k", b"nobody listens")
    assert await bus.publish("witness", b"sentinel")
    assert await witness.next() == b"sentinel"
    assert listener.pending() == []


# -- Redis, one server only: stopping and starting the server --------------------------------------


@pytest.mark.parametrize("graceful", [True, False], ids=["stopped", "killed"])
async def test_redis_outage_fails_publish_fast_then_the_bus_resumes(graceful: bool) -> None:
    """Redis down: publish fails fast, (un)subscribe is kept; Redis back: resubscribe, resumed()."""
    prefix = f"test-{uuid.uuid4().hex}:"
    with RedisServer() as server:
        async with AsyncExitStack() as stack:
            bus = redis_bus(server, prefix)
            stack.push_async_callback(bus.close)
            await bus.start()
            probe = ServerProbe(server.url, prefix)
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
            assert await probe.numsub("kept") == 1
            assert await probe.numsub("late") == 1
            assert await probe.numsub("left") == 0
            assert await bus.publish("kept", b"after")
            assert await bus.publish("late", b"hello")
            assert await kept.next() == b"after"
            assert await late.next() == b"hello"
            assert kept.pending() == late.pending() == left.pending() == []
            assert not left.was_resumed.is_set()


@pytest.mark.parametrize("graceful", [True, False], ids=["stopped", "killed"])
async def test_redis_first_publish_after_a_restart_goes_through(graceful: bool) -> None:
    """An idle publisher connection from before a Redis restart is replaced, not reported as an
    outage: the first publish after it succeeds and is delivered."""
    with RedisServer() as server:
        async with AsyncExitStack() as stack:
            bus = redis_bus(server, f"test-{uuid.uuid4().hex}:")
            stack.push_async_callback(bus.close)
            await bus.start()
            kept = Recorder()
            await bus.subscribe("kept", kept)
            assert await bus.publish("kept", b"before")
            assert await kept.next() == b"before"
            server.stop(graceful=graceful)
            server.start()
            async with asyncio.timeout(WAIT):
                await kept.was_resumed.wait()
            assert await bus.publish("kept", b"after")
            assert await kept.next() == b"after"


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
            probe = ServerProbe(server.url, prefix)
            stack.push_async_callback(probe.aclose)
            listener = Recorder()
            await bus.subscribe("quiet", listener)

            # The socket stays open but nothing is answered for a second: only PING can tell.
            await probe.client.client_pause(1000, all=True)
            async with asyncio.timeout(WAIT):
                await listener.was_resumed.wait()
            assert await bus.publish("quiet", b"back")
            assert await listener.next() == b"back"


# -- Redis Cluster only: losing the master that serves a channel ----------------------------------


@pytest.mark.parametrize("graceful", [True, False], ids=["stopped", "killed"])
async def test_redis_cluster_master_loss_fails_publish_fast_then_the_bus_resumes(
    graceful: bool,
) -> None:
    """The master serving the channels goes: publish fails fast, (un)subscribe is kept; once its
    replica has taken over, the bus resubscribes there and calls resumed()."""
    prefix = f"test-{uuid.uuid4().hex}:"
    with RedisCluster() as cluster:
        async with AsyncExitStack() as stack:
            bus = cluster_bus(cluster, prefix)
            stack.push_async_callback(bus.close)
            await bus.start()
            probe = ClusterProbe(cluster, prefix)
            stack.push_async_callback(probe.aclose)
            # All three on one master, so all three live through its loss.
            master = cluster.owner(channel_name(prefix, "kept-0"))
            kept, late, left = (name_on(cluster, prefix, master, base) for base in TRIO)
            on_kept, on_late, on_left = Recorder(), Recorder(), Recorder()
            await bus.subscribe(kept, on_kept)
            await bus.subscribe(left, on_left)
            assert await bus.publish(kept, b"before")
            assert await on_kept.next() == b"before"

            cluster.kill(master, graceful=graceful)
            async with asyncio.timeout(2.0):  # "does not hang": about two socket timeouts
                assert await bus.publish(kept, b"lost") is False
                assert await bus.publish_all([(kept, b"lost"), (late, b"lost")]) is False
                await bus.subscribe(late, on_late)
                await bus.unsubscribe(left, on_left)

            # No restart: the replica is promoted after the node timeout.
            async with asyncio.timeout(WAIT):
                await on_kept.was_resumed.wait()
                await on_late.was_resumed.wait()
            assert bus.connected
            assert await probe.owner(kept) != master
            # resumed() comes after the new master confirmed the SSUBSCRIBE: no polling needed.
            assert await probe.numsub(kept) == 1
            assert await probe.numsub(late) == 1
            assert await probe.numsub(left) == 0
            assert await bus.publish(kept, b"after")
            assert await bus.publish(late, b"hello")
            assert await on_kept.next() == b"after"
            assert await on_late.next() == b"hello"
            assert on_kept.pending() == on_late.pending() == on_left.pending() == []
            assert not on_left.was_resumed.is_set()


async def test_redis_cluster_bus_started_while_the_cluster_is_down_connects_when_it_is_up() -> None:
    """start() returns though no node answers; once the cluster is back the bus subscribes and
    resumes."""
    with RedisCluster() as cluster:
        ports = cluster.ports
        for port in ports:
            cluster.kill(port)
        async with AsyncExitStack() as stack:
            bus = cluster_bus(cluster, f"test-{uuid.uuid4().hex}:")
            stack.push_async_callback(bus.close)
            async with asyncio.timeout(WAIT):
                await bus.start()
            assert not bus.connected
            listener = Recorder()
            await bus.subscribe("early", listener)
            assert await bus.publish("early", b"lost") is False

            await asyncio.to_thread(cluster.restart, *ports)
            async with asyncio.timeout(WAIT):
                await listener.was_resumed.wait()
            assert bus.connected
            assert await bus.publish("early", b"live")
            assert await listener.next() == b"live"


async def test_redis_cluster_silent_connection_is_detected_by_keepalive(
    redis_cluster: RedisCluster, prefix: str
) -> None:
    """A master that stops answering clients (CLIENT PAUSE; the cluster itself sees it alive, so
    no failover) is noticed by PING; the bus reconnects, resubscribes and resumes."""
    async with AsyncExitStack() as stack:
        bus = RedisClusterBus(
            redis_cluster.url, prefix, timeout=0.3, keepalive=0.1, backoff=(0.05, 0.2)
        )
        stack.push_async_callback(bus.close)
        await bus.start()
        probe = ClusterProbe(redis_cluster, prefix)
        stack.push_async_callback(probe.aclose)
        listener = Recorder()
        await bus.subscribe("quiet", listener)

        # The socket stays open but nothing is answered for a second: only PING can tell.
        owner = await probe.owner("quiet")
        paused = aioredis.Redis(host=HOST, port=owner)
        stack.push_async_callback(paused.aclose)
        await paused.client_pause(1000, all=True)
        async with asyncio.timeout(WAIT):
            await listener.was_resumed.wait()
        assert await bus.publish("quiet", b"back")
        assert await listener.next() == b"back"
