"""A hung Redis never holds up a post's answer nor a new reader's hello (server/outbox.py and
the hub's join), and readers still get every event, through the event log's tail."""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AsyncExitStack

import httpx
import pytest

from server.adapters.memory_bus import MemoryBus
from server.bus import Bus, Listener
from server.outbox import Outbox
from server.settings import Settings
from tests.support.clients import WAIT, comment_json, provision, reader
from tests.support.redis_server import RedisServer
from tests.support.server import serve
from tests.support.waiting import eventually

SITE, THREAD = "news", "article-1"


class HeldBus(MemoryBus):
    """The in-process bus, whose publishing waits at a gate the test opens, or fails."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.published: list[tuple[str, bytes]] = []
        self.asked: list[tuple[str, bytes]] = []  # handed to the bus, published or not yet
        self.failures = 0
        self.failed = asyncio.Event()

    async def publish_all(self, messages: Sequence[tuple[str, bytes]]) -> bool:
        if self.failures:
            self.failures -= 1
            self.failed.set()
            raise RuntimeError("publisher bug")
        self.asked.extend(messages)
        await self.gate.wait()
        self.published.extend(messages)
        return await super().publish_all(messages)


def _conforms(outbox: Outbox, listener: Collected) -> tuple[Bus, Listener]:
    # Never called: mypy proves here that the outbox satisfies the port.
    return outbox, listener


class Collected:
    """A listener that records payloads and signals when it has `count` of them."""

    def __init__(self, count: int) -> None:
        self.payloads: list[bytes] = []
        self.count = count
        self.done = asyncio.Event()

    def deliver(self, payload: bytes) -> None:
        self.payloads.append(payload)
        if len(self.payloads) >= self.count:
            self.done.set()

    def resumed(self) -> None:
        pass


async def test_publishing_returns_at_once_and_delivers_in_order_later() -> None:
    """While the bus cannot publish, publish_all returns at once; once it can, every message
    goes out, in order."""
    inner = HeldBus()
    outbox = Outbox(inner)
    await outbox.start()
    try:
        listener = Collected(20)
        await outbox.subscribe("c", listener)
        async with asyncio.timeout(0.5):
            for n in range(20):
                assert await outbox.publish("c", str(n).encode())
        assert listener.payloads == []
        inner.gate.set()
        async with asyncio.timeout(WAIT):
            await listener.done.wait()
        assert listener.payloads == [str(n).encode() for n in range(20)]
    finally:
        await outbox.close()


async def test_an_idle_outbox_hands_the_messages_to_the_bus_before_the_caller_goes_on() -> None:
    """Once publish_all returns, an idle outbox's task has already handed the messages to the
    bus: a post's event leaves before its answer, not after."""
    inner = HeldBus()
    outbox = Outbox(inner)
    await outbox.start()
    try:
        async with asyncio.timeout(WAIT):
            await outbox.publish_all((("c", b"1"), ("d", b"2")))
        assert inner.asked == [("c", b"1"), ("d", b"2")]
        inner.gate.set()
    finally:
        await outbox.close()


async def test_a_queued_wake_up_makes_the_next_for_its_channel_redundant() -> None:
    """Empty messages (wake-ups) are sent once per channel while one is still queued; events
    all go out, in order; wake-ups asked for just after one went out are deferred into one,
    which still goes out."""
    inner = HeldBus()
    outbox = Outbox(inner, wake_interval=0.05)
    await outbox.start()
    try:
        for n in range(5):
            await outbox.publish_all((("thread", str(n).encode()), ("log", b"")))
        await outbox.publish("other", b"")
        inner.gate.set()
        sent = [("thread", str(n).encode()) for n in range(5)]
        expected = [sent[0], ("log", b""), *sent[1:], ("other", b"")]
        # The outbox's own task drains the queue and announces nothing: polled.
        await eventually(lambda: inner.published == expected)
        for _ in range(5):
            await outbox.publish("log", b"")
        await outbox.publish("thread", b"5")  # an event is never deferred
        await eventually(lambda: ("log", b"") in inner.published[len(expected) :])
        assert inner.published[len(expected) :] == [("thread", b"5"), ("log", b"")]
    finally:
        await outbox.close()


