"""This process's readers, per thread, and the fan-out of each thread's events to them.

One bus subscription per thread per process (a Room), however many sockets read the thread.
Each event arrives as the bytes the store committed; the room hands the same bytes object to
every member, which sends it without waiting (no await per socket); large rooms hand it out a
chunk per turn of the event loop, rooms taking turns (server/fanout.py).

The room also keeps the thread's order: it knows the last seq it passed on, and when an event
arrives ahead of it (a message lost on the bus, two processes publishing out of order, the bus
reconnecting) it reads the missing events from the store before going on. So members see every
event exactly once and in seq order, or are told to resync.

The bus is fast but forgetful; the store is the truth. So the hub also reads the tail of the
store-wide event log every `tail_interval` seconds: a room behind the newest committed seq of
its thread catches up from the store. That is how an event committed by a process that died
before publishing, or committed while Redis was down, still reaches every reader, within about
one interval, with no bus message at all.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from collections.abc import Coroutine
from typing import Any

import msgspec

from server import channels, events
from server.fanout import Fanout, Line, Member
from server.ports import Bus, Store

log = logging.getLogger(__name__)


class Room:
    """One thread's members in this process; the bus listener for the thread's channel."""

    def __init__(self, hub: Hub, site: str, thread: str) -> None:
        self.site = site
        self.thread = thread
        self.members: set[Member] = set()
        self.ready = asyncio.Event()
        self.failed = False
        self._hub = hub
        self._seq: int | None = None  # last seq passed on; None until the room has started
        # Events that arrived while the room was starting or repairing a gap. Dropping the
        # oldest is safe: they are all committed, so a later repair reads them back.
        self._held: deque[bytes] = deque(maxlen=hub.held_limit)
        self._repairing = False
        # This room's events still being handed out (the hub's `send`), oldest first.
        self.outbox: Line = deque()
        # Set when the store is known to hold more (a tail check, the bus resuming) while a
        # repair is running: that repair may have read the store before, so it reads again.
        self._again = False

    @property
    def seq(self) -> int | None:
        return self._seq

    def start(self, seq: int) -> None:
        self._seq = seq
        self._drain_held()

    def deliver(self, payload: bytes) -> None:
        if self._seq is None or self._repairing:
            self._held.append(payload)
            return
        try:
            seq = events.seq_of(payload)
        except msgspec.DecodeError:
            log.error("dropping undecodable event on %s/%s", self.site, self.thread)
            return
        if seq <= self._seq:
            return
        if seq == self._seq + 1:
            self._fanout(seq, payload)
            return
        self._held.append(payload)
        self._repair()

    def resumed(self) -> None:
        # Anything published while the bus was away is lost from the bus, not from the store.
        if self._seq is not None:
            self._repair_or_again()

    def store_reached(self, seq: int) -> None:
        """The store has the thread at `seq`; catch up if this room has not passed it on yet."""
        if self._seq is not None and seq > self._seq:
            self._repair_or_again()

    def _repair_or_again(self) -> None:
        if self._repairing:
            self._again = True
        else:
            self._repair()

    def _fanout(self, seq: int, payload: bytes) -> None:
        self._seq = seq
        self._hub.send(self, seq, payload, False)

    def _drain_held(self) -> bool:
        """Pass on held events in order; True if all could be, False if a gap remains."""
        assert self._seq is not None
        pending: dict[int, bytes] = {}
        while self._held:
            payload = self._held.popleft()
            try:
                pending[events.seq_of(payload)] = payload
            except msgspec.DecodeError:
                log.error("dropping undecodable event on %s/%s", self.site, self.thread)
        for seq in sorted(pending):
            if seq <= self._seq:
                continue
            if seq != self._seq + 1:
                self._held.extend(pending[s] for s in sorted(pending) if s >= seq)
                if not self._repairing:
                    self._repair()
                return False
            self._fanout(seq, pending[seq])
        return True

    def _repair(self) -> None:
        self._repairing = True
        self._again = False
        self._hub.spawn(self._catch_up(), f"repair {self.site}/{self.thread}")

    async def _catch_up(self) -> None:
        try:
            while True:
                assert self._seq is not None
                missed = await self._hub.store.events_after(
                    self.site, self.thread, self._seq, self._hub.backlog_limit
                )
                if missed and missed[0].seq != self._seq + 1:
                    self._resync(missed[-1].seq, "pruned")
                    missed = []
                for event in missed:
                    if event.seq == self._seq + 1:
                        self._fanout(event.seq, event.payload)
                if len(missed) < self._hub.backlog_limit and self._drain_held_quietly():
                    if not self._again:
                        return
                    self._again = False
        finally:
            self._repairing = False

    def _drain_held_quietly(self) -> bool:
        # Called from inside a repair: a remaining gap loops the repair instead of spawning one.
        repairing, self._repairing = self._repairing, True
        try:
            return self._drain_held()
        finally:
            self._repairing = repairing

    def _resync(self, seq: int, reason: str) -> None:
        self._seq = seq
        payload = events.encode(events.Resync(seq=seq, reason=reason))
        self._hub.send(self, seq, payload, True)


class Hub:
    """Rooms by thread; joins and leaves; the background repairs it owns."""

    def __init__(
        self,
        store: Store,
        bus: Bus,
        *,
        backlog_limit: int = 1000,
        held_limit: int = 4096,
        tail_interval: float = 0.5,
        chunk: int = 64,
        outbox_limit: int = 1024,
        subscribe_wait: float = 0.1,
    ) -> None:
        self.store = store
        self.bus = bus
        self.backlog_limit = backlog_limit
        self.held_limit = held_limit
        self.tail_interval = tail_interval
        # How long a new room's first reader waits for the bus to confirm its subscription
        # (Redis answers in about a millisecond) before going on without it (see `_subscribe`).
        self.subscribe_wait = subscribe_wait
        # 64 members a turn: fewer cost more CPU per delivery, more held other threads' events
        # longer and raised the p99 (bench/fanout.py; figures in bench/RESULTS.md).
        self._fanout = Fanout(chunk=chunk, limit=outbox_limit)
        self._rooms: dict[tuple[str, str], Room] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._cursor = 0

    async def start(self) -> None:
        """Begin watching the log's tail from its current end."""
        self._cursor = await self.store.log_end()
        self.spawn(self._watch_tail(), "tail watch")

    async def _watch_tail(self) -> None:
        # A periodic safety net, not the delivery path: the bus delivers in about a
        # millisecond; this catches what the bus never carried.
        while True:
            await asyncio.sleep(self.tail_interval)
            try:
                await self.check_tail()
            except Exception:
                log.exception("reading the event log's tail failed; retrying")

    async def check_tail(self) -> None:
        """Compare the newest committed seq of each thread with this process's rooms."""
        while True:
            entries = await self.store.log_after(self._cursor, self.backlog_limit)
            newest: dict[tuple[str, str], int] = {}
            for entry in entries:
                newest[(entry.site, entry.thread)] = entry.seq
            for key, seq in newest.items():
                room = self._rooms.get(key)
                if room is not None:
                    room.store_reached(seq)
            if entries:
                self._cursor = entries[-1].position
            if len(entries) < self.backlog_limit:
                return

    def send(self, room: Room, seq: int, payload: bytes, is_reset: bool) -> None:
        """Hand an event to the room's members as they are now (server/fanout.py)."""
        self._fanout.send(room.outbox, tuple(room.members), seq, payload, is_reset)

    def readers(self, site: str, thread: str) -> int:
        room = self._rooms.get((site, thread))
        return 0 if room is None else len(room.members)

    def members(self, site: str, thread: str) -> frozenset[Member]:
        room = self._rooms.get((site, thread))
        return frozenset() if room is None else frozenset(room.members)

    def rooms(self) -> int:
        return len(self._rooms)

    async def join(self, site: str, thread: str, member: Member) -> int:
        """Add a member once the room receives the thread's events; returns the room's seq.

        When this returns, every event committed after the returned seq will reach the
        member, so a caller may then read the backlog without missing anything: through the
        bus, or, while the bus has not confirmed the room's subscription, through the log-tail
        check and the catch-up that follows the confirmation.
        """
        key = (site, thread)
        room = self._rooms.get(key)
        if room is None:
            room = Room(self, site, thread)
            self._rooms[key] = room
            room.members.add(member)
            try:
                await self._subscribe(room)
                state = await self.store.thread_state(site, thread)
                room.start(state.seq)
            except BaseException:
                room.failed = True
                self._rooms.pop(key, None)
                await self.bus.unsubscribe(channels.thread(site, thread), room)
                raise
            finally:
                room.ready.set()
        else:
            room.members.add(member)
            await room.ready.wait()
            if room.failed:
                raise RuntimeError("the thread's subscription could not be set up")
        assert room.seq is not None
        return room.seq

    async def _subscribe(self, room: Room) -> None:
        """Subscribe the room; if the bus does not answer within `subscribe_wait` (a hung
        Redis: the subscriber's keepalive takes ~10 s to notice), go on without it, leaving the
        subscription to finish as a hub task: until then the log-tail check delivers the
        thread's events, and once it is confirmed the room reads back what it may have missed."""
        channel = channels.thread(room.site, room.thread)
        loop = asyncio.get_running_loop()
        subscribing = loop.create_task(
            self.bus.subscribe(channel, room), name=f"subscribe {channel}"
        )
        try:
            await asyncio.wait({subscribing}, timeout=self.subscribe_wait)
        except BaseException:
            subscribing.cancel()
            raise
        if subscribing.done():
            subscribing.result()
            return
        log.warning(
            "the bus has not confirmed %s yet; its readers are served from the event log", channel
        )
        self._tasks.add(subscribing)
        subscribing.add_done_callback(functools.partial(self._subscribed_late, room))

    def _subscribed_late(self, room: Room, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.error("subscribing %s/%s failed", room.site, room.thread, exc_info=error)
        elif self._rooms.get((room.site, room.thread)) is room:
            room.resumed()

    async def leave(self, site: str, thread: str, member: Member) -> None:
        room = self._forget(site, thread, member)
        if room is not None:
            await self.bus.unsubscribe(channels.thread(site, thread), room)

    def discard(self, site: str, thread: str, member: Member) -> None:
        """`leave` for a caller that cannot wait: the room's unsubscribe runs as a hub task."""
        room = self._forget(site, thread, member)
        if room is not None:
            channel = channels.thread(site, thread)
            self.spawn(self.bus.unsubscribe(channel, room), f"unsubscribe {channel}")

    def _forget(self, site: str, thread: str, member: Member) -> Room | None:
        """Remove the member; returns its room if that was the last member (now gone)."""
        key = (site, thread)
        room = self._rooms.get(key)
        if room is None or member not in room.members:
            return None
        room.members.discard(member)
        if room.members:
            return None
        del self._rooms[key]
        return room

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run a coroutine owned by the hub: kept until done, failure logged, cancelled on close."""
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("hub task %s failed", task.get_name(), exc_info=task.exception())

    async def close(self) -> None:
        self._fanout.close()
        for task in tuple(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for (site, thread), room in tuple(self._rooms.items()):
            await self.bus.unsubscribe(channels.thread(site, thread), room)
        self._rooms.clear()
