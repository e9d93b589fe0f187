"""Two separate `livethread serve` processes on one Redis and one database deliver every event
to every reader, whichever process the writer and the reader use."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest

from server import events
from server.settings import Settings
from tests.support.clients import WAIT, Tokens, comment_json, decode_json, provision, reader
from tests.support.redis_server import RedisServer
from tests.support.server import ServerProcess, serve_process

SITE, THREAD = "news", "article-1"


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as running:
        yield running


@pytest.fixture
async def pair(
    tmp_path: Path, redis_server: RedisServer
) -> AsyncIterator[tuple[ServerProcess, ServerProcess, Tokens]]:
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    tokens = await provision(Settings(database=database))
    args = ("--database", database, "--redis", redis_server.url)
    env = {"LIVETHREAD_BUS_PREFIX": f"test-{uuid.uuid4().hex}:", "LIVETHREAD_LOG_LEVEL": "info"}
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(serve_process(*args, env=env))
        b = await stack.enter_async_context(serve_process(*args, env=env))
        yield a, b, tokens


@pytest.mark.timeout(60)
async def test_post_on_one_process_reaches_reader_on_the_other(
    pair: tuple[ServerProcess, ServerProcess, Tokens],
) -> None:
    """A socket on process A receives a post made through process B, and vice versa."""
    a, b, _ = pair
    async with (
        reader(a.ws(SITE, THREAD)) as on_a,
        reader(b.ws(SITE, THREAD)) as on_b,
        httpx.AsyncClient(timeout=WAIT) as http,
    ):
        through_b = await http.post(f"{b.http}/api/v1/comments", json=comment_json(body="via B"))
        assert through_b.status_code == 201
        through_a = await http.post(f"{a.http}/api/v1/comments", json=comment_json(body="via A"))
        assert through_a.status_code == 201
        for r in (on_a, on_b):
            got = await r.events(2)
            assert [e.seq for e in got] == [1, 2]
            bodies = [e.comment.html for e in got if isinstance(e, events.CommentCreated)]
            assert bodies == ["<p>via B</p>", "<p>via A</p>"]


@pytest.mark.timeout(60)
async def test_removal_through_one_process_reaches_reader_on_the_other(
    pair: tuple[ServerProcess, ServerProcess, Tokens],
) -> None:
    """A moderator's removal made through A reaches a socket on B."""
    a, b, tokens = pair
    async with httpx.AsyncClient(timeout=WAIT) as http:
        posted = await http.post(f"{b.http}/api/v1/comments", json=comment_json(body="spam"))
        comment = decode_json(posted.content)["comment"]
        assert isinstance(comment, dict)
        async with reader(b.ws(SITE, THREAD, since=1)) as on_b:
            removed = await http.post(
                f"{a.http}/api/v1/comments/{comment['id']}/moderation",
                json={"action": "remove"},
                headers={"Authorization": f"Bearer {tokens.news}"},
            )
            assert removed.status_code == 200
            (event,) = await on_b.events(1)
            assert event == events.CommentRemoved(seq=2, id=str(comment["id"]))


@pytest.mark.timeout(60)
async def test_concurrent_posts_through_both_processes_arrive_in_seq_order(
    pair: tuple[ServerProcess, ServerProcess, Tokens],
) -> None:
    """Interleaved posts through both processes get distinct seqs and every reader sees 1..N."""
    a, b, _ = pair
    count = 40
    async with (
        reader(a.ws(SITE, THREAD)) as on_a,
        reader(b.ws(SITE, THREAD)) as on_b,
        httpx.AsyncClient(timeout=WAIT) as http,
    ):

        async def post(n: int) -> int:
            base = (a if n % 2 else b).http
            answer = await http.post(f"{base}/api/v1/comments", json=comment_json(body=f"#{n}"))
            return answer.status_code

        statuses = await asyncio.gather(*(post(n) for n in range(count)))
        assert statuses == [201] * count
        for r in (on_a, on_b):
            got = await r.events(count)
            assert [e.seq for e in got] == list(range(1, count + 1))


@pytest.mark.timeout(60)
async def test_reader_connections_are_not_logged_one_by_one(tmp_path: Path) -> None:
    """At the info level, with the access log off, a reader's connection leaves no line (none
    with the client's address, no "connection open" or "closed")."""
    database = f"sqlite:///{tmp_path / 'quiet.db'}"
    await provision(Settings(database=database))
    env = {"LIVETHREAD_LOG_LEVEL": "info"}
    async with serve_process("--database", database, env=env) as server:
        for _ in range(3):
            async with reader(server.ws(SITE, THREAD)):
                pass  # its hello came: the connection was open
    # The process has exited, so its whole log is in.
    log = b"".join(server.log).decode(errors="replace")
    assert "Application startup complete" in log  # info lines are written
    assert "connection open" not in log and "connection closed" not in log, log
    assert "WebSocket /ws/v1/threads" not in log  # uvicorn's "[accepted]" line, with the address
