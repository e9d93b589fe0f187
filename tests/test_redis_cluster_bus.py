"""The cluster bus through a master failover while messages stream on one thread's channel.

A publisher bus streams numbered messages on a thread channel; a subscriber bus (another "server
process") receives them. A replica of the master serving the channel's slot takes over (CLUSTER
FAILOVER). Afterwards publishing works again, the subscriber's listener was told `resumed()`
(so a room would repair from the store), and every message published after the resubscription
arrives, in order. What was published during the switch may be lost: the bus is at most once.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack

import pytest
from redis.exceptions import AskError

from server import channels
from server.adapters.redis_cluster_bus import RedisClusterBus, cluster_nodes
from server.adapters.redis_cluster_nodes import channel_name, credentials
from server.model import ThreadKey
from tests.support.redis_cluster import RedisCluster

WAIT = 15.0  # the bound on every wait, in seconds
CHANNEL = channels.thread(ThreadKey("news", "article-1"))
EVERY = 0.005  # seconds between two published messages: a steady stream, not a flood


class Witness:
    """A listener noting, in arrival order, each message (its number) and each resumed()."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.received: list[int] = []
        # The number the stream was about to publish when resumed() came: messages from it on
        # were published after the resubscription.
        self.resumed_at: int | None = None
        self.was_resumed = asyncio.Event()
        self.changed = asyncio.Event()

    def deliver(self, payload: bytes) -> None:
        self.received.append(int(payload))
        self.changed.set()

    def resumed(self) -> None:
        if self.resumed_at is None:
            self.resumed_at = self.stream.next
        self.was_resumed.set()

    async def received_beyond(self, number: int) -> None:
        async with asyncio.timeout(WAIT):
            while not self.received or self.received[-1] < number:
                self.changed.clear()
                await self.changed.wait()


class Stream:
    """Publishes 1, 2, 3... on CHANNEL until stopped; notes which publishes succeeded."""

    def __init__(self, bus: RedisClusterBus) -> None:
        self.bus = bus
        self.next = 1
        self.published: list[int] = []
        self.failed: list[int] = []
        # Stopped by a flag, not by cancelling: a publish cancelled midway may still have
        # reached Redis without being noted as published.
        self.stopping = False

    async def run(self) -> None:
        while not self.stopping:
            number = self.next
            self.next += 1
            ok = await self.bus.publish(CHANNEL, str(number).encode())
            (self.published if ok else self.failed).append(number)
            await asyncio.sleep(EVERY)  # the stream's pace, not a synchronisation


@pytest.fixture
def cluster() -> Iterator[RedisCluster]:
    with RedisCluster() as private:  # its own: a failover changes who serves what
        yield private


def bus(cluster: RedisCluster, prefix: str) -> RedisClusterBus:
    return RedisClusterBus(cluster.url, prefix, timeout=1.0, backoff=(0.05, 0.5))


async def test_failover_while_streaming_resumes_and_keeps_order(cluster: RedisCluster) -> None:
    prefix = f"test-{uuid.uuid4().hex}:"
    master = cluster.owner(channel_name(prefix, CHANNEL))
    async with AsyncExitStack() as stack:
        publisher, subscriber = bus(cluster, prefix), bus(cluster, prefix)
        for each in (publisher, subscriber):
            stack.push_async_callback(each.close)
            await each.start()
            assert each.connected
        stream = Stream(publisher)
        witness = Witness(stream)
        await subscriber.subscribe(CHANNEL, witness)

        streaming = asyncio.create_task(stream.run())
        try:
            await witness.received_beyond(20)  # the stream flows before the failover
            promoted = await asyncio.to_thread(cluster.failover, master)
            failed_over_at = stream.next

            async with asyncio.timeout(WAIT):
                await witness.was_resumed.wait()
            assert witness.resumed_at is not None
            # Enough traffic after both the failover and the resubscription to judge by.
            await witness.received_beyond(max(failed_over_at, witness.resumed_at) + 50)
        finally:
            stream.stopping = True
            async with asyncio.timeout(WAIT):
                await streaming

        assert cluster.owner(channel_name(prefix, CHANNEL)) == promoted != master
        # Publishing works again on the new master.
        assert [n for n in stream.published if n > failed_over_at]
        assert subscriber.connected and publisher.connected
        # Never a duplicate, never out of order, over the whole run.
        assert witness.received == sorted(set(witness.received))
        # Everything published after the resubscription arrived, in order. (Before it, some
        # may be lost: at most once; the room repairs from the store when told resumed().)
        last = witness.received[-1]
        after = [n for n in stream.published if witness.resumed_at <= n <= last]
        assert [n for n in witness.received if n >= witness.resumed_at] == after


