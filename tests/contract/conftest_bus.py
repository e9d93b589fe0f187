"""Helpers of the Bus contract suite (test_bus.py): recording listeners, Redis probes, a slow link.

Not a conftest: test_bus.py imports what it uses, so nothing here reaches other suites.
"""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

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

    async def __aenter__(self) -> SlowUplink:
        self._server = await asyncio.start_server(self._handle, HOST, 0)
        self.url = f"redis://{HOST}:{self._server.sockets[0].getsockname()[1]}/0"
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


async def numsub(client: aioredis.Redis, name: str) -> int:
    [(_, count)] = await client.pubsub_numsub(name)
    return count


async def numsub_becomes(client: aioredis.Redis, name: str, expected: int) -> None:
    # Polling: unsubscribe() does not wait for Redis, and Redis signals nothing to a third party.
    async def reached() -> bool:
        return await numsub(client, name) == expected

    await eventually(reached)


async def subscribe_calls(client: aioredis.Redis) -> int:
    stats = await client.info("commandstats")
    return int(stats.get("cmdstat_subscribe", {}).get("calls", 0))
