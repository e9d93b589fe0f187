"""Helpers of the Bus contract suite (test_bus.py): recording listeners, Redis probes (one server
or a cluster), a slow link.

Not a conftest: test_bus.py imports what it uses, so nothing here reaches other suites.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

import redis.asyncio as aioredis
from redis.crc import key_slot

from server.adapters.redis_cluster_nodes import channel_name
from tests.support.redis_cluster import RedisCluster
from tests.support.redis_server import HOST
from tests.support.waiting import eventually

WAIT = 10.0  # the bound on every wait of the suite, in seconds


class Recorder:
    """A listener that keeps what it receives and notes resumed()."""

    def __init__(self) -> None:
        self.messages: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1000)
        self.was_resumed = asyncio.Event()

    def deliver(self, payload: bytes) -> None:
        self.messages.put_nowait(payload)

    def resumed(self) -> None:
        self.was_resumed.set()

    async def next(self) -> bytes:
        async with asyncio.timeout(WAIT):
            return await self.messages.get()

    def pending(self) -> list[bytes]:
        """What arrived and was not taken by next() yet."""
        taken = []
        while not self.messages.empty():
            taken.append(self.messages.get_nowait())
        return taken


class Exploding(Recorder):
    """A listener whose deliver() fails after recording."""

    def deliver(self, payload: bytes) -> None:
        super().deliver(payload)
        raise RuntimeError("listener bug")


class SlowUplink:
    """A TCP proxy to Redis holding each client-to-server chunk for `delay` seconds."""

    def __init__(self, port: int, delay: float) -> None:
        self._target, self._delay = port, delay
        self._handlers: set[asyncio.Task[object]] = set()
        self.url = ""
        self.port = 0

    async def __aenter__(self) -> SlowUplink:
        self._server = await asyncio.start_server(self._handle, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        self.url = f"redis://{HOST}:{self.port}/0"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._server.close()
        for handler in self._handlers:
            handler.cancel()
        if self._handlers:
            await asyncio.wait(self._handlers)
        await self._server.wait_closed()

    async def _handle(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        try:
            upstream, to_server = await asyncio.open_connection(HOST, self._target)
            try:
                async with asyncio.TaskGroup() as pumps:
                    pumps.create_task(self._pump(client, to_server, self._delay))
                    pumps.create_task(self._pump(upstream, to_client, 0.0))
            finally:
                to_server.close()
        finally:
            to_client.close()
            self._handlers.discard(handler)

    @staticmethod
    async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter, delay: float) -> None:
        while data := await source.read(65536):
            await asyncio.sleep(delay)  # the simulated latency, not a synchronisation
            sink.write(data)
            await sink.drain()
        sink.close()


class Probe(Protocol):
    """Looks at Redis (one server or a cluster) from outside the bus, by bus channel name."""

    async def numsub(self, channel: str) -> int:
        """How many connections are subscribed to `channel` (on the node serving it)."""
        ...

    async def subscribe_calls(self) -> int:
        """How many (S)SUBSCRIBE commands Redis has run, all nodes together."""
        ...

    async def aclose(self) -> None: ...


async def numsub_becomes(probe: Probe, channel: str, expected: int) -> None:
    # Polling: unsubscribe() does not wait for Redis, and Redis signals nothing to a third party.
    async def reached() -> bool:
        return await probe.numsub(channel) == expected

    await eventually(reached)


class ServerProbe:
    """A plain client to one redis-server, for RedisBus (channel `c` is `prefix + c` there)."""

    def __init__(self, url: str, prefix: str) -> None:
        self.client = aioredis.Redis.from_url(url)
        self._prefix = prefix

    async def numsub(self, channel: str) -> int:
        [(_, count)] = await self.client.pubsub_numsub(self._prefix + channel)
        return count

    async def subscribe_calls(self) -> int:
        return await _calls(self.client, "subscribe")

    async def aclose(self) -> None:
        await self.client.aclose()


class ClusterProbe:
    """Plain clients to every node of a cluster, for RedisClusterBus (sharded pub/sub, channel
    `c` is `prefix{c}` there)."""

    def __init__(self, cluster: RedisCluster, prefix: str) -> None:
        self._cluster = cluster
        self._prefix = prefix
        self._clients = {port: aioredis.Redis(host=HOST, port=port) for port in cluster.ports}

    async def owner(self, channel: str) -> int:
        """The port of the master serving `channel` now."""
        slot = key_slot(channel_name(self._prefix, channel).encode())
        for port in self._cluster.running():
            try:
                client = self._clients[port]
                reply = await client.execute_command("CLUSTER SLOTS")  # type: ignore[no-untyped-call]
            except aioredis.RedisError:
                continue
            for first, last, master, *_ in reply:
                if int(first) <= slot <= int(last):
                    return int(master[1])
        raise AssertionError(f"no node of the cluster serves slot {slot}")

    async def numsub(self, channel: str) -> int:
        name = channel_name(self._prefix, channel)
        client = self._clients[await self.owner(channel)]
        [(_, count)] = await client.pubsub_shardnumsub(name)
        return int(count)

    async def subscribe_calls(self) -> int:
        ports = self._cluster.running()
        return sum([await _calls(self._clients[port], "ssubscribe") for port in ports])

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()


async def _calls(client: aioredis.Redis, command: str) -> int:
    stats = await client.info("commandstats")
    return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))


def name_on(cluster: RedisCluster, prefix: str, port: int, base: str) -> str:
    """A channel name starting with `base` whose slot the master on `port` serves."""
    for n in range(10_000):
        channel = f"{base}-{n}"
        if cluster.owner(channel_name(prefix, channel)) == port:
            return channel
    raise AssertionError(f"no channel {base}-N is served by {port}")
