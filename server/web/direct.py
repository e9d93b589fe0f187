"""One pre-built frame, written straight onto many sockets; idle sockets that need no task.

Server-to-client websocket frames are not masked, so the bytes of a frame are the same for every
reader of a thread: they are built once per event (with the `websockets` library's own framing)
and written to each socket's transport with no await, no task and no per-socket encoding.

uvicorn's websocket protocol does not expose its transport to the app, so `DirectProtocol`
(chosen in `uvicorn_options`) adds an ASGI scope extension, `livethread.direct`, holding a
`DirectWriter` for the connection. Apps on other servers simply do not get it and fall back to
`send_text`.

A reader never speaks after the handshake (v1 clients send nothing), so once its backlog is sent
the app *detaches* the socket: the protocol keeps the connection open after the app's task
returns, answers pings itself, drops anything the client sends, and calls the app back when the
connection is lost. An idle reader then costs no task, no coroutine frames of the ASGI stack and
no receive queue: that is most of a socket's memory (see bench/RESULTS.md, idle memory).

A peer that stops reading never takes what is buffered for it, so closing its transport
(which first waits for the buffer to drain) would hold the socket forever: once its close
handshake has had `slow_close` seconds, or at shutdown after `SHUTDOWN_DRAIN`, a transport
that still holds unsent bytes is aborted instead.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Any, cast

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode

from server import metrics
from server.web.closing import TOO_SLOW

EXTENSION = "livethread.direct"
# At shutdown, how long a socket with unsent bytes gets to take them and its 1012 close frame.
SHUTDOWN_DRAIN = 1.0
log = logging.getLogger(__name__)


class _Quiet(logging.LoggerAdapter):  # type: ignore[type-arg]
    """uvicorn's logger without its info lines about each socket: its "[accepted]" line (the
    client's address and the page's thread, which livethread keeps out of logs unless the
    access log is asked for) and the websockets library's "connection open" / "connection
    closed". Formatting them was a sizeable share of a new reader's CPU (figure in
    bench/RESULTS.md); warnings and errors still go to uvicorn's log."""

    @property
    def level(self) -> int:
        # uvicorn compares it with its TRACE level before tracing a connection.
        return max(int(self.logger.level), logging.WARNING)

    def isEnabledFor(self, level: int) -> bool:
        return level >= logging.WARNING and self.logger.isEnabledFor(level)


_QUIET = _Quiet(logging.getLogger("uvicorn.error"), {})


class _Discard:
    """Stands in for a detached socket's ASGI receive queue: nobody will read it again."""

    def put_nowait(self, message: object) -> None:
        pass


_DISCARD = _Discard()


class DirectProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websocket protocol, plus the `livethread.direct` scope extension and
    detaching."""

    # Set while the socket is detached: called once, when the connection is lost.
    on_lost: Callable[[], None] | None = None

    def __init__(self, *args: Any, slow_close: float = 30.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # uvicorn's wait for the peer's close frame (10 s), then `_drop`.
        self.close_timeout = slow_close
        if not self.config.access_log:
            self.logger = cast(logging.Logger, _QUIET)
            self.conn.logger = _QUIET

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        # Only for plain connections: a negotiated extension (compression) would change the
        # bytes of every frame. The app task has not started yet, so it sees the extension.
        if scope is not None and not self.conn.extensions:
            scope["extensions"][EXTENSION] = {"writer": DirectWriter(self)}

    def detach(self, on_lost: Callable[[], None]) -> bool:
        """Keep the connection open without the app's task; False if it is already closing."""
        if self.disconnected or self.close_sent or self.transport.is_closing():
            return False
        self.on_lost = on_lost
        # What only the app's task or the handshake used: a detached socket keeps none of it.
        self.queue = cast("asyncio.Queue[Any]", _DISCARD)
        # The request also stays referenced by the websockets parser's suspended frame.
        self.request.headers.clear()
        self.request = None  # type: ignore[assignment]
        self.response = None  # type: ignore[assignment]
        self.scope = cast(Any, {"type": "websocket"})
        return True

    async def run_asgi(self) -> None:
        # uvicorn's own, except that a detached connection stays open when the app returns.
        try:
            result = await self.app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass
        except BaseException:
            self.logger.exception("Exception in ASGI application\n")
            self.send_500_response()
        else:
            if not self.handshake_complete:
                self.logger.error("ASGI callable returned without completing handshake.")
                self.send_500_response()
            elif result is not None:
                self.logger.error("ASGI callable should return None, but returned '%s'.", result)
        if self.on_lost is None and self.close_timer is None:
            self.transport.close()
            self._abort_later(self.close_timeout)

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.close" and self.close_timer is not None:
            # uvicorn's timer closes, which waits for a peer that may never read.
            self.close_timer.cancel()
            self.close_timer = self.loop.call_later(self.close_timeout, self._drop)

    def shutdown(self) -> None:
        super().shutdown()  # a 1012 close frame (if it can still go), then close
        self._abort_later(SHUTDOWN_DRAIN)

    def _drop(self) -> None:
        """Close the connection, discarding what the peer never took."""
        if self.transport.get_write_buffer_size():
            self.transport.abort()
        else:
            self.transport.close()

    def _abort_later(self, within: float) -> None:
        # A closing transport with unsent bytes is only lost once they are taken: bound that.
        if not self.disconnected and self.transport.get_write_buffer_size():
            self.loop.call_later(within, self._abort_unless_lost)

    def _abort_unless_lost(self) -> None:
        if not self.disconnected:
            self.transport.abort()

    def send_receive_event_to_app(self) -> None:
        if self.on_lost is not None and not self._invalid_text():
            self.frames = []  # nobody listens: drop it (and never pause reading for it)
            return
        # uvicorn's own: queue it for the app, or close 1007 for invalid UTF-8 (detached too).
        super().send_receive_event_to_app()

    def _invalid_text(self) -> bool:
        if self.curr_msg_data_type != "text":
            return False
        try:
            b"".join(self.frames).decode()
        except UnicodeDecodeError:
            return True
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        on_lost, self.on_lost = self.on_lost, None
        if on_lost is not None:
            try:
                on_lost()
            except Exception:
                log.exception("cleaning up a detached websocket failed")

    def close_detached(self, code: int, reason: str, within: float) -> None:
        """Start the closing handshake of a detached socket; drop it after `within` seconds."""
        if self.close_sent or self.transport.is_closing():
            return
        if code == TOO_SLOW:  # counted for /metrics
            metrics.SLOW_CLOSES.inc()
        self.conn.send_close(code, reason)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self.close_timer = self.loop.call_later(within, self._drop)


class DirectWriter:
    """Writes whole frames onto one accepted connection's transport."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: DirectProtocol) -> None:
        self._protocol = protocol

    @property
    def detached(self) -> bool:
        return self._protocol.on_lost is not None

    def write(self, frame: bytes) -> int | None:
        """Queue the frame; returns the bytes now buffered for this peer, or None if the
        connection is closing (nothing was written)."""
        protocol = self._protocol
        transport = protocol.transport
        if protocol.close_sent or transport.is_closing():
            return None
        transport.write(frame)
        return int(transport.get_write_buffer_size())

    async def writable(self) -> None:
        """Until the transport takes more (its buffer below the high-water mark), as uvicorn's
        own `send` waits: a reader's backlog is paced by how fast it reads."""
        await self._protocol.writable.wait()

    def detach(self, on_lost: Callable[[], None]) -> bool:
        """Hand the connection to the protocol so the app's task can end (see the module's
        docstring); `on_lost` runs when it closes. False (and nothing done) if it is closing."""
        return self._protocol.detach(on_lost)

    def close(self, code: int, reason: str, within: float) -> None:
        """Close a detached connection (the app's task is gone, so nothing can await)."""
        self._protocol.close_detached(code, reason, within)


def direct_protocol(slow_close: float) -> Any:
    """The `ws` protocol factory for uvicorn (a partial: uvicorn only calls it)."""
    return functools.partial(DirectProtocol, slow_close=slow_close)


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
        self._frame = text_frame(payload)
        self._text = payload.decode()


def text_frame(payload: bytes) -> bytes:
    """A server's (unmasked, uncompressed) text frame carrying `payload`."""
    return Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
