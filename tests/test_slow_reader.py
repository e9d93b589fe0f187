"""A reader that stops reading is closed with 4008 and does not hold up anyone else."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct

import httpx
import pytest

from server.settings import Settings
from tests.support.clients import WAIT, comment_json, provision, reader
from tests.support.server import serve

SITE, THREAD = "news", "article-1"
# Links render to about three times their source length, so each frame is about 15 kB.
BIG_BODY = "[a](https://example.com/) " * 190


def _stalled_socket(port: int) -> socket.socket:
    """A websocket handshake done by hand on a socket with a tiny receive buffer, never read."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(WAIT)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws/v1/threads?site={SITE}&thread={THREAD} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(1)
    assert answer.startswith(b"HTTP/1.1 101")
    return sock


def _close_code(sock: socket.socket) -> int | None:
    """Read the stalled socket until the server's close frame; return its code."""
    data = b""
    while True:
        while len(data) >= 2:
            opcode, length = data[0] & 0x0F, data[1] & 0x7F
            offset = 2
            if length == 126:
                if len(data) < 4:
                    break
                (length,) = struct.unpack(">H", data[2:4])
                offset = 4
            elif length == 127:
                if len(data) < 10:
                    break
                (length,) = struct.unpack(">Q", data[2:10])
                offset = 10
            if len(data) < offset + length:
                break
            if opcode == 0x8:
                (code,) = struct.unpack(">H", data[offset : offset + 2])
                return int(code)
            data = data[offset + length :]
        chunk = sock.recv(1 << 20)
        if not chunk:
            return None
        data += chunk


@pytest.mark.timeout(60)
async def test_stalled_reader_is_closed_with_4008_others_get_everything(settings: Settings) -> None:
    """A socket that never reads overflows its bounded inbox and is closed with 4008, while a
    reading socket on the same thread receives every event."""
    small = settings.replace(socket_inbox=8)
    await provision(small)
    async with serve(small) as running:
        stalled = await asyncio.to_thread(_stalled_socket, running.port)
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
            assert await asyncio.to_thread(_close_code, stalled) == 4008
        finally:
            stalled.close()
