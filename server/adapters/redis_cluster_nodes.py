"""Talking to a Redis Cluster's nodes, for the cluster bus (`redis_cluster_bus`): the URL (from
`redis_cluster_url`), the slot map, `Publisher` (SPUBLISH) and `Shard` (SSUBSCRIBE on one
master).

A `Shard` owns one plain connection to one master and a supervised reader task. Its `channels`
are those the bus placed on that node; each session (connect, SSUBSCRIBE them all, read) ends
by raising, on a lost connection, a silent one (PING unanswered within `keepalive`), or any
error reply (MOVED, ASK, CLUSTERDOWN: the slot map moved). The shard reports to its owner, the
bus, which decides where channels go and whom to tell `resumed()`, under its lock (which also
serialises the SSUBSCRIBE/SUNSUBSCRIBE writes on the shard's connection).

RESP2, bytes: the replies are [b"smessage", name, payload], [b"ssubscribe", name, count],
[b"sunsubscribe", name, count] (ours, or pushed by the server when the slot left this node),
[b"pong", b""] (or b"PONG" while nothing is subscribed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter, deque
from collections.abc import Callable
from itertools import groupby
from typing import Protocol

from redis.asyncio.connection import AbstractConnection
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot
from redis.exceptions import ClusterDownError, RedisError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError

from server.adapters.redis_cluster_url import cluster_nodes, credentials, tls_options
from server.adapters.redis_publishers import Publishers

# The URL is parsed in its own module (redis_cluster_url.py); its functions are named here too,
# with the rest of what the cluster's users need.
__all__ = [
    "TRANSPORT_ERRORS",
    "Node",
    "Publisher",
    "Shard",
    "ShardOwner",
    "channel_name",
    "channel_of",
    "cluster_nodes",
    "credentials",
    "read_slots",
    "slot_of",
    "tls_options",
]

logger = logging.getLogger(__name__)

Node = tuple[str, int]  # a cluster node as the cluster names it (CLUSTER SLOTS)

# What a lost or refused connection raises: redis-py wraps most socket errors, not all
# (asyncio's TimeoutError is an OSError).
TRANSPORT_ERRORS = (RedisError, OSError)

_BATCH = 1000  # channels per SSUBSCRIBE when resubscribing, to keep each command modest
_WARN_EVERY = 30.0  # seconds between two warnings that a node is still unavailable


async def read_slots(conn: AbstractConnection, node: Node) -> list[Node | None]:
    """The slot map (slot -> master) as `node`, reached over `conn` (closed after), sees it."""
    try:
        await conn.connect()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
        await conn.send_command("CLUSTER", "SLOTS", check_health=False)
        reply = await conn.read_response()
    finally:
        with contextlib.suppress(*TRANSPORT_ERRORS):
            await conn.disconnect()
    slots: list[Node | None] = [None] * REDIS_CLUSTER_HASH_SLOTS
    for first, last, master, *_ in reply:
        # An empty host (or "?") means "the address you reached me on".
        name = master[0].decode() if isinstance(master[0], bytes) else str(master[0])
        owner = (name if name not in ("", "?") else node[0], int(master[1]))
        slots[int(first) : int(last) + 1] = [owner] * (int(last) - int(first) + 1)
    return slots


def channel_name(prefix: str, channel: str) -> str:
    """The Redis name of `channel`: the prefix, then the channel as the hash tag."""
    return f"{prefix}{{{channel}}}"


def channel_of(prefix: str, name: bytes) -> str | None:
    """The bus channel a Redis name stands for, or None if it is not one of this bus's."""
    head = f"{prefix}{{".encode()
    if not name.startswith(head) or not name.endswith(b"}"):
        return None
    return name[len(head) : -1].decode(errors="replace")


def slot_of(prefix: str, channel: str) -> int:
    return key_slot(channel_name(prefix, channel).encode())


