"""A websocket client made by hand, for peers no library would play: one that never reads, never
answers a ping, or sends bytes a library would refuse to send."""

from __future__ import annotations

import base64
import os
import socket
import struct

WAIT = 10.0


def handshake_request(port: int, site: str, thread: str) -> bytes:
    """The opening HTTP request of a websocket to a thread."""
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET /ws/v1/threads?site={site}&thread={thread} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def stalled_socket(port: int, site: str, thread: str, receive_buffer: int = 4096) -> socket.socket:
    """A websocket to a thread on a socket with a tiny receive buffer, never read by itself."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(WAIT)
    sock.connect(("127.0.0.1", port))
    sock.sendall(handshake_request(port, site, thread))
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError("the server closed the socket during its handshake")
        answer += chunk
    if not answer.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(f"handshake refused: {answer[:80]!r}")
    return sock


def close_code(sock: socket.socket) -> int | None:
    """Read server frames (never masked) until the close frame; its code (None at EOF)."""
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
