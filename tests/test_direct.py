"""The fan-out path: one pre-built frame written straight to every socket's transport."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import httpx
from websockets.frames import Frame, Opcode

from server import events
from server.hub import Hub
from server.web.connection import DirectMember
from server.web.direct import Framer
from tests.support.clients import WAIT, comment_json, reader
from tests.support.server import Running
from tests.support.waiting import eventually

SITE, THREAD = "news", "article-1"


def _hub(server: Running) -> Hub:
    hub = server.app.state.hub  # type: ignore[attr-defined]
    assert isinstance(hub, Hub)
    return hub


def _socket_tasks() -> list[asyncio.Task[object]]:
    """The tasks uvicorn runs for websocket apps in this process (one per attached socket)."""
    return [
        t
        for t in asyncio.all_tasks()
        if getattr(t.get_coro(), "__qualname__", "") == "DirectProtocol.run_asgi"
    ]


async def _detached() -> None:
    """Wait for every socket's app task to end: each ends when its socket detaches."""
    tasks = _socket_tasks()
    if tasks:
        async with asyncio.timeout(WAIT):
            await asyncio.wait(tasks)


async def test_readers_on_uvicorn_use_the_direct_path(server: Running) -> None:
    """Sockets served by uvicorn get the transport writer: no writer task, same frames."""
    async with reader(server.ws(SITE, THREAD)) as a, reader(server.ws(SITE, THREAD)) as b:
        members = _hub(server).members(SITE, THREAD)
        assert len(members) == 2
        assert all(isinstance(m, DirectMember) for m in members)
        async with httpx.AsyncClient(base_url=server.http, timeout=WAIT) as http:
            answer = await http.post("/api/v1/comments", json=comment_json(body="direct"))
        assert answer.status_code == 201
        for r in (a, b):
            (event,) = await r.events(1)
            assert isinstance(event, events.CommentCreated)
            assert event.comment.html == "<p>direct</p>"


async def test_idle_readers_hold_no_task_and_leave_the_hub_when_they_close(
    server: Running,
) -> None:
    """Streaming readers are detached (no task each), still get events, and leave on close."""
    hub = _hub(server)
    async with AsyncExitStack() as stack:
        readers = [
            await stack.enter_async_context(reader(server.ws(SITE, THREAD))) for _ in range(20)
        ]
        await _detached()
        assert hub.readers(SITE, THREAD) == 20
        async with httpx.AsyncClient(base_url=server.http, timeout=WAIT) as http:
            answer = await http.post("/api/v1/comments", json=comment_json(body="detached"))
        assert answer.status_code == 201
        for r in readers:
            (event,) = await r.events(1)
            assert isinstance(event, events.CommentCreated)
        for r in readers[:10]:
            await r.ws.close()
        await eventually(lambda: hub.readers(SITE, THREAD) == 10)
    await eventually(lambda: hub.rooms() == 0)


async def test_a_detached_reader_that_talks_is_ignored_not_disconnected(server: Running) -> None:
    """Text and binary messages from a streaming reader are dropped; its events keep coming."""
    async with reader(server.ws(SITE, THREAD)) as chatty, reader(server.ws(SITE, THREAD)) as quiet:
        await _detached()
        for _ in range(200):
            await chatty.ws.send("hello?")
            await chatty.ws.send(b"\x00" * 1000)
        async with httpx.AsyncClient(base_url=server.http, timeout=WAIT) as http:
            answer = await http.post("/api/v1/comments", json=comment_json(body="still here"))
        assert answer.status_code == 201
        for r in (chatty, quiet):
            (event,) = await r.events(1)
            assert isinstance(event, events.CommentCreated)
        assert _hub(server).readers(SITE, THREAD) == 2


def test_framer_builds_each_event_once_and_matches_the_library() -> None:
    """The frame is the websockets library's own unmasked text frame, cached per payload."""
    framer = Framer()
    payload = b'{"type":"thread.locked","seq":1}' * 10
    first = framer.frame(payload)
    assert first == Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
    assert framer.frame(payload) is first
    assert framer.text(payload) == payload.decode()
    other = b"x" * 70000  # a 64-bit length header
    assert framer.frame(other)[:2] == b"\x81\x7f"
