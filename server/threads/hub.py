"""This process's readers, per thread: the rooms, their bus subscriptions and their repairs.

One bus subscription per thread per process (a Room, server/threads/room.py), however many
sockets read the thread. Each event arrives as the bytes the store committed; the room hands the
same bytes object to every member, which sends it without waiting (no await per socket); large
rooms hand it out a chunk per turn of the event loop, rooms taking turns (fanout.py). A room
keeps its thread's order and, when it finds a gap, asks the hub to read the missing events from
the store: the hub does all the I/O (the bus, the store, the tasks), the room none.

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
import secrets
from collections.abc import Coroutine
from typing import Any

from server import channels, events, metrics
from server.bus import Bus
from server.model import ThreadKey
from server.storage import StoreUnavailable
from server.threads import presence
from server.threads.fanout import Fanout, Kind, Member
from server.threads.ports import EventLog, Threads
from server.threads.room import Room

log = logging.getLogger(__name__)


class Hub:
    """Rooms by thread; joins and leaves; the background repairs it owns."""

    def __init__(
        self,
        threads: Threads,
        log: EventLog,
        bus: Bus,
        *,
        backlog_limit: int = 1000,
        held_limit: int = 4096,
        tail_interval: float = 0.5,
        chunk: int = 64,
        outbox_limit: int = 1024,
        subscribe_wait: float = 0.1,
        presence_every: float = 2.0,
    ) -> None:
        self._threads = threads
        self._log = log
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
        self._rooms: dict[ThreadKey, Room] = {}
        # Presence: how often readers are counted and told, this process's id in the reports,
        # and the count of ticks so far (server/threads/presence.py).
        self.presence_every = presence_every
        self._process = secrets.token_hex(6)
        self._tick = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._cursor = 0

    async def start(self) -> None:
        """Begin watching the log's tail from its current end."""
        self._cursor = await self._log.end()
        self.spawn(self._watch_tail(), "tail watch")
        self.spawn(self._count_readers(), "presence")

    async def _count_readers(self) -> None:
        while True:
            await asyncio.sleep(self.presence_every)
            try:
                await self.census()
            except Exception:
                log.exception("counting readers failed; retrying")

    async def census(self) -> None:
        """One presence tick: report this process's readers of each room where they changed
        (or a heartbeat is due), and tell each room's readers a total that moved."""
        self._tick += 1
        reports: list[tuple[str, bytes]] = []
        for key, room in self._rooms.items():
            census, local = room.census, _readers(room)
            # A room kept only for the live counts has no readers to report: saying 0 once, when
            # its last reader left, is enough (a heartbeat of nobody tells no one anything).
            quiet = local == 0 and census.reported in (None, 0)
            if not quiet and (
                local != census.reported or self._tick - census.reported_at >= presence.HEARTBEAT
            ):
                reports.append((channels.thread(key), presence.message(self._process, local)))
                census.reported, census.reported_at = local, self._tick
            total = census.total(self._process, local, self._tick)
            if total != census.shown:
                census.shown = total
                frame = events.encode(events.Presence(count=total))
                self.send(room, room.seq or 0, frame, "aside")
        if reports and not await self.bus.publish_all(reports):
            log.warning("bus unavailable; presence of %d threads not reported", len(reports))

    async def _watch_tail(self) -> None:
        # A periodic safety net, not the delivery path: the bus delivers in about a
        # millisecond; this catches what the bus never carried.
        while True:
            await asyncio.sleep(self.tail_interval)
            try:
                await self.check_tail()
            except StoreUnavailable as exc:
                # The store is away (an outage, a failover): expected, said in one line.
                log.warning("reading the event log's tail failed (%s); retrying", exc)
            except Exception:
                log.exception("reading the event log's tail failed; retrying")

    async def check_tail(self) -> None:
        """Compare the newest committed seq of each thread with this process's rooms."""
        while True:
            entries = await self._log.after(self._cursor, self.backlog_limit)
            newest: dict[ThreadKey, int] = {}
            for entry in entries:
                newest[entry.key] = entry.seq
            for key, seq in newest.items():
                room = self._rooms.get(key)
                if room is not None:
                    room.store_reached(seq)
            if entries:
                self._cursor = entries[-1].position
            if len(entries) < self.backlog_limit:
                return

    def send(self, room: Room, seq: int, payload: bytes, kind: Kind) -> None:
        """Hand a frame to the room's members as they are now (server/threads/fanout.py)."""
        members = tuple(room.members)
        self._fanout.send(room.outbox, members, seq, payload, kind)
        metrics.handed(room.key, seq, len(members), len(payload), kind == "push")

    def readers(self, key: ThreadKey) -> int:
        room = self._rooms.get(key)
        return 0 if room is None else _readers(room)

    def members(self, key: ThreadKey) -> frozenset[Member]:
        room = self._rooms.get(key)
        return frozenset() if room is None else frozenset(room.members)

    def rooms(self) -> int:
        return len(self._rooms)

    async def join(self, key: ThreadKey, member: Member) -> int:
        """Add a member once the room receives the thread's events; returns the room's seq.

        When this returns, every event committed after the returned seq will reach the
        member, so a caller may then read the backlog without missing anything: through the
        bus, or, while the bus has not confirmed the room's subscription, through the log-tail
        check and the catch-up that follows the confirmation.
        """
        room = self._rooms.get(key)
        if room is None:
            room = Room(
                key,
                send=self.send,
                repair=self._repair,
                held_limit=self.held_limit,
                tick=lambda: self._tick,
            )
            self._rooms[key] = room
            room.members.add(member)
            try:
                await self._subscribe(room)
                state = await self._threads.state(key)
                room.start(state.seq)
            except BaseException:
                room.failed = True
                self._rooms.pop(key, None)
                await self.bus.unsubscribe(channels.thread(key), room)
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
        channel = channels.thread(room.key)
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
            log.error("subscribing %s failed", room.key, exc_info=error)
        elif self._rooms.get(room.key) is room:
            room.resumed()

    async def leave(self, key: ThreadKey, member: Member) -> None:
        room = self._forget(key, member)
        if room is not None:
            await self.bus.unsubscribe(channels.thread(key), room)

    def discard(self, key: ThreadKey, member: Member) -> None:
        """`leave` for a caller that cannot wait: the room's unsubscribe runs as a hub task."""
        room = self._forget(key, member)
        if room is not None:
            channel = channels.thread(key)
            self.spawn(self.bus.unsubscribe(channel, room), f"unsubscribe {channel}")

    def _forget(self, key: ThreadKey, member: Member) -> Room | None:
        """Remove the member; returns its room if that was the last member (now gone)."""
        room = self._rooms.get(key)
        if room is None or member not in room.members:
            return None
        room.members.discard(member)
        if room.members:
            return None
        del self._rooms[key]
        if room.census.reported:
            # Its last reader left: the other processes stop counting them now, not at TTL.
            channel = channels.thread(key)
            gone = presence.message(self._process, 0)
            self.spawn(self._report_gone(channel, gone), f"presence {channel}")
        return room

    async def _report_gone(self, channel: str, report: bytes) -> None:
        await self.bus.publish(channel, report)

    def _repair(self, room: Room) -> None:
        metrics.REPAIRS.inc()
        self.spawn(self._catch_up(room), f"repair {room.key}")

    async def _catch_up(self, room: Room) -> None:
        """Read the room's missing events from the store until it is whole."""
        try:
            while True:
                assert room.seq is not None
                missed = await self._log.events_after(room.key, room.seq, self.backlog_limit)
                if room.repaired(missed, self.backlog_limit):
                    return
        finally:
            room.repair_ended()

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
        for key, room in tuple(self._rooms.items()):
            await self.bus.unsubscribe(channels.thread(key), room)
        self._rooms.clear()


def _readers(room: Room) -> int:
    """The room's members that are people reading (not the live counts' watcher)."""
    return sum(1 for member in room.members if member.reader)
