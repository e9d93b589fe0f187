"""What every socket that streams frames to a page shares (the readers' `WS /ws/v1/threads`
and the index pages' `WS /ws/v1/counts`): who is let in, the bounded member that sends, and how
a connection ends.

A socket is refused before anything else on bad parameters or an unknown site (an `error` frame
and 1008), in the handshake for an origin its site does not list (HTTP 403), and after accepting
when its address holds too many (4029). Then its member is built: on uvicorn with the direct
path, a `DirectMember` writing each shared frame straight onto the transport and detached once
streaming, so an idle page costs no task; elsewhere a `QueuedMember` drained by a writer task.
A socket too slow to take its frames is closed with 4008 (server/web/connection.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.websockets import WebSocket, WebSocketDisconnect

from server import metrics
from server.errors import Refusal
from server.model import Site
from server.validation import RequestError
from server.web.closing import (
    INTERNAL,
    POLICY,
    RATE_LIMITED,
    TOO_SLOW,
    close,
    error_code,
    read_until_closed,
    refuse,
)
from server.web.connection import SLOW_CLOSE_TIMEOUT, DirectMember, QueuedMember
from server.web.direct import Framer, writer_of
from server.web.guard import Guard, OriginRefused, RateLimited

log = logging.getLogger(__name__)

Streamer = DirectMember | QueuedMember


@dataclass(frozen=True)
class Session:
    """What one connection does with its member: `start` (join what it follows and send what
    comes first, then `member.release`), `stop` when it ends while the app still holds it, and
    `lost` when a detached connection is lost (from the protocol: it cannot wait)."""

    start: Callable[[], Awaitable[None]]
    stop: Callable[[], Awaitable[None]]
    lost: Callable[[], None]
    # For the log line of a connection that failed.
    name: str
    # The 4008 close's reason.
    too_slow: str


class Streams:
    """Admission, members and the connection's end, for one kind of socket."""

    def __init__(
        self,
        guard: Guard,
        *,
        inbox: int,
        max_buffer: int,
        slow_close: float = SLOW_CLOSE_TIMEOUT,
    ) -> None:
        self._guard = guard
        self._inbox = inbox
        self._max_buffer = max_buffer
        self._slow_close = slow_close
        # Each frame is handed to every member at once, so one frame cache serves them all.
        self._framer = Framer()

    async def refused(self, ws: WebSocket, exc: RequestError | Refusal) -> None:
        """Refuse bad parameters or an unknown site: an `error` frame, then 1008."""
        await ws.accept()
        await refuse(ws, error_code(exc), exc.message, POLICY)

    async def admit(self, ws: WebSocket, site: Site) -> Callable[[], None] | None:
        """Accept the socket if its origin and address may open one; the call that gives the
        address's place back (once), or None when refused (and closed)."""
        try:
            self._guard.check_origin(ws, site)
        except OriginRefused:
            # Refused in the handshake (HTTP 403): a page on another site learns nothing.
            await ws.close(POLICY)
            return None
        await ws.accept()
        try:
            return await self._guard.take_socket(ws)
        except RateLimited as exc:
            await refuse(ws, error_code(exc), exc.message, RATE_LIMITED)
            return None

    def member(self, ws: WebSocket) -> Streamer:
        writer = writer_of(ws.scope)
        if writer is None:
            return QueuedMember(ws, self._framer, inbox=self._inbox)
        return DirectMember(
            writer,
            self._framer,
            inbox=self._inbox,
            max_buffer=self._max_buffer,
            slow_close=self._slow_close,
        )

    async def run(
        self, ws: WebSocket, member: Streamer, session: Session, give_back: Callable[[], None]
    ) -> None:
        """Start the session and stream until the connection ends, or detach it; then let go
        of what it held and close a too-slow socket with 4008."""
        detached = False
        try:
            try:
                await session.start()
                if isinstance(member, QueuedMember):
                    await _stream(ws, member)
                elif not member.overflowed:
                    # From here the protocol holds the socket and this task ends; `lost` lets
                    # go of it when the connection is lost.
                    detached = member.detach(session.lost)
            finally:
                if not detached:
                    await session.stop()
        except (WebSocketDisconnect, OSError):
            return
        except Exception:
            log.exception("websocket for %s failed", session.name)
            await close(ws, INTERNAL, "internal error")
            return
        finally:
            if not detached:
                give_back()
        if member.overflowed:
            member.drop()
            metrics.SLOW_CLOSES.inc()
            await close(ws, TOO_SLOW, session.too_slow, self._slow_close)


async def _stream(ws: WebSocket, member: QueuedMember) -> None:
    """The queued path: a writer task and a reader task, until either ends or overflow."""
    tasks = {
        asyncio.create_task(read_until_closed(ws)),
        asyncio.create_task(member.overflow.wait()),
        asyncio.create_task(member.write()),
    }
    try:
        await asyncio.wait(tasks, return_when="FIRST_COMPLETED")
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
