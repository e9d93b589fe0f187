"""`WS /ws/v1/threads`: a reader's live channel for one thread.

Order of a connection: join the hub (so nothing committed from now on can be missed), read the
backlog after the client's `since`, send `hello` and the missed events, then release the live
events that arrived meanwhile (the connection skips seqs it already sent), then stream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from urllib.parse import parse_qsl

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from server import events
from server.errors import Refusal
from server.model import ThreadKey
from server.threads.backlog import Backlog
from server.threads.comments import Comments
from server.threads.hub import Hub
from server.validation import RequestError, validate_ids
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
from server.web.connection import (
    SLOW_CLOSE_TIMEOUT,
    TOO_SLOW_REASON,
    DirectMember,
    Member,
    QueuedMember,
)
from server.web.direct import Framer, writer_of
from server.web.guard import Guard, OriginRefused, RateLimited

log = logging.getLogger(__name__)

# Close codes (documented in the README).


class ThreadSocket:
    def __init__(
        self,
        comments: Comments,
        backlog: Backlog,
        hub: Hub,
        guard: Guard,
        *,
        inbox: int,
        max_buffer: int,
        slow_close: float = SLOW_CLOSE_TIMEOUT,
    ) -> None:
        self._comments = comments
        self._backlog_of = backlog
        self._hub = hub
        self._guard = guard
        self._inbox = inbox
        self._max_buffer = max_buffer
        self._slow_close = slow_close
        # One event is fanned out at a time, so one frame cache serves every connection.
        self._framer = Framer()

    def routes(self) -> list[WebSocketRoute]:
        return [WebSocketRoute("/ws/v1/threads", self.serve)]

    async def serve(self, ws: WebSocket) -> None:
        try:
            key, since, mine = self._params(ws)
            found = await self._comments.site(key.site)
        except (RequestError, Refusal) as exc:
            await ws.accept()
            await refuse(ws, error_code(exc), exc.message, POLICY)
            return
        try:
            self._guard.check_origin(ws, found)
        except OriginRefused:
            # Refused in the handshake (HTTP 403): a page on another site learns nothing.
            await ws.close(POLICY)
            return
        await ws.accept()
        try:
            give_back = await self._guard.take_socket(ws)
        except RateLimited as exc:
            await refuse(ws, error_code(exc), exc.message, RATE_LIMITED)
            return
        writer = writer_of(ws.scope)
        member: DirectMember | QueuedMember = (
            QueuedMember(ws, self._framer, inbox=self._inbox)
            if writer is None
            else DirectMember(
                writer,
                self._framer,
                inbox=self._inbox,
                max_buffer=self._max_buffer,
                slow_close=self._slow_close,
            )
        )
        member.address = self._guard.address(ws)
        detached = False
        try:
            await self._hub.join(key, member)
            try:
                await self._backlog(member, key, since, mine)
                if isinstance(member, QueuedMember):
                    await _stream(ws, member)
                elif not member.overflowed:
                    # From here the protocol holds the socket and this task ends; the hub
                    # and the guard let go of it when the connection is lost.
                    detached = member.detach(lambda: self._lost(key, member, give_back))
            finally:
                if not detached:
                    await self._hub.leave(key, member)
        except (WebSocketDisconnect, OSError):
            return
        except Exception:
            log.exception("websocket for %s failed", key)
            await close(ws, INTERNAL, "internal error")
            return
        finally:
            if not detached:
                give_back()
        if member.overflowed:
            member.drop()
            await close(ws, TOO_SLOW, TOO_SLOW_REASON, self._slow_close)

    def _lost(self, key: ThreadKey, member: Member, give_back: Callable[[], None]) -> None:
        self._hub.discard(key, member)
        give_back()

    async def _backlog(self, member: Member, key: ThreadKey, since: int | None, mine: bool) -> None:
        """Send `hello`, what the client missed and (`mine`: a page that has posted here) the
        reader's own comments nobody else is shown; then let live events through."""
        caught = await self._backlog_of.catch_up(key, since)
        state = caught.state
        hello = events.Hello(site=key.site, thread=key.thread, seq=state.seq, locked=state.locked)
        await member.say(events.encode(hello))
        position = state.seq if since is None or caught.resync else since
        if caught.resync is not None:
            await member.say(events.encode(events.Resync(seq=state.seq, reason=caught.resync)))
        for event in caught.missed:
            await member.say(event.payload)
            position = event.seq
        if mine and member.address is not None:
            for frame in await self._backlog_of.own(key, member.address):
                await member.say(frame)
        member.release(position)

    def _params(self, ws: WebSocket) -> tuple[ThreadKey, int | None, bool]:
        # As Starlette's query_params reads them (the last of a repeated name wins), without
        # building its multi-dict: a sizeable share of a new reader's CPU.
        query = dict(parse_qsl(ws.scope["query_string"].decode("latin-1"), keep_blank_values=True))
        key = validate_ids(query.get("site", ""), query.get("thread", ""))
        # Only a page that has posted here (the widget knows) can have comments of its own
        # that nobody else is shown: every other reader is spared looking for them.
        mine = query.get("mine") == "1"
        raw = query.get("since")
        if raw is None or raw == "":
            return key, None, mine
        # ASCII digits only: str.isdigit() also accepts "²", which int() refuses (a 500).
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
            raise RequestError(422, "since must be a seq (a whole number)", {"since": raw[:20]})
        return key, int(raw), mine


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