async def pair(
    stack: AsyncExitStack, cluster: RedisCluster, prefix: str
) -> tuple[RedisClusterBus, RedisClusterBus, Witness]:
    """Two started buses, a publisher and a subscriber, and a witness subscribed to CHANNEL
    through the second."""
    publisher, subscriber = bus(cluster, prefix), bus(cluster, prefix)
    for each in (publisher, subscriber):
        stack.push_async_callback(each.close)
        await each.start()
    witness = Witness(Stream(publisher))
    await subscriber.subscribe(CHANNEL, witness)
    return publisher, subscriber, witness


async def test_slot_migration_moves_the_subscription(cluster: RedisCluster) -> None:
    """Resharding moves the thread channel's slot to another master: the old one unsubscribes
    the bus (a pushed SUNSUBSCRIBE), which subscribes on the new owner and calls resumed()."""
    prefix = f"test-{uuid.uuid4().hex}:"
    name = channel_name(prefix, CHANNEL)
    source = cluster.owner(name)
    target = next(port for port in cluster.masters() if port != source)
    async with AsyncExitStack() as stack:
        publisher, subscriber, witness = await pair(stack, cluster, prefix)
        assert await publisher.publish(CHANNEL, b"1")
        await witness.received_beyond(1)

        await asyncio.to_thread(cluster.migrate, name, target)
        async with asyncio.timeout(WAIT):
            await witness.was_resumed.wait()
        assert subscriber.connected
        # The publisher's map is stale: MOVED, a refresh, and the retry succeeds.
        assert await publisher.publish(CHANNEL, b"2")
        await witness.received_beyond(2)
        assert witness.received == [1, 2]
        probe = cluster.client(target)
        try:
            assert probe.pubsub_shardnumsub(name) == [(name.encode(), 1)]
        finally:
            probe.close()


async def test_an_open_migration_keeps_the_channel_on_its_source(cluster: RedisCluster) -> None:
    """While the channel's slot is half moved (MIGRATING on its owner, IMPORTING on the target),
    every publish succeeds first time and arrives, with no resubscription: Redis serves sharded
    pub/sub on the source until the slot changes owner, never answering ASK; finishing the move
    then moves the subscription as a plain migration does."""
    prefix = f"test-{uuid.uuid4().hex}:"
    name = channel_name(prefix, CHANNEL)
    source = cluster.owner(name)
    target = next(port for port in cluster.masters() if port != source)
    async with AsyncExitStack() as stack:
        publisher, subscriber, witness = await pair(stack, cluster, prefix)

        await asyncio.to_thread(cluster.open_migration, name, target)
        with cluster.client(source) as probe, pytest.raises(AskError):
            probe.execute_command("GET", name)  # a key in that slot is redirected...
        for number in range(1, 21):  # ...its channel is not
            assert await publisher.publish(CHANNEL, str(number).encode())
        await witness.received_beyond(20)
        assert witness.received == list(range(1, 21))
        assert not witness.was_resumed.is_set() and subscriber.connected
        assert cluster.owner(name) == source

        await asyncio.to_thread(cluster.finish_migration, name, target)
        async with asyncio.timeout(WAIT):
            await witness.was_resumed.wait()
        assert await publisher.publish(CHANNEL, b"21")
        await witness.received_beyond(21)
        assert witness.received == list(range(1, 22))
        assert cluster.owner(name) == target


# -- the URL ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "nodes"),
    [
        ("redis+cluster://127.0.0.1:7000", [("127.0.0.1", 7000)]),
        ("redis+cluster://a:7000,b:7001, c:7002/", [("a", 7000), ("b", 7001), ("c", 7002)]),
        ("REDIS+CLUSTER://a:7000,a:7000/0", [("a", 7000)]),
        ("redis+cluster://user:p%40ss@a:7000,[::1]:7001", [("a", 7000), ("::1", 7001)]),
    ],
)
def test_cluster_nodes_parses_the_seed_nodes(url: str, nodes: list[tuple[str, int]]) -> None:
    assert cluster_nodes(url) == nodes


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis://127.0.0.1:6379/0", "starts with redis+cluster://"),
        ("redis+cluster://", "names no node"),
        ("redis+cluster://a:7000,,b:7001", "empty node"),
        ("redis+cluster://a", "has no port"),
        ("redis+cluster://:7000", "has no host"),
        ("redis+cluster://a:0", "from 1 to 65535"),
        ("redis+cluster://a:port", "from 1 to 65535"),
        ("redis+cluster://::1:7000", "IPv6"),
        ("redis+cluster://a:7000/1", "only database 0"),
        ("redis+cluster://a:7000?timeout=1", "no query string"),
    ],
)
def test_cluster_nodes_names_what_is_wrong(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        cluster_nodes(url)


def test_credentials_come_from_the_user_info() -> None:
    assert credentials("redis+cluster://a:7000") == (None, None)
    assert credentials("redis+cluster://:s%2Fcret@a:7000") == (None, "s/cret")
    assert credentials("redis+cluster://me:pw@a:7000,b:7001") == ("me", "pw")


def test_a_prefix_with_a_hash_tag_is_refused() -> None:
    with pytest.raises(ValueError, match="braces"):
        RedisClusterBus("redis+cluster://a:7000", prefix="{app}:")