class Publisher:
    """SPUBLISH to each message's master, in one write per master, on that master's own
    publishing connections (redis_publishers.py)."""

    def __init__(self, prefix: str, publishers_for: Callable[[Node], Publishers]) -> None:
        self._prefix = prefix
        self._publishers_for = publishers_for
        self._publishers: dict[Node, Publishers] = {}

    async def send(
        self, owner: Callable[[str], Node | None], messages: list[tuple[str, bytes]]
    ) -> tuple[list[tuple[str, bytes]], BaseException | None]:
        """One attempt: the messages that failed (in order), and the last error, if any."""
        groups: dict[Node, list[int]] = {}
        failed: list[int] = []
        for index, (channel, _) in enumerate(messages):
            node = owner(channel)
            if node is None:
                failed.append(index)
            else:
                groups.setdefault(node, []).append(index)
        error: BaseException | None = (
            ClusterDownError("no master serves a slot") if failed else None
        )
        nodes = list(groups)
        attempts = [self._attempt(node, [messages[i] for i in groups[node]]) for node in nodes]
        # One master (the usual case) is awaited here: gather would make it a task, and its
        # write would wait for the event loop's next turn.
        results = [await attempts[0]] if len(attempts) == 1 else await asyncio.gather(*attempts)
        for node, result in zip(nodes, results, strict=True):
            if isinstance(result, TRANSPORT_ERRORS):
                failed.extend(groups[node])
                error = result
            elif isinstance(result, BaseException):
                raise result
            else:
                for index, reply in zip(groups[node], result, strict=True):
                    if isinstance(reply, ResponseError):  # MOVED, ASK...: not run
                        failed.append(index)
                        error = reply
        return [messages[i] for i in sorted(failed)], error

    async def _attempt(
        self, node: Node, messages: list[tuple[str, bytes]]
    ) -> list[object] | Exception:
        """The master's replies, or what its connection raised."""
        publishers = self._publishers.get(node)
        if publishers is None:
            publishers = self._publishers[node] = self._publishers_for(node)
        try:
            return await publishers.send(
                [("SPUBLISH", channel_name(self._prefix, c), p) for c, p in messages]
            )
        except Exception as exc:
            return exc

    async def drop(self, node: Node) -> None:
        publishers = self._publishers.pop(node, None)
        if publishers is not None:
            await publishers.close()

    async def aclose(self) -> None:
        for node in list(self._publishers):
            await self.drop(node)


class ShardOwner(Protocol):
    """What a shard needs from the bus that owns it."""

    @property
    def lock(self) -> asyncio.Lock: ...

    def shard_message(self, shard: Shard, channel: str, payload: bytes) -> None: ...

    def shard_confirmed(self, shard: Shard, channel: str) -> None: ...  # SSUBSCRIBE confirmed

    def shard_dropped(self, shard: Shard, channel: str) -> None: ...  # server's SUNSUBSCRIBE

    def shard_lost(self, shard: Shard) -> None: ...  # session over: nothing subscribed