async def test_a_full_queue_drops_the_oldest_and_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Past its limit the queue drops its oldest messages, counts them, and logs the burst once;
    the newest still go out."""
    inner = HeldBus()
    outbox = Outbox(inner, limit=10)
    await outbox.start()
    try:
        listener = Collected(10)
        await outbox.subscribe("c", listener)
        with caplog.at_level(logging.WARNING, logger="server.outbox"):
            for n in range(100):
                await outbox.publish("c", str(n).encode())
            assert outbox.queued == 10
            starts = [r for r in caplog.records if "dropping the oldest" in r.getMessage()]
            assert len(starts) == 1
            inner.gate.set()
            async with asyncio.timeout(WAIT):
                await listener.done.wait()
        assert listener.payloads[-10:] == [str(n).encode() for n in range(90, 100)]
        assert outbox.dropped == 100 - len(listener.payloads)
    finally:
        await outbox.close()


async def test_a_failing_publisher_is_logged_and_restarted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The publishing task that raises is logged and started again: later messages go out."""
    inner = HeldBus()
    inner.failures = 1
    inner.gate.set()
    outbox = Outbox(inner)
    await outbox.start()
    try:
        listener = Collected(1)
        await outbox.subscribe("c", listener)
        with caplog.at_level(logging.ERROR, logger="server.outbox"):
            await outbox.publish("c", b"lost to the bug")
            async with asyncio.timeout(WAIT):
                await inner.failed.wait()
            await outbox.publish("c", b"after")
            async with asyncio.timeout(WAIT):
                await listener.done.wait()
        assert listener.payloads == [b"after"]
        assert any("restarting" in r.getMessage() for r in caplog.records)
    finally:
        await outbox.close()


async def test_close_sends_what_is_queued() -> None:
    """Closing the outbox first hands over what is still queued."""
    inner = HeldBus()
    inner.gate.set()
    outbox = Outbox(inner)
    await outbox.start()
    for n in range(5):
        await outbox.publish("c", str(n).encode())
    await outbox.close()
    assert inner.published == [("c", str(n).encode()) for n in range(5)]


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as running:
        yield running


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


@pytest.mark.timeout(90)
async def test_with_redis_stopped_posts_answer_quickly_and_readers_get_everything(
    settings: Settings, redis_server: RedisServer
) -> None:
    """With the server's Redis SIGSTOPped, 20 posts answer as fast as with Redis running (p99
    within 2x, or 200 ms), readers get every event in order through the log tail, the first
    reader of a new thread gets its hello at once, and after SIGCONT everything continues."""
    with_redis = settings.replace(redis=redis_server.url, bus_prefix=f"t-{uuid.uuid4().hex}:")
    await provision(with_redis)
    async with (
        serve(with_redis) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
        AsyncExitStack() as stack,
    ):
        readers = [
            await stack.enter_async_context(reader(running.ws(SITE, THREAD))) for _ in range(3)
        ]

        async def timed_posts(count: int, thread: str = THREAD) -> list[float]:
            took = []
            for n in range(count):
                started = time.monotonic()
                answer = await http.post(
                    "/api/v1/comments", json=comment_json(body=f"#{n}", thread=thread)
                )
                took.append(time.monotonic() - started)
                assert answer.status_code == 201
            return took

        normal = await timed_posts(20)
        for r in readers:
            assert [e.seq for e in await r.events(20)] == list(range(1, 21))
        redis_server.pause()
        try:
            stopped = await timed_posts(20)
            for r in readers:
                assert [e.seq for e in await r.events(20)] == list(range(21, 41))
            started = time.monotonic()
            async with reader(running.ws(SITE, "a-new-thread")):
                hello = time.monotonic() - started
        finally:
            redis_server.resume()
        after = await timed_posts(5)
        for r in readers:
            assert [e.seq for e in await r.events(5)] == list(range(41, 46))
    print(
        f"\npost answer p50/p99 with Redis running {statistics.median(normal) * 1000:.1f}/"
        f"{_p99(normal) * 1000:.1f} ms, SIGSTOPped {statistics.median(stopped) * 1000:.1f}/"
        f"{_p99(stopped) * 1000:.1f} ms, after SIGCONT {statistics.median(after) * 1000:.1f} ms; "
        f"a new thread's hello with Redis stopped in {hello * 1000:.0f} ms"
    )
    assert _p99(stopped) <= max(2 * _p99(normal), 0.2)
    assert hello < 1.0
