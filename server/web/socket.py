"""`WS /ws/v1/threads`: a reader's live channel for one thread.

Order of a connection: join the hub (so nothing committed from now on can be missed), read the
backlog after the client's `since`, send `hello` and the missed events, then release the live
events that arrived meanwhile (the connection skips seqs it already sent), then stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from server import events
from server.comments import CommentError, Comments
from server.hub import Hub
from server.requests import RequestError, validate_ids
from server.web.guard import Guard, OriginRefused, RateLimited

log = logging.getLogger(__name__)

# Close codes (documented in the README).
POLICY = 1008
INTERNAL = 1011
TOO_SLOW = 4008
RATE_LIMITED = 4029
CLOSE_TIMEOUT = 2.0
# A too-slow socket cannot take its close frame until it drains what is already buffered
# (bounded by the transport's high-water mark); give it this long, then drop it.
SLOW_CLOSE_TIMEOUT = 30.0


class Connection:
    """A reader's socket as a hub member: a bounded inbox drained by its own writer task.

    `push` never waits: a reader who does not keep up fills its inbox and is closed with 4008,
    and resumes by reconnecting with `since`, while everyone else's frames go straight out.
    """

    def __init__(self, ws: WebSocket, inbox: int) -> None:
        self._ws = ws
        self._limit = inbox
        self._queue: deque[str] = deque()
        self._wake = asyncio.Event()
        self.overflowed = asyncio.Event()
        self._last = -1
        # While the backlog is being sent, live events wait here (None once streaming).
        self._held: list[tuple[int, str, bool]] | None = []

    def push(self, seq: int, frame: str) -> None:
        if self._held is not None:
            self._hold(seq, frame, False)
        elif seq > self._last:
            self._last = seq
            self._enqueue(frame)

    def reset(self, seq: int, frame: str) -> None:
        if self._held is not None:
            self._hold(seq, frame, True)
        else:
            self._last = seq
            self._enqueue(frame)

    def release(self, position: int) -> None:
        """The client now holds everything up to `position`: start streaming live events."""
        held, self._held = self._held or [], None
        self._last = max(self._last, position)
        for seq, frame, is_reset in held:
            (self.reset if is_reset else self.push)(seq, frame)

    async def write(self) -> None:
        while True:
            while self._queue:
                await self._ws.send_text(self._queue.popleft())
            self._wake.clear()
            if not self._queue:
                await self._wake.wait()

    def drop(self) -> None:
        """Forget queued frames (the socket is being closed for falling behind)."""
        self._queue.clear()
        self._held = None

    def _hold(self, seq: int, frame: str, is_reset: bool) -> None:
        assert self._held is not None
        if len(self._held) >= self._limit:
            self.overflowed.set()
        else:
            self._held.append((seq, frame, is_reset))

    def _enqueue(self, frame: str) -> None:
        if len(self._queue) >= self._limit:
            self.overflowed.set()
            return
        self._queue.append(frame)
        self._wake.set()


class ThreadSocket:
    def __init__(self, comments: Comments, hub: Hub, guard: Guard, *, inbox: int) -> None:
        self._comments = comments
        self._hub = hub
        self._guard = guard
        self._inbox = inbox

    def routes(self) -> list[WebSocketRoute]:
        return [WebSocketRoute("/ws/v1/threads", self.serve)]

    async def serve(self, ws: WebSocket) -> None:
        try:
            site, thread, since = self._params(ws)
            found = await self._comments.site(site)
        except (RequestError, CommentError) as exc:
            await ws.accept()
            await _refuse(ws, exc, POLICY)
            return
        try:
            self._guard.check_origin(ws, found)
        except OriginRefused:
            # Refused in the handshake (HTTP 403): a page on another site learns nothing.
            await ws.close(POLICY)
            return
        await ws.accept()
        try:
            with self._guard.socket(ws):
                await self._serve(ws, site, thread, since)
        except RateLimited as exc:
            await _refuse(ws, exc, RATE_LIMITED)

    async def _serve(self, ws: WebSocket, site: str, thread: str, since: int | None) -> None:
        connection = Connection(ws, self._inbox)
        try:
            await self._hub.join(site, thread, connection)
            try:
                await self._stream(ws, connection, site, thread, since)
            finally:
                await self._hub.leave(site, thread, connection)
        except (WebSocketDisconnect, OSError):
            return
        except Exception:
            log.exception("websocket for %s/%s failed", site, thread)
            await _close(ws, INTERNAL, "internal error")
            return
        if connection.overflowed.is_set():
            connection.drop()
            await _close(
                ws, TOO_SLOW, "too slow: reconnect and resume with since", SLOW_CLOSE_TIMEOUT
            )

    async def _stream(
        self, ws: WebSocket, connection: Connection, site: str, thread: str, since: int | None
    ) -> None:
        caught = await self._comments.catch_up(site, thread, since)
        state = caught.state
        hello = events.Hello(site=site, thread=thread, seq=state.seq, locked=state.locked)
        await ws.send_text(_frame(hello))
        position = state.seq if since is None or caught.resync else since
        if caught.resync is not None:
            await ws.send_text(_frame(events.Resync(seq=state.seq, reason=caught.resync)))
        for event in caught.missed:
            await ws.send_text(event.payload.decode())
            position = event.seq
        connection.release(position)
        # The connection owns these three; whichever ends first ends the other two.
        writer = asyncio.create_task(connection.write())
        reader = asyncio.create_task(_read_until_closed(ws))
        slow = asyncio.create_task(connection.overflowed.wait())
        try:
            await asyncio.wait({writer, reader, slow}, return_when="FIRST_COMPLETED")
        finally:
            for task in (writer, reader, slow):
                task.cancel()
            await asyncio.gather(writer, reader, slow, return_exceptions=True)

    def _params(self, ws: WebSocket) -> tuple[str, str, int | None]:
        site = ws.query_params.get("site", "")
        thread = ws.query_params.get("thread", "")
        validate_ids(site, thread)
        raw = ws.query_params.get("since")
        if raw is None or raw == "":
            return site, thread, None
        if not raw.isdigit() or len(raw) > 18:
            raise RequestError(422, "since must be a seq (a whole number)", {"since": raw[:20]})
        return site, thread, int(raw)


def _frame(frame: events.ServerFrame) -> str:
    return events.encode(frame).decode()


async def _read_until_closed(ws: WebSocket) -> None:
    # v1 clients have nothing to say; the loop notices the close (or the peer vanishing).
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return


async def _refuse(ws: WebSocket, exc: RequestError | CommentError, close_code: int) -> None:
    code = exc.code if isinstance(exc, CommentError) else "invalid"
    with contextlib.suppress(WebSocketDisconnect, OSError, RuntimeError):
        await ws.send_text(_frame(events.Error(code=code, message=exc.message)))
    await _close(ws, close_code, exc.message[:120])


async def _close(ws: WebSocket, code: int, reason: str, within: float = CLOSE_TIMEOUT) -> None:
    if ws.application_state != WebSocketState.CONNECTED:
        return
    with contextlib.suppress(WebSocketDisconnect, OSError, RuntimeError, TimeoutError):
        async with asyncio.timeout(within):
            await ws.close(code, reason)
