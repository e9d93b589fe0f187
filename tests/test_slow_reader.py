"""A reader that stops reading is closed with 4008, does not hold up anyone else, and is
dropped (its unsent data discarded) when it does not take its close frame in time."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from server.model import ThreadKey
from server.moderation.rules import Rules
from server.settings import Settings
from server.threads.hub import Hub
from tests.support.clients import WAIT, comment_json, provision, reader
from tests.support.moderation import set_rules
from tests.support.raw_websocket import close_code, stalled_socket
from tests.support.server import serve, serve_process
from tests.support.waiting import eventually

SITE, THREAD = "news", "article-1"
# Links render to about three times their source length, so each frame is about 15 kB.
BIG_BODY = "[a](https://example.com/) " * 190


@pytest.mark.timeout(60)
async def test_stalled_reader_is_closed_with_4008_others_get_everything(settings: Settings) -> None:
    """A socket that never reads overflows its bounded inbox and is closed with 4008, while a
    reading socket on the same thread receives every event."""
    small = settings.replace(socket_inbox=8)
    await provision(small)
    # The big frames come from links; auto-moderation would hold so many links for review.
    await set_rules(small, SITE, Rules(links_max=1000))
    async with serve(small) as running:
        stalled = await asyncio.to_thread(stalled_socket, running.port, SITE, THREAD)
        try:
            async with (
                reader(running.ws(SITE, THREAD)) as healthy,
                httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
            ):
                posts = 300
                # The healthy reader keeps reading while the posts go out.
                received = asyncio.create_task(healthy.events(posts, within=45))
                for _ in range(posts):
                    answer = await http.post("/api/v1/comments", json=comment_json(body=BIG_BODY))
                    assert answer.status_code == 201
                got = await received
                assert [e.seq for e in got] == list(range(1, posts + 1))
            assert await asyncio.to_thread(close_code, stalled) == 4008
        finally:
            stalled.close()


def _limited(settings: Settings) -> Settings:
    """One socket per address, no post limits, a small socket buffer and a 1 s slow close."""
    return settings.replace(
        rate_limit=True,
        sockets_per_address=1,
        connect_rate_address="1000/60",
        post_rate_address="100000/60",
        post_rate_thread="100000/60",
        post_rate_site="100000/60",
        socket_buffer_bytes=65536,
        slow_close_timeout=SLOW_CLOSE,
    )


SLOW_CLOSE = 1.0
OPEN_RULES = Rules(links_max=1000, velocity_author=None, velocity_address=None, repeat_window=0)


@pytest.mark.timeout(90)
async def test_a_reader_that_never_reads_is_dropped_and_its_place_given_back(
    settings: Settings,
) -> None:
    """A reader with a 4 KB receive buffer that never reads is dropped within the slow-close
    time after its 4008 (its unsent data and all), and its place under a limit of one socket
    per address is given back: a new socket from the same address is accepted."""
    limited = _limited(settings)
    await provision(limited)
    await set_rules(limited, SITE, OPEN_RULES)
    async with serve(limited) as running:
        assert isinstance(running.app, Starlette)
        hub = running.app.state.hub
        assert isinstance(hub, Hub)
        stalled = await asyncio.to_thread(stalled_socket, running.port, SITE, THREAD)
        try:
            async with httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http:
                for _ in range(400):
                    answer = await http.post("/api/v1/comments", json=comment_json(body=BIG_BODY))
                    assert answer.status_code == 201
                    if any(
                        getattr(m, "overflowed", False)
                        for m in hub.members(ThreadKey(SITE, THREAD))
                    ):
                        break
                else:
                    raise AssertionError("the stalled reader never overflowed")
            overflowed = time.monotonic()
            # Polling: the server drops the socket with no sign a non-reading client can see.
            await eventually(
                lambda: hub.readers(ThreadKey(SITE, THREAD)) == 0, within=SLOW_CLOSE + 10
            )
            dropped = time.monotonic() - overflowed
            async with reader(running.ws(SITE, THREAD)):
                pass  # its hello came: accepted, not refused with 4029
        finally:
            stalled.close()
    print(f"\nstalled reader dropped {dropped:.2f} s after its 4008 (slow close {SLOW_CLOSE} s)")
    assert dropped <= SLOW_CLOSE + 1.0


@pytest.mark.timeout(90)
async def test_sigterm_with_a_reader_that_never_reads_exits_within_the_bound(
    tmp_path: Path,
) -> None:
    """SIGTERM to a real server holding megabytes unsent for a reader that never reads: the
    process exits 0 within the shutdown bound instead of waiting for the reader."""
    database = f"sqlite:///{tmp_path / 'stalled.db'}"
    await provision(Settings(database=database))
    await set_rules(Settings(database=database), SITE, OPEN_RULES)
    env = {
        # Never "too slow": everything stays queued for the stalled reader.
        "LIVETHREAD_SOCKET_BUFFER_BYTES": str(1 << 30),
        "LIVETHREAD_SLOW_CLOSE_TIMEOUT": "60",
        "LIVETHREAD_SHUTDOWN_TIMEOUT": "8",
    }
    async with serve_process("--database", database, env=env) as server:
        stalled = await asyncio.to_thread(stalled_socket, server.port, SITE, THREAD)
        try:
            async with httpx.AsyncClient(base_url=server.http, timeout=WAIT) as http:

                async def post(n: int) -> None:
                    for _ in range(n):
                        answer = await http.post(
                            "/api/v1/comments", json=comment_json(body=BIG_BODY)
                        )
                        assert answer.status_code == 201

                # About 6 MB of frames: more than the kernel's buffers hold for the reader.
                await asyncio.gather(*(post(50) for _ in range(8)))
            asked = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                code = await server.process.wait()
            took = time.monotonic() - asked
        finally:
            stalled.close()
    print(f"\nSIGTERM with a stalled reader: exited {code} after {took:.2f} s")
    assert code == 0
    assert took < 4.0
