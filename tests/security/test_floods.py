"""Floods: with rate limits on, posts beyond a rate (per address, per thread, per site) are 429
with Retry-After and store nothing, sockets beyond the connection rate or the open-socket cap get
an `error` frame and close 4029, other addresses and readers are unaffected, and
LIVETHREAD_RATE_LIMIT=0 turns every limit off.

Client addresses come from the loopback range: a client bound to 127.0.0.2 is another address
to the server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import cast

import httpx
import pytest
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server import events
from server.model import ThreadKey
from server.settings import Settings
from server.threads.hub import Hub
from tests.support.clients import WAIT, Reader, comment_json, decode_json, provision
from tests.support.server import Running, serve, serve_process
from tests.support.waiting import eventually

SITE, THREAD = "news", "article-1"
HOME, ELSEWHERE, BYSTANDER = "127.0.0.1", "127.0.0.2", "127.0.0.3"


@asynccontextmanager
async def limited(settings: Settings, **rates: object) -> AsyncIterator[Running]:
    """A server with rate limits on (and any rates given)."""
    on = settings.replace(rate_limit=True, **rates)
    await provision(on)
    async with serve(on) as running:
        yield running


@asynccontextmanager
async def client(running: Running, address: str = HOME) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client whose connections come from `address`."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=running.http, transport=transport, timeout=WAIT) as c:
        yield c


async def open_socket(url: str, address: str = HOME) -> ClientConnection:
    return await connect(url, open_timeout=WAIT, close_timeout=2, local_addr=(address, 0))


@asynccontextmanager
async def reader_from(url: str, address: str) -> AsyncIterator[Reader]:
    """A connected reader, from `address`, whose hello has been read."""
    ws = await open_socket(url, address)
    try:
        r = Reader(ws)
        await r.expect(events.Hello)
        yield r
    finally:
        await ws.close()


def hub_of(running: Running) -> Hub:
    hub = cast(Starlette, running.app).state.hub
    assert isinstance(hub, Hub)
    return hub


async def post(http: httpx.AsyncClient, thread: str = THREAD, **headers: str) -> httpx.Response:
    return await http.post(
        "/api/v1/comments", json=comment_json(body="me again", thread=thread), headers=headers
    )


def assert_limited(answer: httpx.Response) -> None:
    """429, with Retry-After in whole seconds (at least 1) and the API's JSON error."""
    assert answer.status_code == 429, answer.text
    retry = answer.headers["retry-after"]
    assert retry.isdigit() and int(retry) >= 1, retry
    error = decode_json(answer.content)
    assert error["error"] == "rate_limited" and isinstance(error["message"], str)


async def state(http: httpx.AsyncClient, thread: str = THREAD) -> tuple[int, int]:
    """The thread's (seq, count)."""
    answer = await http.get("/api/v1/threads", params={"site": SITE, "thread": thread})
    view = decode_json(answer.content)
    seq, count = view["seq"], view["count"]
    assert isinstance(seq, int) and isinstance(count, int)
    return seq, count


async def expect_refused_socket(url: str, address: str = HOME) -> None:
    """The socket opens, then gets an `error` frame (rate_limited) and close 4029."""
    async with await open_socket(url, address) as ws:
        frame = events.decode_frame(await asyncio.wait_for(ws.recv(), WAIT))
        assert isinstance(frame, events.Error) and frame.code == "rate_limited", frame
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), WAIT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4029


async def test_sixth_post_from_one_address_in_a_minute_is_429(settings: Settings) -> None:
    """The 6th post a minute from one address is 429 + Retry-After; stored and sent: nothing."""
    async with (
        limited(settings) as running,
        client(running) as http,
        client(running, ELSEWHERE) as other,
        reader_from(running.ws(SITE, THREAD), BYSTANDER) as r,
    ):
        for n in range(5):
            assert (await post(http, thread=THREAD if n % 2 else "article-2")).status_code == 201
        assert_limited(await post(http))
        assert_limited(await post(http, thread="article-3"))  # per address, not per thread
        limited_key = await post(http, **{"Idempotency-Key": "flood-1"})
        assert_limited(limited_key)
        assert await state(http) == (2, 2)
        assert await state(http, "article-3") == (0, 0)
        seqs = [e.seq for e in await r.events(2)]
        assert seqs == [1, 2]
        # Another address still posts, and its post is the reader's next event: the refused
        # ones were never broadcast. The refused key was not remembered either.
        fresh = await post(other, **{"Idempotency-Key": "flood-1"})
        assert fresh.status_code == 201, fresh.text
        (event,) = await r.events(1)
        assert isinstance(event, events.CommentCreated)
        assert event.seq == 3 and event.comment.id == decode_json(fresh.content)["comment"]["id"]  # type: ignore[index]


async def test_thread_limit_holds_one_thread_only(settings: Settings) -> None:
    """With post_rate_thread 3/60 the 4th post to a thread is 429; other threads still post."""
    async with (
        limited(settings, post_rate_thread="3/60", post_rate_address="1000/60") as running,
        client(running) as http,
        client(running, ELSEWHERE) as other,
        reader_from(running.ws(SITE, THREAD), BYSTANDER) as r,
    ):
        for _ in range(3):
            assert (await post(http)).status_code == 201
        assert_limited(await post(http))
        assert_limited(await post(other))  # any address: the thread is what is limited
        assert await state(http) == (3, 3)
        assert [e.seq for e in await r.events(3)] == [1, 2, 3]
        for _ in range(3):
            assert (await post(http, thread="article-2")).status_code == 201
        with pytest.raises(TimeoutError):
            await r.frame(within=0.3)


