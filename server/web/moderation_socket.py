"""`WS /ws/v1/moderation?site=S`: a moderator's live view of the site's queue.

The queue (held and flagged comments of every thread of the site, with why) is state, not a
log: the socket sends all of it first (`queue`), then each change (`queue.added`,
`queue.removed`) as the use-cases announce them on the site's moderation channel after their
commit, from any server process. Both frames are idempotent, so the order of a connection is
simply: subscribe, read the queue, send it, stream; a change that lands in both is applied twice
to the same effect. When the bus lost its transport (changes may have been missed), the whole
queue is sent again.

Authentication: a browser cannot set headers on a websocket, and a token in the query string
would end up in access logs, so the first client message is `{"type": "auth", "token": "..."}`
(the moderator token of `Authorization: Bearer`), within `AUTH_SECONDS`. A missing, unknown or
other site's token is answered with an `error` frame and close 1008.

Revocation: a token revoked or replaced (`livethread moderator revoke|add`) must stop its open
sockets at once, on every server process. The command announces the change on the site's
moderators channel (`channels.moderators`); every socket of the site listens there and checks
its token's hash against the store again, closing with an `unauthorized` error frame and 1008
if it is gone. As a safety net (a revoke made without Redis, a message lost while the bus was
down, which `resumed()` also answers with a check) each socket checks every `recheck` seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

import msgspec
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from server import channels, events
from server.bus import Bus
from server.errors import NotFound, Refusal
from server.moderation import review
from server.storage import Storage
from server.tokens import token_hash
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
from server.web.guard import Guard, OriginRefused, RateLimited

log = logging.getLogger(__name__)

AUTH_SECONDS = 10.0
# Most items in the first `queue` frame: a queue longer than this is a backlog to work
# through from the oldest, not a page to render at once.
QUEUE_LIMIT = 500
# A socket that takes longer than this to accept the frames due is too slow (4008).
SEND_SECONDS = 10.0


class _Feed:
    """The site channel's frames for one socket: a bounded inbox, never waited on by the bus.

    Overflowing it (a moderator's socket that stopped reading) marks the feed too slow; the
    socket is then closed with 4008 and the page reconnects and gets the queue afresh."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._frames: deque[bytes] = deque()
        self.wake = asyncio.Event()
        self.overflowed = False
        # Set when the bus may have dropped frames: send the whole queue again.
        self.stale = False

    def deliver(self, payload: bytes) -> None:
        if len(self._frames) >= self._limit:
            self.overflowed = True
        else:
            self._frames.append(payload)
        self.wake.set()

    def resumed(self) -> None:
        self.stale = True
        self.wake.set()

    def take(self) -> list[bytes]:
        taken = list(self._frames)
        self._frames.clear()
        self.wake.clear()
        return taken


class _Recheck:
    """Listens on the moderators channel: any message, or a bus that may have dropped one,
    asks the socket to check its token again."""

    def __init__(self, wake: asyncio.Event) -> None:
        self._wake = wake
        self.due = False

    def deliver(self, payload: bytes) -> None:
        self.due = True
        self._wake.set()

    def resumed(self) -> None:
        self.deliver(b"")


class ModerationSocket:
    def __init__(
        self, store: Storage, bus: Bus, guard: Guard, *, inbox: int, recheck: float = 30.0
    ) -> None:
        self._store = store
        self._bus = bus
        self._guard = guard
        self._inbox = inbox
        self._recheck = recheck

    def routes(self) -> list[WebSocketRoute]:
        return [WebSocketRoute("/ws/v1/moderation", self.serve)]

    async def serve(self, ws: WebSocket) -> None:
        site = ws.query_params.get("site", "")
        try:
            validate_ids(site, "-")
            found = await self._store.sites.get(site)
            if found is None:
                raise NotFound(f"Unknown site {site!r}")
        except (RequestError, Refusal) as exc:
            await ws.accept()
            await refuse(ws, error_code(exc), exc.message, POLICY)
            return
        try:
            self._guard.check_origin(ws, found)
        except OriginRefused:
            await ws.close(POLICY)  # in the handshake: HTTP 403
            return
        await ws.accept()
        try:
            release = await self._guard.take_socket(ws)
        except RateLimited as exc:
            await refuse(ws, exc.code, exc.message, RATE_LIMITED)
            return
        try:
            hashed = await self._authenticated(ws, site)
            if hashed is not None:
                await self._serve(ws, site, hashed)
        except (WebSocketDisconnect, OSError):
            return
        except Exception:
            log.exception("moderation socket for %s failed", site)
            await close(ws, INTERNAL, "internal error")
        finally:
            release()

    async def _authenticated(self, ws: WebSocket, site: str) -> str | None:
        """The hash of the socket's valid token; None once the socket was refused."""
        try:
            async with asyncio.timeout(AUTH_SECONDS):
                message = await ws.receive_text()
            token = events.decode_auth(message).token
        except TimeoutError:
            await refuse(ws, "unauthorized", "No {type: auth, token} in time", POLICY)
            return None
        except (msgspec.DecodeError, KeyError, RuntimeError):
            await refuse(
                ws, "unauthorized", "The first message must be {type: auth, token}", POLICY
            )
            return None
        hashed = token_hash(token)
        moderator = await self._store.moderators.by_token(hashed)
        if moderator is None:
            await refuse(ws, "unauthorized", "Unknown or revoked moderator token", POLICY)
            return None
        if moderator.site != site:
            await refuse(ws, "forbidden", "Your moderator token is for another site", POLICY)
            return None
        return hashed

    async def _serve(self, ws: WebSocket, site: str, hashed: str) -> None:
        feed = _Feed(self._inbox)
        recheck = _Recheck(feed.wake)
        channel, moderators = channels.moderation(site), channels.moderators(site)
        # Subscribed before the queue is read: a change committed in between is in both. The
        # moderators channel before the token is checked again: a revoke in between is seen.
        await self._bus.subscribe(moderators, recheck)
        await self._bus.subscribe(channel, feed)
        reader = asyncio.create_task(read_until_closed(ws))
        loop = asyncio.get_running_loop()
        try:
            if not await self._still_valid(ws, site, hashed):
                return
            next_check = loop.time() + self._recheck
            await self._send_queue(ws, site)
            while not reader.done():
                waiter = asyncio.create_task(feed.wake.wait())
                await asyncio.wait(
                    {reader, waiter},
                    timeout=max(0.0, next_check - loop.time()),
                    return_when="FIRST_COMPLETED",
                )
                waiter.cancel()
                if recheck.due or loop.time() >= next_check:
                    recheck.due = False
                    next_check = loop.time() + self._recheck
                    if not await self._still_valid(ws, site, hashed):
                        return
                if feed.overflowed:
                    await close(ws, TOO_SLOW, "too slow: reconnect for the queue")
                    return
                if feed.stale:
                    feed.stale = False
                    feed.take()
                    await self._send_queue(ws, site)
                try:
                    async with asyncio.timeout(SEND_SECONDS):
                        for payload in feed.take():
                            await ws.send_text(payload.decode())
                except TimeoutError:
                    await close(ws, TOO_SLOW, "too slow: reconnect for the queue")
                    return
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await self._bus.unsubscribe(channel, feed)
            await self._bus.unsubscribe(moderators, recheck)

    async def _still_valid(self, ws: WebSocket, site: str, hashed: str) -> bool:
        """Whether the socket's token still names a moderator of the site; if not, the socket
        is refused (error frame, close 1008) and False."""
        moderator = await self._store.moderators.by_token(hashed)
        if moderator is not None and moderator.site == site:
            return True
        await refuse(ws, "unauthorized", "This moderator token was revoked", POLICY)
        return False

    async def _send_queue(self, ws: WebSocket, site: str) -> None:
        records = await self._store.review.queue(site, QUEUE_LIMIT)
        items = [i for i in (review.item(r) for r in records) if i is not None]
        frame = events.Queue(site=site, items=items)
        await ws.send_text(events.encode_moderation(frame).decode())
