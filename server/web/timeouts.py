"""How long a client may take to send its request: the head, then the body.

uvicorn bounds the quiet time between two requests of a kept-alive connection, but not the time
a client takes to send one: half a request line, half a websocket handshake or a body that
stops arriving keeps its descriptor and parser for as long as the client likes, and a few
hundred such sockets cost an attacker nothing. `TimedHttpProtocol` is uvicorn's httptools
protocol with two timers, chosen over an ASGI-level timeout because a stalled head never
reaches the app at all:

- the head timer runs from the connection's start (or, on a kept-alive connection, the next
  request's first byte) to the end of its headers, websocket handshakes included;
- the body timer runs from the end of the headers to the end of the body.

When one fires the connection gets a 408 if no response has begun (else it is just closed).
The app, still waiting for the body, then sees the client gone: Starlette raises
`ClientDisconnect`, which `on_client_disconnect` answers with one log line, not a traceback.

Relies on uvicorn's `HttpToolsProtocol` parser callbacks (`on_message_begin`,
`on_headers_complete`, `on_message_complete`, `handle_websocket_upgrade`) and its `cycle`
(checked against uvicorn 0.55).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)

HEAD, BODY = "request head", "request body"

TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 16\r\n"
    b"connection: close\r\n\r\n"
    b"Request Timeout\n"
)


class TimedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a deadline for the request head and for its body."""

    def __init__(self, *args: Any, header_timeout: float, body_timeout: float, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._header_timeout = header_timeout
        self._body_timeout = body_timeout
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self._header_timeout, HEAD)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # a kept-alive connection's next request
            self._arm(self._header_timeout, HEAD)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()
        # Cancelled at once by on_message_complete when there is no body.
        self._arm(self._body_timeout, BODY)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()  # the websocket protocol takes over: pings bound it from here
        super().handle_websocket_upgrade()
        # This protocol is done with the connection, but it and its parser refer to each other
        # (the parser calls back into it). uvicorn breaks that cycle in `connection_lost`, which
        # an upgraded connection's HTTP protocol never gets: left so, each one would wait for
        # the cycle collector instead of going as soon as uvicorn drops it.
        self.parser = None  # type: ignore[assignment]

    def _arm(self, seconds: float, what: str) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired, seconds, what)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self, seconds: float, what: str) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        log.info("closing a connection: no complete %s within %gs", what, seconds)
        cycle = self.cycle
        # A new head's `cycle` is still the previous request's (answered); a body's is its own.
        if what == HEAD or cycle is None or not cycle.response_started:
            self.transport.write(TIMEOUT_RESPONSE)
        if cycle is not None:
            cycle.keep_alive = False
        self.transport.close()


def timed_http(header_timeout: float, body_timeout: float) -> Any:
    """The `http` protocol factory for uvicorn (a partial: uvicorn only calls it)."""
    return functools.partial(
        TimedHttpProtocol, header_timeout=header_timeout, body_timeout=body_timeout
    )


async def on_client_disconnect(request: Request, exc: Exception) -> Response:
    """A client gone before its body was read: one line, no traceback (nobody gets the answer)."""
    log.info(
        "client left before sending its whole request: %s %s", request.method, request.url.path
    )
    return Response(status_code=400)


# For Starlette's `exception_handlers`.
HANDLERS = {ClientDisconnect: on_client_disconnect}