async def test_site_limit_holds_one_site_only(settings: Settings) -> None:
    """With post_rate_site 3/60 the 4th post on the site is 429, whatever the thread."""
    async with (
        limited(settings, post_rate_site="3/60", post_rate_address="1000/60") as running,
        client(running) as http,
        client(running, ELSEWHERE) as other,
        reader_from(running.ws(SITE, THREAD), BYSTANDER) as r,
    ):
        for thread in ("article-2", "article-3", THREAD):
            assert (await post(http, thread=thread)).status_code == 201
        assert_limited(await post(http))
        assert_limited(await post(other, thread="article-4"))
        assert await state(http) == (1, 1)
        assert await state(http, "article-4") == (0, 0)
        (event,) = await r.events(1)
        assert event.seq == 1
        with pytest.raises(TimeoutError):
            await r.frame(within=0.3)
        # Another site keeps its own budget.
        elsewhere = comment_json()
        elsewhere["site"] = "other"
        assert (await http.post("/api/v1/comments", json=elsewhere)).status_code == 201


async def test_connections_beyond_the_connect_rate_close_with_4029(settings: Settings) -> None:
    """With connect_rate_address 5/60 the 6th new socket from one address gets error + 4029."""
    async with limited(settings, connect_rate_address="5/60") as running:
        url = running.ws(SITE, THREAD)
        hub = hub_of(running)
        async with reader_from(url, BYSTANDER) as bystander, AsyncExitStack() as stack:
            for _ in range(5):
                await stack.enter_async_context(reader_from(url, HOME))
            assert hub.readers(ThreadKey(SITE, THREAD)) == 6
            await expect_refused_socket(url)
            # Closing sockets does not give new ones back: it is a rate of new connections.
            await stack.aclose()
            await expect_refused_socket(url)
            assert hub.readers(ThreadKey(SITE, THREAD)) == 1
            # Other addresses connect, and the bystander saw none of it.
            async with reader_from(url, ELSEWHERE):
                pass
            with pytest.raises(TimeoutError):
                await bystander.frame(within=0.3)


async def test_open_sockets_beyond_the_cap_close_with_4029(settings: Settings) -> None:
    """With sockets_per_address 3 a 4th open socket gets error + 4029; closing one frees a place."""
    async with limited(settings, sockets_per_address=3) as running:
        url = running.ws(SITE, THREAD)
        hub = hub_of(running)
        async with AsyncExitStack() as stack:
            held = [await stack.enter_async_context(reader_from(url, HOME)) for _ in range(3)]
            await expect_refused_socket(url)
            assert hub.readers(ThreadKey(SITE, THREAD)) == 3
            async with reader_from(url, ELSEWHERE):  # another address has its own places
                assert hub.readers(ThreadKey(SITE, THREAD)) == 4
            await held[0].ws.close()
            # The server frees the place when its handler sees the close: poll the hub (which
            # drops the member just before the place is given back, with no await in between).
            await eventually(lambda: hub.readers(ThreadKey(SITE, THREAD)) == 2)
            async with reader_from(url, HOME) as again:
                assert hub.readers(ThreadKey(SITE, THREAD)) == 3
                await expect_refused_socket(url)  # full again
                async with client(running, ELSEWHERE) as http:
                    assert (await post(http)).status_code == 201
                (event,) = await again.events(1)
                assert event.seq == 1


async def test_rate_limit_zero_turns_every_limit_off() -> None:
    """LIVETHREAD_RATE_LIMIT=0 lifts every limit, however tight; =1 with them enforces them."""
    tight = {
        "LIVETHREAD_POST_RATE_ADDRESS": "1/60",
        "LIVETHREAD_POST_RATE_THREAD": "1/60",
        "LIVETHREAD_POST_RATE_SITE": "1/60",
        "LIVETHREAD_CONNECT_RATE_ADDRESS": "1/60",
        "LIVETHREAD_SOCKETS_PER_ADDRESS": "1",
    }
    with tempfile.TemporaryDirectory(prefix="livethread-floods-") as workdir:
        database = f"sqlite:///{Path(workdir) / 'floods.db'}"
        await provision(Settings(database=database))
        off = {**tight, "LIVETHREAD_RATE_LIMIT": "0"}
        async with (
            serve_process("--database", database, env=off) as proc,
            httpx.AsyncClient(base_url=proc.http, timeout=WAIT) as http,
            AsyncExitStack() as stack,
        ):
            answers = await asyncio.gather(*(post(http) for _ in range(30)))
            assert [a.status_code for a in answers] == [201] * 30
            sockets = [
                await stack.enter_async_context(reader_from(proc.ws(SITE, THREAD), HOME))
                for _ in range(10)
            ]
            assert (await post(http)).status_code == 201
            for s in sockets:
                (event,) = await s.events(1)
                assert event.seq == 31
        on = {**tight, "LIVETHREAD_RATE_LIMIT": "1"}
        async with (
            serve_process("--database", database, env=on) as proc,
            httpx.AsyncClient(base_url=proc.http, timeout=WAIT) as http,
            reader_from(proc.ws(SITE, THREAD), HOME),
        ):
            assert (await post(http)).status_code == 201
            assert_limited(await post(http))
            await expect_refused_socket(proc.ws(SITE, THREAD))
