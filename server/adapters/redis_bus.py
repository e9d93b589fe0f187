"""The Redis pub/sub implementation of the Bus port: many server processes, many hosts.

Two kinds of connection:
- publishing takes an idle connection of its own (at most `max_publishers`), writes its PUBLISH
  commands at once and reads their replies (redis_publishers.py); `publish()` answers False
  within `timeout` (default 1 s) when Redis is unreachable, and never raises; `publish_all()`
  sends several messages in one round trip;
- subscribing uses one connection per process, owned by a supervised reader task. Redis sees one
  SUBSCRIBE per channel per process, however many listeners joined (`Subscriptions` counts them).

Guarantees are those of Redis pub/sub: at most once, no history. When the subscriber connection
is lost (Redis stopped, network cut, or our output buffer overflowed because this process read too
slowly: Redis disconnects such a subscriber, which is what bounds memory on its side), the reader
reconnects with exponential backoff and jitter, resubscribes every channel that still has
listeners, and once Redis has confirmed them calls `resumed()` on every listener so it catches up
from the store. A silent dead connection (no RST, e.g. a dropped NAT entry) is found by a PING
after `keepalive` seconds of quiet; no answer within another `keepalive` ends the session.

`subscribe()` returns once Redis has confirmed the subscription when connected, so a caller can
subscribe, read the backlog from the store, then rely on live messages with no gap. While
disconnected it records the listener and returns at once; the reconnect subscribes the channel and
calls `resumed()`. `unsubscribe()` never waits for Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from redis.asyncio.connection import (
    AbstractConnection,
    ConnectionPool,
    parse_url,
)
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

from server.adapters.redis_publishers import Publishers
from server.adapters.subscriptions import Subscriptions
from server.bus import Listener

logger = logging.getLogger(__name__)

# What a lost or refused connection raises: redis-py wraps most socket errors, not all
# (asyncio's TimeoutError is an OSError).
_TRANSPORT_ERRORS = (RedisError, OSError)

_BATCH = 1000  # channels per SUBSCRIBE when resubscribing, to keep each command modest
_WARN_EVERY = 30.0  # seconds between two warnings that Redis is still unavailable


class RedisBus:
    """Publish/subscribe of bytes on channels, across processes, over Redis pub/sub."""

    def __init__(
        self,
        url: str,
        prefix: str = "livethread:",
        *,
        timeout: float = 1.0,
        keepalive: float = 5.0,
        backoff: tuple[float, float] = (0.1, 5.0),
        max_publishers: int = 8,
    ) -> None:
        self._prefix = prefix
        self._timeout = timeout
        self._keepalive = keepalive
        self._backoff_min, self._backoff_max = backoff
        common: dict[str, Any] = {
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            "health_check_interval": 0,  # its PING would read replies meant for the reader
        }
        # Only a factory (URL parsing, connection class) for subscriber connections, and the
        # publishers' options. Retrying is the reader's job (with backoff) and a publisher's
        # single one; RESP2 and bytes are what both parse, whatever the URL's query says.
        options = {
            **parse_url(url),
            **common,
            "retry": Retry(NoBackoff(), 0),
            "protocol": 2,
            "decode_responses": False,
        }
        self._factory = ConnectionPool(**options)
        self._publishers = Publishers(options, max_publishers)
        self._subs = Subscriptions()
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self._attempted = asyncio.Event()  # the first connection attempt has succeeded or failed
        self._ready = False
        self._sessions_ready = 0
        # Per session: the live subscriber connection, and channel -> confirmation of its
        # SUBSCRIBE for every channel subscribed (or being subscribed) on it.
        self._conn: AbstractConnection | None = None
        self._remote: dict[str, asyncio.Future[None]] = {}
        # Redis answers SUBSCRIBEs in order, so per channel the oldest unanswered one is the one
        # a "subscribe" reply confirms (a channel can be subscribed, dropped, subscribed again
        # before the first reply arrives).
        self._confirmations: dict[str, deque[asyncio.Future[None]]] = {}
        # Serialises decisions and SUBSCRIBE/UNSUBSCRIBE writes, so what was sent last for a
        # channel matches its listeners whatever the interleaving of callers.
        self._lock = asyncio.Lock()
        self._publish_failures = 0
        self._next_publish_warning = 0.0
        # Sessions that came back after losing Redis (for /metrics).
        self.reconnects = 0

    @property
    def connected(self) -> bool:
        """Subscribed on a live connection, with every channel confirmed since it (re)connected."""
        return self._ready

    async def start(self) -> None:
        """Start the reader; returns after its first connection attempt, even a failed one.

        An unreachable Redis does not stop the server from starting: the reader keeps trying.
        """
        if self._task is not None:
            raise RuntimeError("RedisBus already started")
        self._closed = False
        self._attempted.clear()
        self._task = asyncio.create_task(self._run(), name="livethread-redis-bus-reader")
        self._task.add_done_callback(self._reader_stopped)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(3 * self._timeout):
                await self._attempted.wait()

    async def close(self) -> None:
        """Stop the reader, drop every listener, close every connection."""
        self._closed = True
        task, self._task = self._task, None
        # Cancelling more than once: Python 3.11's asyncio.wait_for, used inside redis-py, can
        # swallow a cancellation that lands as the wrapped operation completes.
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=self._timeout)
        self._subs.clear()
        await self._publishers.close()

    async def publish(self, channel: str, payload: bytes) -> bool:
        """Publish `payload` on `channel`; False (logged, rate-limited) if Redis is unavailable."""
        return await self.publish_all(((channel, payload),))

    async def publish_all(self, messages: Sequence[tuple[str, bytes]]) -> bool:
        """Publish each (channel, payload) in order, in one round trip; False (logged,
        rate-limited) if Redis is unavailable, in which case any of them may be lost."""
        if self._closed:
            return False
        try:
            # Bounds the whole: the wait for a connection, connecting, the write, the replies
            # and the one retry (a publisher's connection has no socket timeout of its own).
            async with asyncio.timeout(self._timeout):
                replies = await self._publishers.send(
                    [("PUBLISH", self._prefix + channel, payload) for channel, payload in messages]
                )
            for reply in replies:
                if isinstance(reply, ResponseError):
                    raise reply
        except _TRANSPORT_ERRORS as exc:
            self._publish_failed(exc)
            return False
        return True

    async def subscribe(self, channel: str, listener: Listener) -> None:
        """Add `listener`; when connected, returns once Redis has confirmed the subscription.

        If this call is cancelled, a listener it added is removed again: the caller owes no
        unsubscribe.
        """
        added = not self._subs.holds(channel, listener)
        self._subs.add(channel, listener)
        try:
            # Shielded: redis-py drops a connection whose write was interrupted, and this one is
            # shared; the confirmation is shared too, so one caller's cancel must not cancel it.
            confirmation = await asyncio.shield(self._sync(channel))
            if confirmation is not None:
                await asyncio.shield(confirmation)
        except BaseException:
            if added and self._subs.remove(channel, listener):
                await asyncio.shield(self._sync(channel))
            raise

    async def unsubscribe(self, channel: str, listener: Listener) -> None:
        """Remove `listener` (a no-op if absent); the last one out unsubscribes the channel."""
        if self._subs.remove(channel, listener):
            await asyncio.shield(self._sync(channel))

    # -- subscriptions on the live connection -------------------------------------------------

    async def _sync(self, channel: str) -> asyncio.Future[None] | None:
        """Make Redis match the registry for `channel`; the confirmation to await, if subscribed.

        Disconnected, it does nothing: the next session subscribes the registry as it then is.
        """
        async with self._lock:
            conn = self._conn
            # Checked because redis-py would otherwise silently reconnect a dropped connection
            # on send, behind the reader's back.
            if conn is None or not conn.is_connected:
                return None
            wanted = self._subs.has(channel)
            confirmation = self._remote.get(channel)
            if wanted and confirmation is None:
                confirmation = self._expect(channel)
                await self._send(conn, "SUBSCRIBE", channel)
            elif not wanted and confirmation is not None:
                del self._remote[channel]
                await self._send(conn, "UNSUBSCRIBE", channel)
            return confirmation if wanted else None

    def _expect(self, channel: str) -> asyncio.Future[None]:
        """Register the confirmation of a SUBSCRIBE about to be sent."""
        confirmation: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._remote[channel] = confirmation
        self._confirmations.setdefault(channel, deque()).append(confirmation)
        return confirmation

    async def _send(self, conn: AbstractConnection, command: str, *channels: str) -> None:
        try:
            await conn.send_command(
                command, *(self._prefix + c for c in channels), check_health=False
            )
        except _TRANSPORT_ERRORS as exc:
            # The connection is now closed; the reader sees it and reconnects.
            logger.debug("redis bus: %s failed: %s", command, exc)

    # -- the reader ----------------------------------------------------------------------------

    async def _run(self) -> None:
        """Run one session after another, with backoff, until cancelled or closed."""
        delay = self._backoff_min
        down_since: float | None = None
        next_warning = 0.0
        while not self._closed:
            ready_before, started = self._sessions_ready, time.monotonic()
            error: BaseException | None = None
            try:
                await self._session(down_since)
            except _TRANSPORT_ERRORS as exc:
                error = exc
            except Exception as exc:
                logger.exception("redis bus: reader failed; reconnecting")
                error = exc
            self._attempted.set()
            now = time.monotonic()
            if self._sessions_ready != ready_before:  # it got ready, then was lost
                logger.warning("redis bus: lost Redis (%s); reconnecting", error)
                down_since, next_warning = now, now + _WARN_EVERY
                # Only a session that lasted restarts the backoff: one that keeps failing right
                # after connecting (a bad ACL, a flapping link) must not reconnect in a hot loop.
                if now - started >= self._backoff_max:
                    delay = self._backoff_min
            elif down_since is None:
                logger.warning("redis bus: cannot reach Redis (%s); retrying", error)
                down_since, next_warning = now, now + _WARN_EVERY
            elif now >= next_warning:
                logger.warning(
                    "redis bus: still cannot reach Redis after %.0fs (%s)", now - down_since, error
                )
                next_warning = now + _WARN_EVERY
            else:
                logger.debug("redis bus: still cannot reach Redis (%s)", error)
            # Backoff, not synchronisation: nothing signals that Redis is back but trying.
            await asyncio.sleep(random.uniform(delay / 2, delay))
            delay = min(delay * 2, self._backoff_max)

    async def _session(self, down_since: float | None) -> None:
        """Connect, resubscribe, then read until the connection fails (always by raising)."""
        conn = self._factory.connection_class(**self._factory.connection_kwargs)
        try:
            await conn.connect()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
            async with self._lock:
                self._conn = conn
                channels = self._subs.channels()
                confirmations = [self._expect(channel) for channel in channels]
                for first in range(0, len(channels), _BATCH):
                    await conn.send_command(
                        "SUBSCRIBE",
                        *(self._prefix + c for c in channels[first : first + _BATCH]),
                        check_health=False,
                    )
            # Replies come in order: once the last channel's is in, all are.
            last = confirmations[-1] if confirmations else None
            pinged = False
            while True:
                if not self._ready and (last is None or last.done()):
                    self._become_ready(down_since)
                reply = await conn.read_response(timeout=self._keepalive, disconnect_on_error=False)
                if reply is not None:
                    pinged = False
                    self._handle(reply)
                elif pinged:
                    raise RedisConnectionError(f"no answer to PING within {self._keepalive}s")
                else:
                    await conn.send_command("PING", check_health=False)
                    pinged = True
        finally:
            self._end_session()
            with contextlib.suppress(*_TRANSPORT_ERRORS):
                await conn.disconnect()

    def _become_ready(self, down_since: float | None) -> None:
        self._ready = True
        self._sessions_ready += 1
        self._attempted.set()
        if down_since is not None:
            self.reconnects += 1
            logger.info("redis bus: reconnected after %.1fs", time.monotonic() - down_since)
        self._subs.resumed()

    def _end_session(self) -> None:
        self._ready = False
        self._conn = None
        self._remote.clear()
        # Callers waiting for a confirmation return: their listener stays registered, the next
        # session subscribes it and calls resumed().
        for pending in self._confirmations.values():
            for confirmation in pending:
                if not confirmation.done():
                    confirmation.set_result(None)
        self._confirmations.clear()

    def _handle(self, reply: object) -> None:
        # RESP2 pub/sub replies: [b"message", channel, payload], [b"subscribe", channel, count],
        # [b"unsubscribe", channel, count], [b"pong", b""]; b"PONG" when subscribed to nothing.
        if not isinstance(reply, list) or len(reply) < 3:
            return
        kind, name = reply[0], reply[1]
        if not isinstance(name, bytes):
            return
        channel = self._channel(name)
        if channel is None:
            return
        if kind == b"message":
            self._subs.deliver(channel, reply[2])
        elif kind == b"subscribe":
            pending = self._confirmations.get(channel)
            if pending:
                confirmation = pending.popleft()
                if not pending:
                    del self._confirmations[channel]
                if not confirmation.done():
                    confirmation.set_result(None)

    def _channel(self, name: bytes) -> str | None:
        try:
            text = name.decode()
        except UnicodeDecodeError:
            return None
        return text[len(self._prefix) :] if text.startswith(self._prefix) else None

    def _reader_stopped(self, task: asyncio.Task[None]) -> None:
        # Once the bus is closed the reader is meant to stop; before that, its end means this
        # process receives nothing more, which must be loud.
        error = None if task.cancelled() else task.exception()
        if error is not None:
            logger.critical("redis bus: reader failed; no more messages", exc_info=error)
        elif not self._closed:
            logger.critical("redis bus: reader stopped while the bus is open; no more messages")

    def _publish_failed(self, exc: BaseException) -> None:
        self._publish_failures += 1
        now = time.monotonic()
        if now >= self._next_publish_warning:
            logger.warning(
                "redis bus: publish failed (%s); %d failure(s) since the last warning",
                str(exc) or type(exc).__name__,
                self._publish_failures,
            )
            self._publish_failures = 0
            self._next_publish_warning = now + _WARN_EVERY
