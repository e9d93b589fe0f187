"""One thread's readers in this process, and the order of its events: I/O-free.

The room knows the last seq it passed on. An event that arrives ahead of it (a message lost on
the bus, two processes publishing out of order, the bus reconnecting) is held, and the room
asks its owner to read the missing events from the store (`repair`); the owner hands what it
read to `repaired`, and the room goes on in order. So members see every event exactly once and
in seq order, or are told to resync. The room never awaits: the hub (server/threads/hub.py)
does the reading, and the fan-out scheduler (server/threads/fanout.py) the sending.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence

import msgspec

from server import events
from server.channels import EVERYONE
from server.model import ThreadKey
from server.threads import own, presence
from server.threads.fanout import Kind, Line, Member
from server.threads.ports import StoredEvent

log = logging.getLogger(__name__)


class Room:
    """One thread's members in this process; the bus listener for the thread's channel."""

    def __init__(
        self,
        key: ThreadKey,
        *,
        send: Callable[[Room, int, bytes, Kind], None],
        repair: Callable[[Room], None],
        held_limit: int = 4096,
        tick: Callable[[], int] = lambda: 0,
    ) -> None:
        """`send(room, seq, payload, kind)` hands a frame to the members (a `fanout.Kind`);
        `repair(room)` asks for the events after `room.seq` to be read and given to `repaired`
        (one repair at a time: the room does not ask again until `repair_ended`)."""
        self.key = key
        self.members: set[Member] = set()
        # Other processes' readers of the thread, as they report them (server/threads/presence.py).
        self.census = presence.Census()
        self._tick = tick
        self.ready = asyncio.Event()
        self.failed = False
        self._send = send
        self._ask_repair = repair
        self._seq: int | None = None  # last seq passed on; None until the room has started
        # Events that arrived while the room was starting or repairing a gap. Dropping the
        # oldest is safe: they are all committed, so a later repair reads them back.
        self._held: deque[bytes] = deque(maxlen=held_limit)
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
        if not payload.startswith(b"{"):
            # Every event is a JSON object; what is not one is a frame aside the seq order.
            self._aside(payload)
            return
        if self._seq is None or self._repairing:
            self._held.append(payload)
            return
        try:
            seq = events.seq_of(payload)
        except msgspec.DecodeError:
            log.error("dropping undecodable event on %s", self.key)
            return
        if seq <= self._seq:
            return
        if seq == self._seq + 1:
            self._fanout(seq, payload)
            return
        self._held.append(payload)
        self._repair()

    def _aside(self, payload: bytes) -> None:
        """A thread-channel message that is no event: no seq, nothing to hold or repair."""
        if payload.startswith(EVERYONE):
            # For every member (reaction counts), after the events handed out before it.
            self._send(self, self._seq or 0, payload[len(EVERYONE) :], "aside")
            return
        heard = presence.parse(payload)
        if heard is not None:
            self.census.heard(*heard, self._tick())
            return
        mine = own.parse(payload)
        if mine is None:
            log.error("dropping an unknown message on %s", self.key)
            return
        address, frame = mine  # for its author's sockets only
        for member in self.members:
            if member.address == address:
                member.aside(frame)

    def resumed(self) -> None:
        # Anything published while the bus was away is lost from the bus, not from the store.
        if self._seq is not None:
            self._repair_or_again()

    def store_reached(self, seq: int) -> None:
        """The store has the thread at `seq`; catch up if this room has not passed it on yet."""
        if self._seq is not None and seq > self._seq:
            self._repair_or_again()

    def repaired(self, missed: Sequence[StoredEvent], limit: int) -> bool:
        """Pass on `missed`, the events read after `seq` (at most `limit` of them); True when
        the room is whole, False when the store must be read again."""
        assert self._seq is not None
        if missed and missed[0].seq != self._seq + 1:
            self._resync(missed[-1].seq, "pruned")
            missed = ()
        for event in missed:
            if event.seq == self._seq + 1:
                self._fanout(event.seq, event.payload)
        if len(missed) < limit and self._drain_held_quietly():
            if not self._again:
                return True
            self._again = False
        return False

    def repair_ended(self) -> None:
        """The repair asked for is over (whole, or failed: a later gap asks again)."""
        self._repairing = False

    def _repair_or_again(self) -> None:
        if self._repairing:
            self._again = True
        else:
            self._repair()

    def _fanout(self, seq: int, payload: bytes) -> None:
        self._seq = seq
        self._send(self, seq, payload, "push")

    def _drain_held(self) -> bool:
        """Pass on held events in order; True if all could be, False if a gap remains."""
        assert self._seq is not None
        pending: dict[int, bytes] = {}
        while self._held:
            payload = self._held.popleft()
            try:
                pending[events.seq_of(payload)] = payload
            except msgspec.DecodeError:
                log.error("dropping undecodable event on %s", self.key)
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
        self._ask_repair(self)

    def _drain_held_quietly(self) -> bool:
        # Called from inside a repair: a remaining gap loops the repair instead of asking again.
        repairing, self._repairing = self._repairing, True
        try:
            return self._drain_held()
        finally:
            self._repairing = repairing

    def _resync(self, seq: int, reason: str) -> None:
        self._seq = seq
        payload = events.encode(events.Resync(seq=seq, reason=reason))
        self._send(self, seq, payload, "reset")
