"""The fan-out path: one pre-built frame written straight to every socket's transport."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Coroutine, Iterator
from contextlib import AsyncExitStack, contextmanager
from typing import Any

import httpx
from websockets.frames import Frame, Opcode

from server import events
from server.model import ThreadKey
from server.threads.hub import Hub
from server.web.connection import DirectMember
from server.web.direct import Framer
from tests.support.clients import WAIT, comment_json, reader
from tests.support.raw_websocket import handshake_request
from tests.support.server import Running
from tests.support.waiting import eventually

SITE, THREAD = "news", "article-1"
READERS = 50
# Tasks the server may start for a crowd of readers of one thread and keep (the thread's room
# may keep a few): far below one per reader, so a socket holding a task of its own fails.
TASK_SLACK = 3
AnyTask = asyncio.Task[Any]


def _hub(server: Running) -> Hub:
    hub = server.app.state.hub  # type: ignore[attr-defined]
    assert isinstance(hub, Hub)
    return hub


@contextmanager
def _tasks_started(qualname: str | None = None) -> Iterator[list[AnyTask]]:
    """Every task this loop starts while the block runs (only `qualname`'s coroutines if given).

    Recorded as they are created, so a socket whose app task has already ended still counts.
    """
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()
    started: list[AnyTask] = []

    def factory(
        loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
    ) -> asyncio.Future[Any]:
        task = (
            asyncio.Task(coro, loop=loop, **kwargs)
            if previous is None
            else previous(loop, coro, **kwargs)
        )
        named = getattr(coro, "__qualname__", "") == qualname
        if isinstance(task, asyncio.Task) and (qualname is None or named):
            started.append(task)
        return task

    loop.set_task_factory(factory)  # type: ignore[arg-type]
    try:
        yield started
    finally:
        loop.set_task_factory(previous)


@contextmanager
def _socket_tasks() -> Iterator[list[AnyTask]]:
    """The app tasks uvicorn starts for the websockets opened in the block (one per socket)."""
    with _tasks_started("DirectProtocol.run_asgi") as started:
        yield started


async def _detached(tasks: list[AnyTask], sockets: int) -> None:
    """Each of `sockets` sockets started an app task, and every one has ended (detached)."""
    assert len(tasks) == sockets, f"{len(tasks)} app tasks for {sockets} sockets"
    _, running = await asyncio.wait(tasks, timeout=WAIT)
    assert not running, f"{len(running)} of {sockets} sockets still hold their app task"


async def _still_running(tasks: list[AnyTask], allowed: int) -> set[AnyTask]:
    """Wait (bounded) until at most `allowed` of `tasks` still run; those still running."""
    running = set(tasks)
    try:
        async with asyncio.timeout(WAIT):
            while len(running) > allowed:
                _, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
    except TimeoutError:
        pass  # the caller asserts on those still running, which says more than a timeout
    return running


class RawReader:
    """A websocket reader over asyncio streams: unlike a client library, it runs no task."""

    def __init__(self, stream: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._stream = stream
        self._writer = writer

    @classmethod
    async def open(cls, server: Running, site: str, thread: str) -> RawReader:
        """Connect, upgrade, and read `hello`."""
        async with asyncio.timeout(WAIT):
            stream, writer = await asyncio.open_connection("127.0.0.1", server.port)
            opened = cls(stream, writer)
            writer.write(handshake_request(server.port, site, thread))
            answer = await stream.readuntil(b"\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 101"), answer[:80]
        assert isinstance(await opened.frame(), events.Hello)
        return opened

    async def frame(self) -> events.ServerFrame:
        """The next text frame, decoded (server frames are never masked)."""
        async with asyncio.timeout(WAIT):
            while True:
                head = await self._stream.readexactly(2)
                length = head[1] & 0x7F
                if length == 126:
                    (length,) = struct.unpack(">H", await self._stream.readexactly(2))
                elif length == 127:
                    (length,) = struct.unpack(">Q", await self._stream.readexactly(8))
                payload = await self._stream.readexactly(length)
                if head[0] & 0x0F == Opcode.TEXT:
                    return events.decode_frame(payload)

    async def aclose(self) -> None:
        self._writer.close()
        async with asyncio.timeout(WAIT):
            await self._writer.wait_closed()


async def test_readers_on_uvicorn_use_the_direct_path(server: Running) -> None:
    """Sockets served by uvicorn get the transport writer: no writer task, same frames."""
    async with reader(server.ws(SITE, THREAD)) as a, reader(server.ws(SITE, THREAD)) as b:
        members = _hub(server).members(ThreadKey(SITE, THREAD))
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
        with _socket_tasks() as tasks:
            readers = [
                await stack.enter_async_context(reader(server.ws(SITE, THREAD))) for _ in range(20)
            ]
        await _detached(tasks, 20)
        assert hub.readers(ThreadKey(SITE, THREAD)) == 20
        async with httpx.AsyncClient(base_url=server.http, timeout=WAIT) as http:
            answer = await http.post("/api/v1/comments", json=comment_json(body="detached"))
        assert answer.status_code == 201
        for r in readers:
            (event,) = await r.events(1)
            assert isinstance(event, events.CommentCreated)
        for r in readers[:10]:
            await r.ws.close()
        await eventually(lambda: hub.readers(ThreadKey(SITE, THREAD)) == 10)
    await eventually(lambda: hub.rooms() == 0)


async def test_idle_readers_add_no_task_to_the_server(server: Running) -> None:
    """Fifty idle readers leave the server's loop with no more tasks, and each still gets posts."""
    before = len(asyncio.all_tasks())
    readers: list[RawReader] = []
    try:
        with _tasks_started() as started:
            for _ in range(READERS):
                readers.append(await RawReader.open(server, SITE, THREAD))
        running = await _still_running(started, TASK_SLACK)
        assert len(running) <= TASK_SLACK, f"{READERS} readers keep {len(running)} tasks"
        assert len(asyncio.all_tasks()) <= before + TASK_SLACK
        assert _hub(server).readers(ThreadKey(SITE, THREAD)) == READERS
        async with httpx.AsyncClient(base_url=server.http, timeout=WAIT) as http:
            answer = await http.post("/api/v1/comments", json=comment_json(body="to all"))
        assert answer.status_code == 201
        for r in readers:
            event = await r.frame()
            assert isinstance(event, events.CommentCreated)
            assert event.comment.html == "<p>to all</p>"
    finally:
        for r in readers:
            await r.aclose()
    await eventually(lambda: _hub(server).rooms() == 0)


async def test_a_detached_reader_that_talks_is_ignored_not_disconnected(server: Running) -> None:
    """Text and binary messages from a streaming reader are dropped; its events keep coming."""
    async with AsyncExitStack() as stack:
        with _socket_tasks() as tasks:
            chatty = await stack.enter_async_context(reader(server.ws(SITE, THREAD)))
            quiet = await stack.enter_async_context(reader(server.ws(SITE, THREAD)))
        await _detached(tasks, 2)
        for _ in range(200):
            await chatty.ws.send("hello?")
            await chatty.ws.send(b"\x00" * 1000)
        async with httpx.AsyncClient(base_url=server.http, timeout=WAIT) as http:
            answer = await http.post("/api/v1/comments", json=comment_json(body="still here"))
        assert answer.status_code == 201
        for r in (chatty, quiet):
            (event,) = await r.events(1)
            assert isinstance(event, events.CommentCreated)
        assert _hub(server).readers(ThreadKey(SITE, THREAD)) == 2


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