class Shard:
    """One connection to one master, SSUBSCRIBEd to the channels placed on it."""

    def __init__(
        self,
        owner: ShardOwner,
        node: Node,
        connect: Callable[[], AbstractConnection],
        prefix: str,
        keepalive: float,
        backoff: tuple[float, float],
    ) -> None:
        self.node = node
        self.channels: set[str] = set()  # placed here, subscribed or to be
        self.ready = False  # a session is up and has confirmed its initial SSUBSCRIBEs
        self.attempted = asyncio.Event()  # the first session got ready or failed
        self._owner = owner
        self._connect = connect
        self._prefix = prefix
        self._keepalive = keepalive
        self._backoff_min, self._backoff_max = backoff
        self._task: asyncio.Task[None] | None = None
        self._conn: AbstractConnection | None = None
        # Per session: channel -> confirmation (True: confirmed; False: the session ended first)
        # of the SSUBSCRIBE sent for it; the server answers in order, so per channel the oldest
        # unanswered one is the one an "ssubscribe" reply confirms.
        self._remote: dict[str, asyncio.Future[bool]] = {}
        self._confirmations: dict[str, deque[asyncio.Future[bool]]] = {}
        self._unsubscribing: Counter[str] = Counter()  # our SUNSUBSCRIBEs not answered yet
        self._sessions_ready = 0

    @property
    def live(self) -> bool:
        # Checked before every write: redis-py would otherwise silently reconnect a dropped
        # connection on send, behind the reader's back.
        return self._conn is not None and self._conn.is_connected

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"livethread-cluster-bus-{self.node}")

    def cancel(self) -> asyncio.Task[None] | None:
        """Ask the reader to stop; the task to await (the owner keeps it until it ends)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        return self._task

    # -- called under the owner's lock ---------------------------------------------------------

    async def add(self, channel: str) -> asyncio.Future[bool] | None:
        """Place `channel` here; the confirmation to await, None if the session is down (the
        next one subscribes it)."""
        self.channels.add(channel)
        if not self.live:
            return None
        confirmation = self._remote.get(channel)
        if confirmation is None:
            confirmation = self._expect(channel)
            await self._send("SSUBSCRIBE", channel)
        return confirmation

    async def discard(self, channel: str) -> None:
        """Take `channel` off this shard, unsubscribing it if it is subscribed."""
        self.channels.discard(channel)
        if self.live and self._remote.pop(channel, None) is not None:
            self._unsubscribing[channel] += 1
            await self._send("SUNSUBSCRIBE", channel)

    def _expect(self, channel: str) -> asyncio.Future[bool]:
        confirmation: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._remote[channel] = confirmation
        self._confirmations.setdefault(channel, deque()).append(confirmation)
        return confirmation

    async def _send(self, command: str, *channels: str) -> None:
        assert self._conn is not None
        try:
            await self._conn.send_command(
                command, *(channel_name(self._prefix, c) for c in channels), check_health=False
            )
        except TRANSPORT_ERRORS as exc:
            # The connection is now closed; the reader sees it and reconnects.
            logger.debug("cluster bus: %s on %s failed: %s", command, self.node, exc)

    # -- the reader ----------------------------------------------------------------------------

    async def _run(self) -> None:
        delay, next_warning = self._backoff_min, 0.0
        while True:
            started, ready_before = time.monotonic(), self._sessions_ready
            error: BaseException | None = None
            try:
                await self._session()
            except TRANSPORT_ERRORS as exc:
                error = exc
            except Exception as exc:
                logger.exception("cluster bus: reader of %s failed; reconnecting", self.node)
                error = exc
            self.attempted.set()
            now = time.monotonic()
            # Expected in a failover (the bus moves the channels): warned once per outage, then
            # every _WARN_EVERY seconds.
            if self._sessions_ready != ready_before or now >= next_warning:
                logger.warning("cluster bus: lost or cannot reach %s (%s)", self.node, error)
                next_warning = now + _WARN_EVERY
            # Only a session that lasted restarts the backoff: one that fails right after
            # connecting (MOVED on every SSUBSCRIBE, a bad ACL) must not loop hot.
            if now - started >= self._backoff_max:
                delay = self._backoff_min
            # Backoff, not synchronisation: nothing signals that the node is back but trying.
            await asyncio.sleep(random.uniform(delay / 2, delay))
            delay = min(delay * 2, self._backoff_max)

    async def _session(self) -> None:
        """Connect, subscribe every channel, then read until the connection fails (by raising)."""
        conn = self._connect()
        try:
            await conn.connect()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
            async with self._owner.lock:
                self._conn = conn
                confirmations: list[asyncio.Future[bool]] = []
                # One SSUBSCRIBE may only name channels of one slot (else CROSSSLOT).
                by_slot = sorted(self.channels, key=lambda c: slot_of(self._prefix, c))
                for _, group in groupby(by_slot, key=lambda c: slot_of(self._prefix, c)):
                    channels = list(group)
                    for first in range(0, len(channels), _BATCH):
                        batch = channels[first : first + _BATCH]
                        confirmations.extend(self._expect(c) for c in batch)
                        await conn.send_command(
                            "SSUBSCRIBE",
                            *(channel_name(self._prefix, c) for c in batch),
                            check_health=False,
                        )
            last = confirmations[-1] if confirmations else None  # replies come in order
            pinged = False
            while True:
                if not self.ready and (last is None or last.done()):
                    self.ready = True
                    self._sessions_ready += 1
                    self.attempted.set()
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
            with contextlib.suppress(*TRANSPORT_ERRORS):
                await conn.disconnect()

    def _end_session(self) -> None:
        self.ready = False
        self._conn = None
        self._remote.clear()
        self._unsubscribing.clear()
        # Callers waiting for a confirmation return: their listener stays registered, and the
        # owner resubscribes the channel (here or on its new node), then calls resumed().
        for pending in self._confirmations.values():
            for confirmation in pending:
                if not confirmation.done():
                    confirmation.set_result(False)
        self._confirmations.clear()
        self._owner.shard_lost(self)

    def _handle(self, reply: object) -> None:
        if not isinstance(reply, list) or len(reply) < 3 or not isinstance(reply[1], bytes):
            return
        kind, channel = reply[0], channel_of(self._prefix, reply[1])
        if channel is None:
            return
        if kind == b"smessage":
            # Only for channels placed here: after a move, the old node may still send some.
            if channel in self.channels:
                self._owner.shard_message(self, channel, reply[2])
        elif kind == b"ssubscribe":
            pending = self._confirmations.get(channel)
            if pending:
                confirmation = pending.popleft()
                if not pending:
                    del self._confirmations[channel]
                if not confirmation.done():
                    confirmation.set_result(True)
            if channel in self.channels:
                self._owner.shard_confirmed(self, channel)
        elif kind == b"sunsubscribe":
            if self._unsubscribing[channel] > 0:  # the answer to ours
                self._unsubscribing[channel] -= 1
                if not self._unsubscribing[channel]:
                    del self._unsubscribing[channel]
            else:  # pushed: the slot is no longer served here
                self._remote.pop(channel, None)
                if channel in self.channels:
                    self._owner.shard_dropped(self, channel)
