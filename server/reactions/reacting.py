"""Readers' reactions: written in batches, sent to open pages as coalesced counts.

A hot thread may take a thousand likes a second. A like is not an event of the thread's log
(no seq, no snapshot invalidated, no worker woken): it is a row per reader and a count per
comment (`ports.Reactions`). Each process queues the reactions it is asked for (bounded) and
one owned task writes whatever is waiting as one batch, one commit, answering each request
once its batch is durable. The counts each batch leaves are collected per thread and published
at most every `frame_every` seconds per process, as one `reactions` frame for every reader of
the thread (`channels.thread`, marked for every member aside the seq order). Counts are
absolute and versioned, so a page keeps the newest when frames from several processes cross;
a socket that opens (or reopens) is sent the thread's counts right after its backlog, so a
reader who was away sees the current counts at once, not a replay.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from server import channels, events
from server.bus import Bus
from server.channels import EVERYONE
from server.errors import Conflict, NotFound, Throttled
from server.fresh import FreshReads
from server.language.text import Text
from server.model import ThreadKey
from server.reactions.ports import CommentReactions, ReactionChange, ReactionKind, Reactions
from server.storage import StoreUnavailable
from server.threads.ports import CommentReads

log = logging.getLogger(__name__)

# Most reactions waiting to be written in one process; more are refused (429) until it drains.
QUEUE_LIMIT = 10_000
# Most reactions one batch writes.
BATCH_MAX = 1_000
# How often a thread's readers are sent its changed counts, at most, by each process.
FRAME_EVERY = 0.25


@dataclass
class _Waiting:
    change: ReactionChange
    answer: asyncio.Future[CommentReactions]


def frame(found: Sequence[CommentReactions]) -> bytes:
    """The `reactions` frame of these comments' counts."""
    return events.encode(
        events.Reactions(
            comments=[
                events.ReactionCounts(
                    id=c.comment_id, version=c.version, counts=dict(c.counts.items())
                )
                for c in found
            ]
        )
    )


class Reacting:
    """Reactions made, written in batches and announced; `start` and `close` own its task."""

    def __init__(
        self,
        reactions: Reactions,
        reads: CommentReads,
        bus: Bus,
        *,
        queue_limit: int = QUEUE_LIMIT,
        batch_max: int = BATCH_MAX,
        frame_every: float = FRAME_EVERY,
    ) -> None:
        self._reactions = reactions
        self._reads = reads
        self._bus = bus
        self._limit = queue_limit
        self._batch_max = batch_max
        self._frame_every = frame_every
        self._queue: deque[_Waiting] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Counts written since the last frame, per thread, by comment (the highest version).
        self._changed: dict[ThreadKey, dict[str, CommentReactions]] = {}
        self._announcing: asyncio.TimerHandle | None = None
        self._publishing: set[asyncio.Task[None]] = set()
        self._fresh: FreshReads[ThreadKey, list[CommentReactions]] = FreshReads(reactions.of_thread)

    async def react(
        self, comment_id: str, reader: str, kind: ReactionKind, on: bool
    ) -> CommentReactions:
        """Set or clear a reader's reaction on a published comment; its counts once durable."""
        found = await self._reads.get(comment_id)
        if found is None:
            raise NotFound(Text("comment.not_found"))
        if found.status != "visible":
            raise Conflict(Text("comment.react_published"))
        if len(self._queue) >= self._limit:
            raise Throttled(Text("rate.reactions_now"), 1.0)
        change = ReactionChange(
            site=found.site,
            thread=found.thread,
            comment_id=comment_id,
            reader=reader,
            kind=kind,
            on=on,
        )
        waiting = _Waiting(change, asyncio.get_running_loop().create_future())
        self._queue.append(waiting)
        self._wake.set()
        return await waiting.answer

    async def mine(self, key: ThreadKey, reader: str) -> dict[str, list[ReactionKind]]:
        """A reader's own reactions in a thread, by comment."""
        return await self._reactions.of_reader(key, reader)

    async def current(self, key: ThreadKey) -> bytes | None:
        """The `reactions` frame of every comment of the thread that has any, as read after
        this call (sockets opening together share the read: server/fresh.py); None if none."""
        found = await self._fresh.get(key)
        return frame(found) if found else None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._write(), name="reactions")

    async def close(self) -> None:
        if self._announcing is not None:
            self._announcing.cancel()
        tasks = [t for t in (self._task, *self._publishing) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        while self._queue:
            waiting = self._queue.popleft()
            if not waiting.answer.done():
                waiting.answer.set_exception(StoreUnavailable("the server is stopping"))

    async def _write(self) -> None:
        """Write what waits, a batch at a time, for as long as the process serves."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = [
                    self._queue.popleft() for _ in range(min(self._batch_max, len(self._queue)))
                ]
                await self._write_batch(batch)

    async def _write_batch(self, batch: list[_Waiting]) -> None:
        try:
            written = await self._reactions.apply([w.change for w in batch])
        except Exception as exc:
            # Each request answers with the failure (a 503 for an unavailable store); the
            # task goes on with the next batch.
            if not isinstance(exc, StoreUnavailable):
                log.exception("writing %d reactions failed", len(batch))
            for waiting in batch:
                if not waiting.answer.done():
                    waiting.answer.set_exception(exc)
            return
        by_comment = {c.comment_id: c for c in written}
        for waiting in batch:
            counts = by_comment.get(waiting.change.comment_id)
            if counts is None:  # the store broke its promise: say so, never hang the request
                log.error("reactions of %s were written but not counted", waiting.change.key)
                waiting.answer.set_exception(StoreUnavailable("the reaction was not counted"))
                continue
            changed = self._changed.setdefault(waiting.change.key, {})
            known = changed.get(counts.comment_id)
            if known is None or known.version < counts.version:
                changed[counts.comment_id] = counts
            if not waiting.answer.done():
                waiting.answer.set_result(counts)
        if self._changed and self._announcing is None:
            loop = asyncio.get_running_loop()
            self._announcing = loop.call_later(self._frame_every, self._announce)

    def _announce(self) -> None:
        """Publish each thread's changed counts as one frame (a task each, owned here)."""
        self._announcing = None
        changed, self._changed = self._changed, {}
        for key, found in changed.items():
            task = asyncio.get_running_loop().create_task(
                self._publish(key, frame(list(found.values()))), name=f"reactions {key}"
            )
            self._publishing.add(task)
            task.add_done_callback(self._publishing.discard)

    async def _publish(self, key: ThreadKey, payload: bytes) -> None:
        if not await self._bus.publish(channels.thread(key), EVERYONE + payload):
            # Counts are state: the next change's frame, or a reconnect, brings them.
            log.warning("bus unavailable; reaction counts of %s not announced", key)
