"""A client gets a bounded time to send its request head and body (server/web/timeouts.py)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from server.settings import Settings, SettingsError
from tests.support.clients import WAIT, comment_json, provision
from tests.support.server import serve, serve_process
from tests.support.waiting import eventually

HEAD, BODY = 1.0, 1.0
# The server's timers fire on its event loop, shared with this test's 120 clients.
SLACK = 2.0


async def _until_closed(port: int, sent: bytes) -> tuple[bytes, float]:
    """Open a connection, send `sent`, read until the server closes it: (what came, seconds)."""
    started = time.monotonic()
    stream, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(sent)
        await writer.drain()
        async with asyncio.timeout(HEAD + BODY + SLACK + 5):
            answer = await stream.read()
        return answer, time.monotonic() - started
    finally:
        writer.close()


@pytest.mark.timeout(60)
async def test_stalled_heads_and_bodies_are_answered_408_and_closed(settings: Settings) -> None:
    """50 half request lines, 50 half websocket handshakes and 20 stalled POST bodies all get
    a 408 and are closed by the server within their timeout, while a whole request is served."""
    quick = settings.replace(header_timeout=HEAD, body_timeout=BODY)
    await provision(quick)
    async with serve(quick) as running:
        port = running.port
        half_line = b"GET /api/v1/threads?site=news&thr"
        half_handshake = (
            b"GET /ws/v1/threads?site=news&thread=article-1 HTTP/1.1\r\n"
            b"Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        )
        stalled_body = (
            b"POST /api/v1/comments HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 200\r\n\r\n"
            b'{"site": "news", '
        )
        kinds = [(half_line, HEAD)] * 50 + [(half_handshake, HEAD)] * 50
        kinds += [(stalled_body, BODY)] * 20
        results = await asyncio.gather(*(_until_closed(port, sent) for sent, _ in kinds))
        for (answer, took), (_, limit) in zip(results, kinds, strict=True):
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
            assert limit - 0.1 <= took <= limit + SLACK, took
        async with httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http:
            assert (await http.post("/api/v1/comments", json=comment_json())).status_code == 201
        slowest = max(took for _, took in results)
        print(f"\n120 stalled requests closed; the last {slowest:.2f} s after it connected")


async def test_a_kept_alive_connection_gets_a_new_head_deadline_per_request(
    settings: Settings,
) -> None:
    """A second request that stalls mid-head on a kept-alive connection is closed too, after
    a first request was answered on it."""
    quick = settings.replace(header_timeout=HEAD, body_timeout=BODY)
    await provision(quick)
    async with serve(quick) as running:
        first = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        answer, took = await _until_closed(running.port, first + b"GET /healthz HTTP/1.1\r\nHo")
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:80]
        assert b"HTTP/1.1 408 " in answer, answer
        assert took <= HEAD + SLACK


@pytest.mark.timeout(60)
async def test_a_client_leaving_mid_body_logs_one_line_not_a_traceback(tmp_path: Path) -> None:
    """A POST whose client disconnects halfway through its body leaves one log line and no
    traceback in a real server's log."""
    database = f"sqlite:///{tmp_path / 'mid.db'}"
    await provision(Settings(database=database))
    async with serve_process("--database", database) as server:
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            b"POST /api/v1/comments HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 200\r\n\r\n"
            b'{"site": "news", '
        )
        await writer.drain()
        writer.close()

        def logged() -> bool:
            return any(
                b"client left before sending its whole request" in line for line in server.log
            )

        # Polling: the server's log is the only sign that it noticed.
        await eventually(logged)
    text = b"".join(server.log).decode(errors="replace")
    assert "Traceback" not in text, text
    assert text.count("client left before sending its whole request") == 1, text


@pytest.mark.parametrize(
    "name", ["HEADER_TIMEOUT", "BODY_TIMEOUT", "SLOW_CLOSE_TIMEOUT", "SHUTDOWN_TIMEOUT"]
)
def test_a_timeout_of_zero_or_less_is_refused(name: str) -> None:
    """Each of the connection timeouts must be more than 0, naming the variable."""
    with pytest.raises(SettingsError, match=f"LIVETHREAD_{name} must be more than 0"):
        Settings.from_environ({f"LIVETHREAD_{name}": "0"})
