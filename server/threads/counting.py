"""Live comment counts for index pages: one watcher per thread, however many pages count it.

An index page shows how many comments each of its articles has, and keeps the numbers live
over one socket (`WS /ws/v1/counts`, server/web/counts_socket.py). One `LiveCounts` per process
serves every such socket. For each thread any of them watches, it joins the thread's room in
the hub once, as a member that is no reader (`reader = False`: presence leaves it out, so a
front page does not make every article look read), and it keeps the set of sockets watching
each thread. When the last of them goes, it leaves the room (which goes too if nobody reads
the thread in this process).

An event handed to the room, or a resync, only marks the thread dirty. The event is never
decoded and a count never adjusted by a delta: what moves a count (a post, a removal, a
restore, an approval; not a held post, an edit or a lock) is the store's rule, so a read after
the event is always right, whatever the events were and whether any were lost on the way.
The first change opens a window of `every` seconds (1); the changes that follow within it ride
along; then the dirty threads are read again together, one `CommentReads.counts` call per
site, and each socket is sent one `counts` frame with those of its threads whose count
changed. A socket is a `Watcher`, whose `aside` never waits: the web edge's bounded member
closes one too slow to take its frames (4008), as it does a reader's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from server import events
from server.model import ThreadKey
from server.storage import StoreUnavailable
from server.threads.hub import Hub
from server.threads.ports import CommentReads

log = logging.getLogger(__name__)


class Watcher(Protocol):
    """A counts socket as the service sees it."""

    def aside(self, payload: bytes) -> None:
        """Send a `counts` frame; must return without waiting."""
        ...


class _Tap:
    """The service's member of one thread's room: whatever arrives only marks the thread."""

    __slots__ = ("_changed", "_key", "count", "joined", "watchers")

    # Nobody's shadow comments, and no one reading (server/threads/fanout.py's Member).
    address: str | None = None
    reader = False

    def __init__(self, key: ThreadKey, changed: Callable[[ThreadKey], None]) -> None:
        self._key = key
        self._changed = changed
        self.watchers: set[Watcher] = set()
        # The count the watchers were last told (None until first read), and the join.
        self.count: int | None = None
        self.joined: asyncio.Task[int] | None = None

    def push(self, seq: int, payload: bytes) -> None:
        self._changed(self._key)

    def reset(self, seq: int, payload: bytes) -> None:
        self._changed(self._key)

    def aside(self, payload: bytes) -> None:
        # Presence, reactions, a shadow comment: none of them moves a count.
        pass


class LiveCounts:
    """Every counts socket's threads, watched once per process; their changes, coalesced."""

    def __init__(self, hub: Hub, reads: CommentReads, *, every: float = 1.0) -> None:
        self._hub = hub
        self._reads = reads
        self._every = every
        self._taps: dict[ThreadKey, _Tap] = {}
        self._dirty: set[ThreadKey] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="live counts")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        # The hub's close lets go of every room; the taps' joins still running end with it.
        for tap in self._taps.values():
            if tap.joined is not None:
                tap.joined.cancel()
        self._taps.clear()
        self._dirty.clear()

    def watched(self) -> int:
        """How many threads the service watches now."""
        return len(self._taps)

    async def watch(self, site: str, threads: Sequence[str], watcher: Watcher) -> dict[str, int]:
        """Watch `threads` of `site` for `watcher`; returns their counts, read once every
        change after them is sure to mark them (so the watcher misses none)."""
        joins: set[asyncio.Task[int]] = set()
        loop = asyncio.get_running_loop()
        for thread in threads:
            key = ThreadKey(site, thread)
            tap = self._taps.get(key)
            if tap is None:
                tap = self._taps[key] = _Tap(key, self._mark)
                tap.joined = loop.create_task(self._hub.join(key, tap), name=f"count {key}")
            tap.watchers.add(watcher)
            assert tap.joined is not None
            joins.add(tap.joined)
        try:
            # Not gather: a socket that goes away must not cancel joins other sockets share.
            await asyncio.wait(joins)
            for join in joins:
                join.result()
            counts = await self._reads.counts(site, threads)
        except BaseException:
            self.unwatch(site, threads, watcher)
            raise
        for thread in threads:
            tap = self._taps.get(ThreadKey(site, thread))
            if tap is not None and tap.count is None:
                tap.count = counts.get(thread, 0)
        return counts

    def unwatch(self, site: str, threads: Sequence[str], watcher: Watcher) -> None:
        """Stop sending to `watcher`; leave the rooms of threads nobody counts any more."""
        for thread in threads:
            key = ThreadKey(site, thread)
            tap = self._taps.get(key)
            if tap is None:
                continue
            tap.watchers.discard(watcher)
            if tap.watchers:
                continue
            del self._taps[key]
            self._dirty.discard(key)
            self._leave(key, tap)

    def _leave(self, key: ThreadKey, tap: _Tap) -> None:
        join = tap.joined
        if join is None:
            return
        if not join.done():
            # Left while still joining: leave once in, or the room would keep it.
            join.add_done_callback(lambda _: self._leave(key, tap))
        elif not join.cancelled() and join.exception() is None:
            self._hub.discard(key, tap)

    def _mark(self, key: ThreadKey) -> None:
        self._dirty.add(key)
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            # The window that coalesces a burst of changes (a rate, not a synchronisation).
            await asyncio.sleep(self._every)
            self._wake.clear()
            dirty, self._dirty = self._dirty, set()
            try:
                await self.flush(dirty)
            except Exception:
                log.exception("sending live counts failed")

    async def flush(self, dirty: set[ThreadKey]) -> None:
        """Read the `dirty` threads again and tell each watcher of those that changed."""
        by_site: dict[str, list[str]] = {}
        for key in dirty:
            if key in self._taps:
                by_site.setdefault(key.site, []).append(key.thread)
        for site, threads in by_site.items():
            try:
                counts = await self._reads.counts(site, threads)
            except Exception as exc:
                if isinstance(exc, StoreUnavailable):
                    # The store is away (an outage, a failover): expected, said in one line.
                    log.warning("reading the counts of %s failed (%s); retrying", site, exc)
                else:
                    log.exception("reading the counts of %s failed; retrying", site)
                # Read again next window (threads left meanwhile are skipped then).
                for thread in threads:
                    self._mark(ThreadKey(site, thread))
                continue
            self._tell(site, threads, counts)

    def _tell(self, site: str, threads: list[str], counts: dict[str, int]) -> None:
        changed: dict[Watcher, dict[str, int]] = {}
        for thread in threads:
            tap = self._taps.get(ThreadKey(site, thread))
            count = counts.get(thread, 0)
            if tap is None or count == tap.count:
                continue
            tap.count = count
            for watcher in tap.watchers:
                changed.setdefault(watcher, {})[thread] = count
        # Watchers told the same changes share the bytes, so the web edge frames them once.
        frames: dict[tuple[tuple[str, int], ...], bytes] = {}
        for watcher, theirs in changed.items():
            items = tuple(theirs.items())
            frame = frames.get(items)
            if frame is None:
                frame = frames[items] = events.encode(events.Counts(counts=theirs))
            watcher.aside(frame)
