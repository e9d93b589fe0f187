"""A reconnecting reader that behaves like the widget, for reliability tests and the chaos run.

It keeps every durable frame it receives (so duplicates and disorder stay visible to the
checker), applies events in seq order, and after any interruption reconnects, with full-jitter
backoff, to the next server in its list, resuming with `since` = its last applied seq.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, field

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from server import events

OPEN_TIMEOUT = 5.0


@dataclass
class Follower:
    """One reader of one thread across a list of servers (base http URLs)."""

    servers: list[str]
    site: str
    thread: str
    name: str = "reader"
    backoff: tuple[float, float] = (0.05, 2.0)
    last: int = 0
    # Every durable event frame, in arrival order, as received (duplicates included).
    received: list[events.DurableEvent] = field(default_factory=list)
    # What the reader shows: comment id -> html (None once removed).
    shown: dict[str, str | None] = field(default_factory=dict)
    # Monotonic times at which a connection said hello, and close codes seen.
    hellos: list[float] = field(default_factory=list)
    closes: list[int | None] = field(default_factory=list)
    resyncs: int = 0
    gaps: int = 0
    _preferred: int = 0
    _advanced: asyncio.Condition = field(default_factory=asyncio.Condition)
    _task: asyncio.Task[None] | None = None
    _first_hello: asyncio.Event = field(default_factory=asyncio.Event)

    def start(self, preferred: int = 0) -> None:
        self._preferred = preferred
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def connected(self, within: float = 10.0) -> None:
        """Wait for the first hello."""
        async with asyncio.timeout(within):
            await self._first_hello.wait()

    async def reach(self, seq: int, within: float = 10.0) -> None:
        """Wait until the reader has applied every event up to `seq`."""
        async with asyncio.timeout(within), self._advanced:
            await self._advanced.wait_for(lambda: self.last >= seq)

    async def _run(self) -> None:
        attempt = 0
        index = self._preferred
        while True:
            server = self.servers[index % len(self.servers)]
            greeted = len(self.hellos)
            try:
                await self._session(server)
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError) as exc:
                code = exc.rcvd.code if isinstance(exc, ConnectionClosed) and exc.rcvd else None
                self.closes.append(code)
            if len(self.hellos) > greeted:
                attempt = 0  # like the widget: a session that said hello resets the backoff
            base, cap = self.backoff
            # Full jitter, like the widget: readers of a dead server spread their returns.
            await asyncio.sleep(random.uniform(0, min(cap, base * 2**attempt)))
            attempt += 1
            index += 1

    async def _session(self, server: str) -> bool:
        """One connection; returns whether it got as far as hello."""
        url = server.replace("http", "ws", 1) + (
            f"/ws/v1/threads?site={self.site}&thread={self.thread}&since={self.last}"
        )
        greeted = False
        async with connect(url, open_timeout=OPEN_TIMEOUT, close_timeout=1) as ws:
            async for raw in ws:
                frame = events.decode_frame(raw)
                if isinstance(frame, events.Hello):
                    greeted = True
                    self.hellos.append(time.monotonic())
                    self._first_hello.set()
                elif isinstance(frame, events.Resync):
                    self.resyncs += 1
                    await self._reload(server)
                elif isinstance(frame, events.DurableEvent):
                    self.received.append(frame)
                    if frame.seq == self.last + 1:
                        await self._apply(frame)
                    elif frame.seq > self.last + 1:
                        self.gaps += 1
                        return greeted  # reconnect with since=last, as the widget does
        self.closes.append(ws.close_code)
        return greeted

    async def _apply(self, frame: events.DurableEvent) -> None:
        if isinstance(frame, events.CommentRemoved):
            self.shown[frame.id] = None
        elif isinstance(
            frame,
            events.CommentCreated
            | events.CommentEdited
            | events.CommentRestored
            | events.CommentApproved,
        ):
            self.shown[frame.comment.id] = frame.comment.html
        async with self._advanced:
            self.last = frame.seq
            self._advanced.notify_all()

    async def _reload(self, server: str) -> None:
        async with httpx.AsyncClient(timeout=OPEN_TIMEOUT) as http:
            answer = await http.get(
                f"{server}/api/v1/threads", params={"site": self.site, "thread": self.thread}
            )
        snapshot = answer.json()
        self.shown = {c["id"]: c["html"] for c in snapshot["comments"]}
        async with self._advanced:
            self.last = int(snapshot["seq"])
            self._advanced.notify_all()
