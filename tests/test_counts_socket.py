"""`WS /ws/v1/counts` (issue 17 item 5): index pages' live comment counts, on a real server;
across two processes on one Redis too."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from server import events
from server.model import Site, ThreadKey
from server.settings import Settings
from server.threads.counting import LiveCounts
from server.threads.hub import Hub
from server.web.app import store_for
from tests.support.clients import WAIT, Reader, Tokens, comment_json, provision, reader
from tests.support.redis_server import RedisServer
from tests.support.server import Running, ServerProcess, serve, serve_process
from tests.support.waiting import eventually

SITE = "news"


class Counts:
    """One counts socket: the counts it was sent first, then each frame that follows."""

    def __init__(self, ws: ClientConnection, first: dict[str, int]) -> None:
        self.ws = ws
        self.first = first

    async def next(self, within: float = WAIT) -> dict[str, int]:
        async with asyncio.timeout(within):
            frame = events.decode_frame(await self.ws.recv())
        assert isinstance(frame, events.Counts), frame
        return frame.counts

    async def until(self, thread: str, count: int) -> list[dict[str, int]]:
        """The frames up to the one that says `thread` has `count` comments."""
        seen: list[dict[str, int]] = []
        while not seen or seen[-1].get(thread) != count:
            seen.append(await self.next())
        return seen


def counts_url(port: int, threads: list[str], site: str = SITE) -> str:
    query = urlencode([("site", site), *(("thread", t) for t in threads)])
    return f"ws://127.0.0.1:{port}/ws/v1/counts?{query}"


@asynccontextmanager
async def counting(port: int, threads: list[str], site: str = SITE) -> AsyncIterator[Counts]:
    """A counts socket whose first frame (every thread's count) has been read."""
    async with asyncio.timeout(WAIT):
        ws = await connect(counts_url(port, threads, site), open_timeout=WAIT, close_timeout=2)
    try:
        async with asyncio.timeout(WAIT):
            first = events.decode_frame(await ws.recv())
        assert isinstance(first, events.Counts), first
        yield Counts(ws, first.counts)
    finally:
        async with asyncio.timeout(WAIT):
            await ws.close()


async def refused(url: str) -> tuple[events.ServerFrame, int | None]:
    """The `error` frame a refused socket is sent, and the code it is closed with."""
    async with asyncio.timeout(WAIT):
        async with connect(url, open_timeout=WAIT, close_timeout=2) as ws:
            frame = events.decode_frame(await ws.recv())
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
    received = closed.value.rcvd
    return frame, None if received is None else received.code


async def post(http: httpx.AsyncClient, thread: str, body: str = "A reply") -> dict[str, Any]:
    answer = await http.post("/api/v1/comments", json=comment_json(body, thread=thread))
    assert answer.status_code == 201, answer.text
    comment: dict[str, Any] = answer.json()["comment"]
    return comment


async def moderate(http: httpx.AsyncClient, token: str, comment_id: str, action: str) -> None:
    answer = await http.post(
        f"/api/v1/comments/{comment_id}/moderation",
        json={"action": action},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text


def _hub(server: Running) -> Hub:
    hub = server.app.state.hub  # type: ignore[attr-defined]
    assert isinstance(hub, Hub)
    return hub


def _counts(server: Running) -> LiveCounts:
    counts = server.app.state.counts  # type: ignore[attr-defined]
    assert isinstance(counts, LiveCounts)
    return counts


async def test_counts_start_whole_then_follow_posts_removals_and_restores_coalesced(
    server: Running, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    """The first frame has every thread's count; a burst of posts arrives as one frame naming
    only the changed thread; a removal and a restore move it down and back up."""
    await post(http, "a-1")
    await post(http, "a-1")
    async with counting(server.port, ["a-1", "a-2", "a-3"]) as page:
        assert page.first == {"a-1": 2, "a-2": 0, "a-3": 0}
        posted = await asyncio.gather(*(post(http, "a-2") for _ in range(3)))
        assert await page.next() == {"a-2": 3}
        await moderate(http, tokens.news, posted[0]["id"], "remove")
        assert await page.next() == {"a-2": 2}
        await moderate(http, tokens.news, posted[0]["id"], "restore")
        assert await page.next() == {"a-2": 3}


async def test_a_held_comment_counts_only_once_approved(
    settings: Settings, server: Running, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    """On a pre-moderated site two held posts move nothing; approving one moves the count by
    one."""
    store = store_for(settings)
    await store.open()
    try:
        await store.sites.put(Site(name=SITE, premoderate=True))
    finally:
        await store.close()
    async with counting(server.port, ["held"]) as page:
        assert page.first == {"held": 0}
        first = await post(http, "held", "Please approve me")
        await post(http, "held", "And me")
        assert first["status"] == "pending"
        await moderate(http, tokens.news, first["id"], "approve")
        assert await page.next() == {"held": 1}


async def test_too_many_threads_bad_ids_unknown_sites_and_origins_are_refused(
    server: Running,
) -> None:
    """201 threads, none, a malformed id and an unknown site get an `error` frame and 1008; 200
    threads are watched; a page on an origin the site does not list is refused (403)."""
    threads = [f"t-{n}" for n in range(201)]
    for url in (
        counts_url(server.port, threads),
        counts_url(server.port, []),
        counts_url(server.port, ["not an id!"]),
        counts_url(server.port, ["a-1"], site="nowhere"),
    ):
        frame, code = await refused(url)
        assert isinstance(frame, events.Error), frame
        assert code == 1008, url
    async with counting(server.port, threads[:200]) as page:
        assert page.first == dict.fromkeys(threads[:200], 0)
        assert _counts(server).watched() == 200
    with pytest.raises(InvalidStatus) as forbidden:
        async with asyncio.timeout(WAIT):
            await connect(
                counts_url(server.port, ["a-1"]),
                additional_headers={"Origin": "https://elsewhere.example"},
                open_timeout=WAIT,
            )
    assert forbidden.value.response.status_code == 403


async def test_two_sockets_on_overlapping_threads_each_get_their_own(
    server: Running, http: httpx.AsyncClient
) -> None:
    """A change reaches every socket watching its thread and no other; the service watches
    each thread once and forgets those nobody counts any more."""
    async with counting(server.port, ["t1", "t2"]) as a:
        async with counting(server.port, ["t2", "t3"]) as b:
            assert _counts(server).watched() == 3
            await post(http, "t2")
            assert await a.next() == {"t2": 1}
            assert await b.next() == {"t2": 1}
            await post(http, "t3")
            assert await b.next() == {"t3": 1}
            await post(http, "t1")
            # Had the t3 post reached `a`, it would come first.
            assert await a.next() == {"t1": 1}
        await eventually(lambda: _counts(server).watched() == 2)
        await post(http, "t2")
        assert await a.next() == {"t2": 2}
    await eventually(lambda: _counts(server).watched() == 0)


async def _presence(page: Reader) -> int:
    """The count of the next `presence` frame."""
    while True:
        frame = await page.frame()
        if isinstance(frame, events.Presence):
            return frame.count


async def test_presence_leaves_out_counts_and_no_room_outlives_its_readers(
    settings: Settings, tokens: Tokens
) -> None:
    """A counts socket on a read thread does not raise "N reading now"; once the counts socket
    closes, the hub keeps no room for a thread nobody reads."""
    fast = dataclasses.replace(settings, presence_interval=0.05)
    async with serve(fast) as server:
        hub = _hub(server)
        async with reader(server.ws(SITE, "read")) as first:
            assert await _presence(first) == 1
            async with counting(server.port, ["read", "unread"]) as page:
                assert page.first == {"read": 0, "unread": 0}
                assert hub.rooms() == 2
                async with reader(server.ws(SITE, "read")) as second:
                    assert await _presence(second) == 2
                    assert await _presence(first) == 2
                assert await _presence(first) == 1
            await eventually(lambda: hub.rooms() == 1)
            assert hub.readers(ThreadKey(SITE, "read")) == 1
        await eventually(lambda: hub.rooms() == 0)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as running:
        yield running


@pytest.fixture
async def pair(
    tmp_path: Path, redis_server: RedisServer
) -> AsyncIterator[tuple[ServerProcess, ServerProcess]]:
    """Two server processes on one SQLite file and one Redis."""
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    await provision(Settings(database=database))
    args = ("--database", database, "--redis", redis_server.url)
    env = {"LIVETHREAD_BUS_PREFIX": f"test-{uuid.uuid4().hex}:"}
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(serve_process(*args, env=env))
        b = await stack.enter_async_context(serve_process(*args, env=env))
        yield a, b


@pytest.mark.timeout(60)
async def test_a_post_on_one_process_moves_the_count_on_the_other(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    """A counts socket on one process is told of a post made through the other."""
    a, b = pair
    async with (
        counting(b.port, ["far", "near"]) as page,
        httpx.AsyncClient(base_url=a.http, timeout=WAIT) as http,
    ):
        assert page.first == {"far": 0, "near": 0}
        await post(http, "far")
        assert await page.next() == {"far": 1}
