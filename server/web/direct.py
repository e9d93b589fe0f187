"""One pre-built frame, written straight onto many sockets.

Server-to-client websocket frames are not masked, so the bytes of a frame are the same for every
reader of a thread: they are built once per event (with the `websockets` library's own framing)
and written to each socket's transport with no await, no task and no per-socket encoding.

uvicorn's websocket protocol does not expose its transport to the app, so `DirectProtocol`
(chosen in `uvicorn_options`) adds an ASGI scope extension, `livethread.direct`, holding a
`DirectWriter` for the connection. Apps on other servers simply do not get it and fall back to
`send_text`.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode

EXTENSION = "livethread.direct"


class DirectWriter:
    """Writes whole frames onto one accepted connection's transport."""

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol

    def write(self, frame: bytes) -> int | None:
        """Queue the frame; returns the bytes now buffered for this peer, or None if the
        connection is closing (nothing was written)."""
        protocol = self._protocol
        transport = protocol.transport
        if protocol.close_sent or transport.is_closing():
            return None
        transport.write(frame)
        return int(transport.get_write_buffer_size())


class DirectProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websocket protocol, plus the `livethread.direct` scope extension."""

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        # Only for plain connections: a negotiated extension (compression) would change the
        # bytes of every frame. The app task has not started yet, so it sees the extension.
        if scope is not None and not self.conn.extensions:
            scope["extensions"][EXTENSION] = {"writer": DirectWriter(self)}


def writer_of(scope: Any) -> DirectWriter | None:
    found = scope.get("extensions", {}).get(EXTENSION)
    writer = None if found is None else found.get("writer")
    return writer if isinstance(writer, DirectWriter) else None


class Framer:
    """The text frame (and text) of the event being fanned out, built once for all sockets.

    The hub hands every member the very same bytes object, so one cached entry suffices.
    """

    def __init__(self) -> None:
        self._payload: bytes | None = None
        self._frame = b""
        self._text = ""

    def frame(self, payload: bytes) -> bytes:
        if payload is not self._payload:
            self._remember(payload)
        return self._frame

    def text(self, payload: bytes) -> str:
        if payload is not self._payload:
            self._remember(payload)
        return self._text

    def _remember(self, payload: bytes) -> None:
        self._payload = payload
        self._frame = Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
        self._text = payload.decode()
