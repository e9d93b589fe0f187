"""`WS /ws/v1/counts?site=S&thread=A&thread=B…`: an index page's live comment counts.

The page's script (`/counts.js`) fills its count elements from `GET /api/v1/counts`, then opens
one of these per site and up to `MAX_THREADS` threads. Order of a connection: watch the threads
(server/threads/counting.py: from then on every change marks them), read their counts and send
them all in one `counts` frame, then let through the `counts` frames of changed threads that
arrived meanwhile or follow. Refusals, origins, the address's socket places, the sending and a
socket too slow to take its frames (4008) are the readers' socket's (server/web/streaming.py):
an idle index page costs no task.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from server import events
from server.errors import Refusal
from server.threads.comments import Comments
from server.threads.counting import LiveCounts
from server.validation import RequestError, validate_ids
from server.web.connection import SLOW_CLOSE_TIMEOUT
from server.web.guard import Guard
from server.web.streaming import Session, Streams

# Most threads one socket watches: a page with more opens more sockets.
MAX_THREADS = 200
TOO_SLOW_REASON = "too slow: reconnect for the counts"


class CountsSocket:
    def __init__(
        self,
        comments: Comments,
        counts: LiveCounts,
        guard: Guard,
        *,
        inbox: int,
        max_buffer: int,
        slow_close: float = SLOW_CLOSE_TIMEOUT,
    ) -> None:
        self._comments = comments
        self._counts = counts
        # Sockets told the same changes get the same bytes: their frame is built once.
        self._streams = Streams(guard, inbox=inbox, max_buffer=max_buffer, slow_close=slow_close)

    def routes(self) -> list[WebSocketRoute]:
        return [WebSocketRoute("/ws/v1/counts", self.serve)]

    async def serve(self, ws: WebSocket) -> None:
        try:
            site, threads = _params(ws)
            found = await self._comments.site(site)
        except (RequestError, Refusal) as exc:
            await self._streams.refused(ws, exc)
            return
        give_back = await self._streams.admit(ws, found)
        if give_back is None:
            return
        member = self._streams.member(ws)

        async def start() -> None:
            counts = await self._counts.watch(site, threads, member)
            await member.say(events.encode(events.Counts(counts=counts)))
            member.release(0)

        async def stop() -> None:
            self._counts.unwatch(site, threads, member)

        def lost() -> None:
            self._counts.unwatch(site, threads, member)
            give_back()

        session = Session(start, stop, lost, name=f"counts of {site}", too_slow=TOO_SLOW_REASON)
        await self._streams.run(ws, member, session, give_back)


def _params(ws: WebSocket) -> tuple[str, list[str]]:
    """The site and its threads (each once, in the order given), checked."""
    pairs = parse_qsl(ws.scope["query_string"].decode("latin-1"), keep_blank_values=True)
    site = ""
    threads: dict[str, None] = {}
    for name, value in pairs:
        if name == "site":
            site = value  # the last one wins, as on the readers' socket
        elif name == "thread":
            threads[value] = None
    if not 0 < len(threads) <= MAX_THREADS:
        raise RequestError(
            422, "Name the threads to count", {"thread": f"1 to {MAX_THREADS} thread parameters"}
        )
    for thread in threads:
        validate_ids(site, thread)
    return site, list(threads)
