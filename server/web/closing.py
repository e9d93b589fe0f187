"""How our websockets end: the close codes, the `error` frame that explains a refusal, and a
close that never waits long on a peer that does not answer.

Both sockets (readers' `/ws/v1/threads`, moderators' `/ws/v1/moderation`) refuse and close the
same way, so a client reads the same `error {code, message}` frame before the same codes.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from server import events
from server.errors import Refusal
from server.language.choice import choose
from server.language.translate import translated
from server.validation import RequestError

POLICY = 1008
INTERNAL = 1011
TOO_SLOW = 4008
RATE_LIMITED = 4029
CLOSE_TIMEOUT = 2.0


def error_code(exc: RequestError | Refusal) -> str:
    """The `error` frame's code for a refusal (bad input is "invalid")."""
    return exc.code if isinstance(exc, Refusal) else "invalid"


async def refuse(ws: WebSocket, code: str, message: str, close_code: int) -> None:
    """Say why in an `error` frame (if the peer still listens), then close with `close_code`;
    a reader-facing message in the handshake's Accept-Language (the browser's own)."""
    message = translated(message, choose(ws.headers.get("accept-language")))
    frame = events.encode(events.Error(code=code, message=message)).decode()
    with contextlib.suppress(WebSocketDisconnect, OSError, RuntimeError):
        await ws.send_text(frame)
    await close(ws, close_code, message[:120])


async def close(ws: WebSocket, code: int, reason: str, within: float = CLOSE_TIMEOUT) -> None:
    """Close, waiting at most `within` for the peer's answer; nothing if already closed."""
    if ws.application_state != WebSocketState.CONNECTED:
        return
    with contextlib.suppress(WebSocketDisconnect, OSError, RuntimeError, TimeoutError):
        async with asyncio.timeout(within):
            await ws.close(code, reason)


async def read_until_closed(ws: WebSocket) -> None:
    """Our clients have nothing to say after the handshake (or `auth`): this notices the close
    (or the peer vanishing)."""
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
