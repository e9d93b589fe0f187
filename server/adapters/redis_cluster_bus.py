"""The Bus port over Redis Cluster with sharded pub/sub (SPUBLISH/SSUBSCRIBE, Redis >= 7).

Sharded pub/sub keeps a channel's messages inside the shard owning its slot (plain pub/sub
broadcasts each to every node), so the bus scales with the shards. URL:
`redis+cluster://[[user]:password@]host:port[,host:port...]`, any reachable nodes
(`cluster_nodes` parses and checks it).

Names: channel `c` is `{prefix}{c}` in Redis, the channel being the hash tag: its slot depends
on the channel alone, and every name built on a thread's tag (`thread:site:thread` now, any
per-thread channel later) lands in one slot. One SSUBSCRIBE or pipeline may only touch one slot,
order holds only within a shard, and a failover or migration then moves a thread's channels
together, so one `resumed()` repairs the whole thread. So the prefix may hold no braces (its own
tag would put every channel in one slot).

Publishing: SPUBLISH to the master owning the slot (map from CLUSTER SLOTS), a small bounded
pool per master, each master's messages pipelined in order, masters in parallel. After MOVED,
ASK, TRYAGAIN, CLUSTERDOWN (not run) or a connection error, the bus refreshes the slot map and
retries what failed once, then answers False; all within `timeout`, never raising. A retry after
a broken link may repeat a message the node did run: rooms drop events whose seq they passed.
ASK needs no ASKING resend: while a slot is half moved, Redis serves sharded pub/sub on the
source node until the slot changes owner (then MOVED and a pushed SUNSUBSCRIBE), so ASK never
answers SPUBLISH or SSUBSCRIBE (`test_an_open_migration_keeps_the_channel_on_its_source`).

Subscribing: one plain connection per master (`Shard`), SSUBSCRIBEd once per channel however
many listeners joined (`Subscriptions` counts them). A supervisor refreshes the slot map when a
shard's connection is lost, when the server pushes SUNSUBSCRIBE (the slot left that node), after
an error reply (MOVED...) or a failed publish, and every `refresh_every` s, then moves channels
to their slot's master. A channel that may have missed messages is "lost": once its SSUBSCRIBE
is confirmed again, its listeners are told `resumed()` and repair from the store. `subscribe()`
returns once Redis confirmed when the shard is up; else at once, and `resumed()` follows.

`connected`: the slot map is known and every shard holding subscriptions has them all, live.
Nothing is queued (messages go to listeners as read; Redis drops a too slow subscriber, which is
a lost connection here), and `close()` cancels every task the bus owns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from redis.asyncio.connection import Connection, SSLConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from server.adapters.redis_cluster_nodes import (
    TRANSPORT_ERRORS,
    Node,
    Publisher,
    Shard,
    cluster_nodes,
    credentials,
    read_slots,
    slot_of,
    tls_options,
)
from server.adapters.redis_publishers import Publishers
from server.adapters.subscriptions import Subscriptions
from server.bus import Listener

__all__ = ["RedisClusterBus", "cluster_nodes"]

logger = logging.getLogger(__name__)

_WARN_EVERY = 30.0  # seconds between two warnings about the same trouble


class RedisClusterBus:
    """Publish/subscribe of bytes on channels, across processes, over Redis Cluster."""

    def __init__(
        self,
        url: str,
        prefix: str = "livethread:",
        *,
        timeout: float = 1.0,
        keepalive: float = 5.0,
        backoff: tuple[float, float] = (0.1, 5.0),
        max_publishers: int = 8,
        refresh_every: float = 30.0,
        address_remap: Callable[[Node], Node] | None = None,
    ) -> None:
        """`address_remap` maps a node as the cluster names it to where to connect (NAT, tests)."""
        if "{" in prefix or "}" in prefix:
            raise ValueError(f"the bus prefix {prefix!r} may not contain braces (a hash tag)")
        self._seeds = cluster_nodes(url)
        self._prefix = prefix
        self._timeout = timeout
        self._keepalive = keepalive
        self._backoff = backoff
        self._max_publishers = max_publishers  # connections per master
        self._refresh_every = refresh_every
        self._remap = address_remap or (lambda node: node)
        username, password = credentials(url)
        self._common: dict[str, Any] = {
            "username": username,
            "password": password,
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            "health_check_interval": 0,  # its PING would read replies meant for the reader
            "retry": Retry(NoBackoff(), 0),  # retrying is the bus's job, after a map refresh
        }
        self._tls = tls_options(url)  # empty: plain TCP
        self._subs = Subscriptions()
        self._lock = asyncio.Lock()
        self._closed = False
        self._slots: list[Node | None] | None = None  # slot -> its master; None: not known yet
        self._map_version = 0
        self._refreshing = asyncio.Lock()
        self._check = asyncio.Event()  # the supervisor should refresh the map and re-place
        self._attempted = asyncio.Event()  # the first map refresh has succeeded or failed
        self._supervisor: asyncio.Task[None] | None = None
        self._shards: dict[Node, Shard] = {}
        self._retiring: set[asyncio.Task[None]] = set()
        self._placed: dict[str, Node] = {}  # channel -> the node it is (to be) subscribed on
        self._lost: set[str] = set()  # wanted, not subscribed now: resumed() once they are
        self._publisher = Publisher(prefix, self._publishers_for)
        self._publishing = asyncio.Semaphore(max_publishers)
        self._publish_failures = 0
        self._next_publish_warning = 0.0

    @property
    def lock(self) -> asyncio.Lock:
        """Serialises placement decisions and SSUBSCRIBE/SUNSUBSCRIBE writes (used by shards)."""
        return self._lock

    @property
    def connected(self) -> bool:
        """The slot map is known and every shard holding subscriptions has them all, live."""
        return (
            not self._closed
            and self._slots is not None
            and not self._lost
            and all(shard.ready for shard in self._shards.values() if shard.channels)
        )

    async def start(self) -> None:
        """Start the supervisor; returns after a first attempt to reach the cluster and its
        masters, even a failed one (an unreachable cluster does not stop the server)."""
        if self._supervisor is not None:
            raise RuntimeError("RedisClusterBus already started")
        self._closed = False
        self._attempted.clear()
        self._supervisor = asyncio.create_task(self._supervise(), name="livethread-cluster-bus")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(3 * self._timeout):
                await self._attempted.wait()
                for shard in list(self._shards.values()):
                    await shard.attempted.wait()

    async def close(self) -> None:
        """Stop every task, drop every listener, close every connection."""
        self._closed = True
        tasks = [self._supervisor, *(shard.cancel() for shard in self._shards.values())]
        tasks.extend(self._retiring)
        self._supervisor = None
        # Cancelling more than once: Python 3.11's asyncio.wait_for, used inside redis-py, can
        # swallow a cancellation that lands as the wrapped operation completes.
        for task in tasks:
            while task is not None and not task.done():
                task.cancel()
                await asyncio.wait([task], timeout=self._timeout)
        self._subs.clear()
        self._shards, self._retiring, self._placed, self._lost = {}, set(), {}, set()
        await self._publisher.aclose()

    # -- publishing ----------------------------------------------------------------------------

    async def publish(self, channel: str, payload: bytes) -> bool:
        """Publish `payload` on `channel`; False (logged, rate-limited) if it cannot."""
        return await self.publish_all(((channel, payload),))

    async def publish_all(self, messages: Sequence[tuple[str, bytes]]) -> bool:
        """Publish each (channel, payload), in order per channel, a round trip per master; False
        (logged, rate-limited) if the cluster is unavailable: then any of them may be lost."""
        if self._closed:
            return False
        try:
            async with asyncio.timeout(self._timeout), self._publishing:
                version = self._map_version
                if self._slots is None:
                    await self._refresh()
                owner = self._owner
                pending, error = await self._publisher.send(owner, list(messages))
                if error is None:
                    return True
                self._check.set()  # subscriptions may have to move too
                await self._refresh(version)
                _, error = await self._publisher.send(owner, pending)
                if error is None:
                    return True
                raise error
        except TRANSPORT_ERRORS as exc:
            self._publish_failed(exc)
            return False

    # -- subscribing ---------------------------------------------------------------------------

    async def subscribe(self, channel: str, listener: Listener) -> None:
        """Add `listener`; when its shard is up, returns once Redis confirmed the subscription.

        If this call is cancelled, a listener it added is removed again: the caller owes no
        unsubscribe.
        """
        added = not self._subs.holds(channel, listener)
        self._subs.add(channel, listener)
        try:
            # Shielded: the connection and the confirmation are shared with other callers.
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

    async def _sync(self, channel: str) -> asyncio.Future[bool] | None:
        """Make the cluster match the registry for `channel`; the confirmation to await, if any."""
        async with self._lock:
            if self._closed:
                return None
            placed = self._placed.get(channel)
            if not self._subs.has(channel):
                self._lost.discard(channel)
                if placed is not None:
                    del self._placed[channel]
                    shard = self._shards.get(placed)
                    if shard is not None:
                        await shard.discard(channel)
                return None
            if placed is None:
                placed = self._owner(channel)
                if placed is None:  # no slot map yet: the supervisor places it
                    self._lost.add(channel)
                    self._check.set()
                    return None
                self._placed[channel] = placed
            confirmation = await self._shard(placed).add(channel)
            if confirmation is None:
                self._lost.add(channel)
            return confirmation

    def _publishers_for(self, node: Node) -> Publishers:
        host, port = self._remap(node)
        options: dict[str, Any] = {"host": host, "port": port, "protocol": 2, **self._common}
        if self._tls:
            options |= {"connection_class": SSLConnection, **self._tls}
        return Publishers(options, self._max_publishers)

    def _owner(self, channel: str) -> Node | None:
        return None if self._slots is None else self._slots[slot_of(self._prefix, channel)]

    def _connection(self, node: Node) -> Connection:
        host, port = self._remap(node)
        if self._tls:
            return SSLConnection(host=host, port=port, protocol=2, **self._common, **self._tls)
        return Connection(host=host, port=port, protocol=2, **self._common)

    def _shard(self, node: Node) -> Shard:
        shard = self._shards.get(node)
        if shard is None:
            connect = partial(self._connection, node)
            shard = Shard(self, node, connect, self._prefix, self._keepalive, self._backoff)
            self._shards[node] = shard
            shard.start()
        return shard

    # -- what shards report (ShardOwner) -------------------------------------------------------

    def shard_message(self, shard: Shard, channel: str, payload: bytes) -> None:
        self._subs.deliver(channel, payload)

    def shard_confirmed(self, shard: Shard, channel: str) -> None:
        if channel in self._lost and self._placed.get(channel) == shard.node:
            self._lost.discard(channel)
            self._subs.resumed([channel])

    def shard_dropped(self, shard: Shard, channel: str) -> None:
        self._lost.add(channel)
        self._check.set()

    def shard_lost(self, shard: Shard) -> None:
        self._lost.update(shard.channels)
        if not self._closed:
            self._check.set()

    # -- the slot map --------------------------------------------------------------------------

    async def _supervise(self) -> None:
        """Refresh the slot map and place every channel on its slot's master, when asked to
        (and every `refresh_every` seconds), until cancelled."""
        low, high = self._backoff
        delay = low
        down_since: float | None = None
        while True:
            self._check.clear()
            try:
                await self._refresh()
                async with self._lock:
                    await self._place_all()
            except Exception as exc:  # a bug too: logged, and the supervisor carries on
                now = time.monotonic()
                if down_since is None or now - down_since >= _WARN_EVERY:
                    bug = not isinstance(exc, TRANSPORT_ERRORS)
                    logger.warning("cluster bus: cannot read the slot map (%s)", exc, exc_info=bug)
                    down_since = now
                self._attempted.set()
                self._check.set()  # try again after the backoff
                await asyncio.sleep(random.uniform(delay / 2, delay))
                delay = min(delay * 2, high)
                continue
            if down_since is not None:
                logger.info("cluster bus: slot map read again")
            down_since, delay = None, low
            self._attempted.set()
            # Pacing, not synchronisation: a failing shard asks again after each attempt.
            await asyncio.sleep(low)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._refresh_every):
                    await self._check.wait()

    async def _place_all(self) -> None:
        """Put every wanted channel on its slot's master; retire shards of former masters."""
        assert self._slots is not None
        masters = {node for node in self._slots if node is not None}
        for node in masters:
            self._shard(node)
        for channel in self._subs.channels():
            owner = self._owner(channel)
            placed = self._placed.get(channel)
            if owner != placed:
                if placed is not None:
                    # Whatever the new owner got before we subscribe there is missed.
                    self._lost.add(channel)
                    del self._placed[channel]
                    old = self._shards.get(placed)
                    if old is not None:
                        await old.discard(channel)
                if owner is None:
                    self._lost.add(channel)
                    continue
                self._placed[channel] = owner
                await self._shards[owner].add(channel)
            elif owner is not None and channel in self._lost:
                await self._shards[owner].add(channel)  # resubscribes one the server dropped
        for node, shard in list(self._shards.items()):
            if node not in masters and not shard.channels:
                del self._shards[node]
                task = shard.cancel()
                if task is not None and not task.done():
                    self._retiring.add(task)
                    task.add_done_callback(self._retiring.discard)
                await self._publisher.drop(node)

    async def _refresh(self, seen: int | None = None) -> None:
        """Read the slot map from the first node that answers; skipped if it changed since
        version `seen` (someone else refreshed it meanwhile)."""
        async with self._refreshing:
            if seen is not None and self._map_version != seen:
                return
            known = [] if self._slots is None else list(dict.fromkeys(self._slots))
            # Nodes whose shard is up first: a dead one may cost a whole connect timeout.
            live = [n for n in known if n is not None and (s := self._shards.get(n)) and s.ready]
            error: BaseException = RedisConnectionError("no cluster node to ask")
            for node in dict.fromkeys([*live, *known, *self._seeds]):
                if node is None:
                    continue
                try:
                    self._slots = await read_slots(self._connection(node), node)
                except TRANSPORT_ERRORS as exc:
                    error = exc
                    continue
                self._map_version += 1
                return
            raise error

    # -- logging -------------------------------------------------------------------------------

    def _publish_failed(self, exc: BaseException) -> None:
        self._publish_failures += 1
        if (now := time.monotonic()) >= self._next_publish_warning:
            failures, self._publish_failures = self._publish_failures, 0
            self._next_publish_warning = now + _WARN_EVERY
            message = "cluster bus: publish failed (%s); %d failure(s) since the last warning"
            logger.warning(message, str(exc) or type(exc).__name__, failures)
