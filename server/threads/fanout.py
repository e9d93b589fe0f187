"""Handing one thread's events to its members, a chunk at a time, threads taking turns.

A thread with thousands of readers must not hold up another thread's event (or a post's answer)
for a whole fan-out: each turn of the event loop hands an event to at most `chunk` members,
rooms taking turns. Each room's events leave in arrival order, so each member still gets a
thread's events in seq order. The members are the room's when the event arrived: a reader who
joins later reads the event from the store (it was committed before it was published). When
`limit` events are waiting, everything waiting is handed out at once: a slower server rather
than an unbounded queue.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Literal, Protocol


class Member(Protocol):
    """A reader's connection as the hub sees it. Both calls must return without waiting."""

    def push(self, seq: int, payload: bytes) -> None:
        """Send a durable event's encoded bytes (the member skips seqs it already has).

        Every member of a room is handed the very same bytes object, so a member may cache
        what it builds from it (the websocket frame) for the next member."""
        ...

    def reset(self, seq: int, payload: bytes) -> None:
        """Send `payload` (a resync) unconditionally and treat `seq` as the new position."""
        ...

    # The keyed hash of the address the reader connected from: whose shadow comments it is
    # shown (server/threads/own.py). None: nobody's.
    address: str | None

    # False for a member that watches the thread for the server itself (the live comment
    # counts, server/threads/counting.py): it is no one reading, so presence leaves it out.
    reader: bool

    def aside(self, payload: bytes) -> None:
        """Send a frame outside the thread's seq order (`comment.own`, `reactions`), after any
        held ones."""
        ...


# How a delivery reaches each member: `push` (an event), `reset` (a resync), `aside` (a frame
# outside the seq order, such as coalesced reaction counts).
Kind = Literal["push", "reset", "aside"]


class Delivery:
    """One frame on its way to a snapshot of a room's members, a chunk at a time."""

    __slots__ = ("kind", "members", "next", "payload", "seq")

    def __init__(self, members: tuple[Member, ...], seq: int, payload: bytes, kind: Kind):
        self.members = members
        self.seq = seq
        self.payload = payload
        self.kind = kind
        self.next = 0

    def step(self, budget: int) -> int:
        """Hand the event to up to `budget` more members; returns how many it reached."""
        start = self.next
        end = min(start + budget, len(self.members))
        seq, payload = self.seq, self.payload
        if self.kind == "reset":
            for member in self.members[start:end]:
                member.reset(seq, payload)
        elif self.kind == "aside":
            for member in self.members[start:end]:
                member.aside(payload)
        else:
            for member in self.members[start:end]:
                member.push(seq, payload)
        self.next = end
        return end - start

    @property
    def done(self) -> bool:
        return self.next >= len(self.members)


# One room's events still being handed out, oldest first.
Line = deque[Delivery]


class Fanout:
    """The turns of every room with events still being handed out."""

    def __init__(self, *, chunk: int, limit: int) -> None:
        self._chunk = chunk
        self._limit = limit
        self._turns: deque[Line] = deque()
        self._waiting = 0
        self._stepping: asyncio.Handle | None = None

    def send(
        self, line: Line, members: tuple[Member, ...], seq: int, payload: bytes, kind: Kind
    ) -> None:
        """Hand a frame to `members`, after the frames already on the room's `line`."""
        if not members:
            return
        delivery = Delivery(members, seq, payload, kind)
        if not line and len(members) <= self._chunk:
            delivery.step(len(members))
            return
        line.append(delivery)
        self._waiting += 1
        if len(line) == 1:
            self._turns.append(line)
        if self._waiting > self._limit:
            self._step(everything=True)
        elif self._stepping is None:
            self._stepping = asyncio.get_running_loop().call_soon(self._step)

    def _step(self, everything: bool = False) -> None:
        budget = self._chunk
        while self._turns and (everything or budget > 0):
            line = self._turns.popleft()
            while line and (everything or budget > 0):
                delivery = line[0]
                budget -= delivery.step(len(delivery.members) if everything else budget)
                if delivery.done:
                    line.popleft()
                    self._waiting -= 1
            if line:
                self._turns.append(line)
        if self._stepping is not None:
            self._stepping.cancel()
        self._stepping = asyncio.get_running_loop().call_soon(self._step) if self._turns else None

    def close(self) -> None:
        if self._stepping is not None:
            self._stepping.cancel()
            self._stepping = None
        self._turns.clear()
