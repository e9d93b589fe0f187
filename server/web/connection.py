"""A reader's websocket as a hub member.

`push` never waits. On uvicorn, a live event's pre-built frame goes straight onto the socket's
transport; a reader whose transport holds more than `max_buffer` unsent bytes is too slow and is
closed with 4008 (it resumes by reconnecting with `since`), while everyone else's frames go
straight out. Elsewhere, frames wait in a bounded queue drained by a writer task.
"""

from __future__ import annotations

import asyncio
from collections import deque

from starlette.websockets import WebSocket

from server.web.direct import DirectWriter, Framer


class Connection:
    def __init__(
        self,
        ws: WebSocket,
        *,
        inbox: int,
        max_buffer: int,
        framer: Framer,
        direct: DirectWriter | None,
    ) -> None:
        self._ws = ws
        self._limit = inbox
        self._max_buffer = max_buffer
        self._framer = framer
        self._direct = direct
        self._queue: deque[str] = deque()
        self._wake = asyncio.Event()
        self.overflowed = asyncio.Event()
        self._last = -1
        # While the backlog is being sent, live events wait here (None once streaming).
        self._held: list[tuple[int, bytes, bool]] | None = []

    @property
    def direct(self) -> bool:
        """Whether frames go straight to the transport (no writer task needed)."""
        return self._direct is not None

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

    def release(self, position: int) -> None:
        """The client now holds everything up to `position`: start streaming live events."""
        held, self._held = self._held or [], None
        self._last = max(self._last, position)
        for seq, payload, is_reset in held:
            (self.reset if is_reset else self.push)(seq, payload)

    async def write(self) -> None:
        """Drain the queue (only on servers without the direct path)."""
        while True:
            while self._queue:
                await self._ws.send_text(self._queue.popleft())
            self._wake.clear()
            if not self._queue:
                await self._wake.wait()

    def drop(self) -> None:
        """Forget queued frames (the socket is being closed for falling behind)."""
        self._queue.clear()
        self._held = None

    def _send(self, payload: bytes) -> None:
        if self.overflowed.is_set():
            return
        if self._direct is not None:
            buffered = self._direct.write(self._framer.frame(payload))
            if buffered is not None and buffered > self._max_buffer:
                self.overflowed.set()
            return
        if len(self._queue) >= self._limit:
            self.overflowed.set()
            return
        self._queue.append(self._framer.text(payload))
        self._wake.set()

    def _hold(self, seq: int, payload: bytes, is_reset: bool) -> None:
        assert self._held is not None
        if len(self._held) >= self._limit:
            self.overflowed.set()
        else:
            self._held.append((seq, payload, is_reset))
