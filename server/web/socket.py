"""`WS /ws/v1/threads`: a reader's live channel for one thread.

Order of a connection: join the hub (so nothing committed from now on can be missed), read the
backlog after the client's `since`, send `hello` and the missed events, then release the live
events that arrived meanwhile (the connection skips seqs it already sent), then stream.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from server import events, metrics
from server.errors import Refusal
from server.model import ThreadKey
from server.reactions.reacting import Reacting
from server.threads.backlog import Backlog
from server.threads.comments import Comments
from server.threads.hub import Hub
from server.validation import RequestError, validate_ids
from server.web.connection import SLOW_CLOSE_TIMEOUT, TOO_SLOW_REASON, Member
from server.web.guard import Guard
from server.web.streaming import Session, Streams


class ThreadSocket:
    def __init__(
        self,
        comments: Comments,
        backlog: Backlog,
        reacting: Reacting,
        hub: Hub,
        guard: Guard,
        *,
        inbox: int,
        max_buffer: int,
        slow_close: float = SLOW_CLOSE_TIMEOUT,
    ) -> None:
        self._comments = comments
        self._backlog_of = backlog
        self._reacting = reacting
        self._hub = hub
        self._guard = guard
        self._streams = Streams(guard, inbox=inbox, max_buffer=max_buffer, slow_close=slow_close)

    def routes(self) -> list[WebSocketRoute]:
        return [WebSocketRoute("/ws/v1/threads", self.serve)]

    async def serve(self, ws: WebSocket) -> None:
        try:
            key, since, mine = self._params(ws)
            found = await self._comments.site(key.site)
        except (RequestError, Refusal) as exc:
            await self._streams.refused(ws, exc)
            return
        admitted = await self._streams.admit(ws, found)
        if admitted is None:
            return
        metrics.SOCKETS.inc()

        def give_back() -> None:  # once, when the socket closes (attached or detached)
            metrics.SOCKETS.dec()
            admitted()

        member = self._streams.member(ws)
        member.address = self._guard.address(ws)

        async def start() -> None:
            await self._hub.join(key, member)
            await self._backlog(member, key, since, mine)

        async def stop() -> None:
            await self._hub.leave(key, member)

        def lost() -> None:
            self._hub.discard(key, member)
            give_back()

        session = Session(start, stop, lost, name=str(key), too_slow=TOO_SLOW_REASON)
        await self._streams.run(ws, member, session, give_back)

    async def _backlog(self, member: Member, key: ThreadKey, since: int | None, mine: bool) -> None:
        """Send `hello`, what the client missed, (`mine`: a page that has posted here) the
        reader's own comments nobody else is shown and the thread's reaction counts; then let
        live events through. Everything is read before `hello` goes: a client answers `hello`
        at once, and what it sends is the protocol's to handle only once the socket is
        detached, so nothing awaits the store between the two."""
        caught = await self._backlog_of.catch_up(key, since)
        own = await self._backlog_of.own(key, member.address) if mine and member.address else []
        # Counts are state, not events: the current ones, whatever the reader missed.
        counts = await self._reacting.current(key)
        state = caught.state
        hello = events.Hello(site=key.site, thread=key.thread, seq=state.seq, locked=state.locked)
        await member.say(events.encode(hello))
        position = state.seq if since is None or caught.resync else since
        if caught.resync is not None:
            await member.say(events.encode(events.Resync(seq=state.seq, reason=caught.resync)))
        for event in caught.missed:
            await member.say(event.payload)
            position = event.seq
        for frame in own:
            await member.say(frame)
        if counts is not None:
            await member.say(counts)
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
