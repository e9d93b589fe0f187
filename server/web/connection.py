"""A reader's websocket as a hub member.

`push` never waits. Two kinds of member share the ordering rules (skip seqs already sent, hold
live events while the backlog is being sent):

- `DirectMember`, on uvicorn with `DirectProtocol`: a live event's pre-built frame goes straight
  onto the socket's transport. Once streaming, the socket needs no task at all (the protocol
  holds it, see server/web/direct.py), so an idle reader costs only these few slots. A reader
  whose transport holds more than `max_buffer` unsent bytes is too slow and is closed with
  4008 (it resumes by reconnecting with `since`), while everyone else's frames go straight out.
- `QueuedMember`, anywhere else: frames wait in a bounded queue drained by a writer task.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from starlette.websockets import WebSocket

from server.web.closing import TOO_SLOW
from server.web.direct import DirectWriter, Framer, text_frame

TOO_SLOW_REASON = "too slow: reconnect and resume with since"
# A too-slow socket cannot take its close frame until it drains what is already buffered
# (bounded by the transport's high-water mark); give it this long, then drop it
# (LIVETHREAD_SLOW_CLOSE_TIMEOUT).
SLOW_CLOSE_TIMEOUT = 30.0


class Member:
    """The ordering rules every kind of reader connection follows."""

    __slots__ = ("_held", "_last", "_limit", "address", "overflowed")

    # A person reading: presence counts it (server/threads/fanout.py's Member).
    reader = True

    def __init__(self, inbox: int) -> None:
        self._limit = inbox
        self._last = -1
        # While the backlog is being sent, live events wait here (None once streaming); an
        # entry's flag: a reset, a push, or (None) a frame aside the seq order.
        self._held: list[tuple[int, bytes, bool | None]] | None = []
        self.overflowed = False
        self.address: str | None = None

    def push(self, seq: int, payload: bytes) -> None:
        if self._held is not None:
            self._hold(seq, payload, False)
        elif seq > self._last:
            self._last = seq
            self._send(payload)

    def reset(self, seq: int, payload: bytes) -> None:
        if self._held is not None:
            self._hold(seq, payload, True)
        else:
            self._last = seq
            self._send(payload)

    def aside(self, payload: bytes) -> None:
        if self._held is not None:
            self._hold(-1, payload, None)
        else:
            self._send(payload)

    def release(self, position: int) -> None:
        """The client now holds everything up to `position`: start streaming live events."""
        held, self._held = self._held or [], None
        self._last = max(self._last, position)
        for seq, payload, is_reset in held:
            if is_reset is None:
                self._send(payload)
            else:
                (self.reset if is_reset else self.push)(seq, payload)

    def drop(self) -> None:
        """Forget what is waiting (the socket is being closed)."""
        self._held = None

    async def say(self, payload: bytes) -> None:
        """Send a frame now, ahead of the live events held meanwhile (`hello`, the backlog)."""
        raise NotImplementedError

    def _overflow(self) -> None:
        self.overflowed = True

    def _send(self, payload: bytes) -> None:
        raise NotImplementedError

    def _hold(self, seq: int, payload: bytes, is_reset: bool | None) -> None:
        assert self._held is not None
        if len(self._held) >= self._limit:
            self._overflow()
        else:
            self._held.append((seq, payload, is_reset))


class DirectMember(Member):
    """Writes each event's shared frame straight onto the socket's transport."""

    __slots__ = ("_framer", "_max_buffer", "_slow_close", "_writer")

    def __init__(
        self,
        writer: DirectWriter,
        framer: Framer,
        *,
        inbox: int,
        max_buffer: int,
        slow_close: float = SLOW_CLOSE_TIMEOUT,
    ):
        super().__init__(inbox)
        self._writer = writer
        self._framer = framer
        self._max_buffer = max_buffer
        self._slow_close = slow_close

    def detach(self, on_lost: Callable[[], None]) -> bool:
        """Leave the socket to the protocol (see direct.DirectWriter.detach)."""
        return self._writer.detach(on_lost)

    async def say(self, payload: bytes) -> None:
        # Straight onto the transport, as live frames go: not through the ASGI send's layers,
        # but paced as its send is. A closing connection takes nothing; the socket's task then
        # finds it cannot detach.
        await self._writer.writable()
        self._writer.write(text_frame(payload))

    def _send(self, payload: bytes) -> None:
        if self.overflowed:
            return
        buffered = self._writer.write(self._framer.frame(payload))
        if buffered is not None and buffered > self._max_buffer:
            self._overflow()

    def _overflow(self) -> None:
        self.overflowed = True
        # Once detached no task waits on this socket, so the close starts here; before that
        # the socket's own task sees `overflowed` when the backlog is sent and closes it.
        if self._writer.detached:
            self._writer.close(TOO_SLOW, TOO_SLOW_REASON, self._slow_close)


class QueuedMember(Member):
    """Frames wait in a bounded queue for `write`, a task of the socket's own."""

    __slots__ = ("_framer", "_queue", "_wake", "_ws", "overflow")

    def __init__(self, ws: WebSocket, framer: Framer, *, inbox: int) -> None:
        super().__init__(inbox)
        self._ws = ws
        self._framer = framer
        self._queue: deque[str] = deque()
        self._wake = asyncio.Event()
        self.overflow = asyncio.Event()

    async def say(self, payload: bytes) -> None:
        await self._ws.send_text(payload.decode())

    async def write(self) -> None:
        """Drain the queue until cancelled."""
        while True:
            while self._queue:
                await self._ws.send_text(self._queue.popleft())
            self._wake.clear()
            if not self._queue:
                await self._wake.wait()

    def drop(self) -> None:
        super().drop()
        self._queue.clear()

    def _overflow(self) -> None:
        self.overflowed = True
        self.overflow.set()

    def _send(self, payload: bytes) -> None:
        if self.overflowed:
            return
        if len(self._queue) >= self._limit:
            self._overflow()
            return
        self._queue.append(self._framer.text(payload))
        self._wake.set()
