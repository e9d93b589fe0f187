"""Readers' snapshots of a thread, encoded once per seq and shared by every request for it.

A popular article's page loads ask for the same thread again and again, and a long thread's
snapshot is megabytes of JSON built from every one of its rows. Every change a reader can see
appends an event, which moves the thread's seq (invariant 3), so bytes built at a seq stay right
for as long as that seq is the thread's: a request reads the thread's seq (one small query) and
is served what was built at it, or builds it once for everyone asking at the same moment. A
change committed by another process moves the same seq, so every process notices it.

The gzip form is made once per seq too, the first time a client accepts it, on a worker thread
(zlib lets go of the GIL), so the event loop keeps fanning out meanwhile. Entries are bounded in
bytes; the least recently served thread goes first. Moderators' views are built here too but not
kept: they hold held and removed comments, and a moderator's request always reads the store.
"""

from __future__ import annotations

import asyncio
import gzip
import time
from collections import OrderedDict

import msgspec

from server import metrics
from server.model import (
    PageOrder,
    ThreadKey,
    ThreadMeta,
    ThreadPage,
    ThreadSnapshot,
    thread_snapshot,
)
from server.reactions.ports import Reactions
from server.threads.pages import Tree, page
from server.threads.ports import CommentReads, Threads

LIMIT_BYTES = 64 * 1024 * 1024  # per process, JSON and gzip forms together
# Counted per entry on top of its bytes (the entry, its key, the dictionary's slot), so a
# flood of requests for empty threads cannot hold more than the limit either.
ENTRY_OVERHEAD = 512
# The decoded snapshot kept beside the body, in bytes per byte of its JSON: 1.6 when measured
# with tracemalloc on a 10,000-comment snapshot, rounded up.
VIEW_FACTOR = 2
GZIP_LEVEL = 6  # zlib's default: a long thread's JSON shrinks well at it (bench/RESULTS.md)

_encoder = msgspec.json.Encoder()


class Snapshot:
    """One thread's reader snapshot at one seq, as JSON bytes (and gzipped, once asked for)."""

    __slots__ = ("_tree", "_zipping", "body", "counted", "gzipped", "key", "meta", "seq", "view")

    def __init__(
        self,
        key: ThreadKey,
        seq: int,
        body: bytes,
        meta: ThreadMeta | None = None,
        view: ThreadSnapshot | None = None,
    ) -> None:
        self.key = key
        self.seq = seq
        # The snapshot the body encodes, kept to cut pages from (pages.py): counted against the
        # cache's bytes as VIEW_FACTOR times the body's.
        self.view = view
        self._tree: Tree | None = None
        # A title or URL changes without an event (it moves no seq): compared on its own.
        self.meta = meta or ThreadMeta()
        self.body = body
        self.gzipped: bytes | None = None
        self.counted = 0  # bytes of it the cache has counted against its limit
        self._zipping: asyncio.Future[bytes] | None = None

    @property
    def size(self) -> int:
        view = VIEW_FACTOR * len(self.body) if self.view is not None else 0
        return ENTRY_OVERHEAD + len(self.body) + view + len(self.gzipped or b"")

    @property
    def tree(self) -> Tree:
        """The comments under their top-level ancestors, grouped the first time a page asks."""
        if self._tree is None:
            assert self.view is not None, "built by Snapshots, which keeps the view"
            self._tree = Tree(self.view)
        return self._tree

    async def gzip(self) -> bytes:
        """The gzip form, made once however many ask for it at the same time."""
        if self.gzipped is not None:
            return self.gzipped
        if self._zipping is None:
            self._zipping = asyncio.ensure_future(
                asyncio.to_thread(gzip.compress, self.body, GZIP_LEVEL, mtime=0)
            )
        # Shielded: a client that goes away must not cancel what others are waiting for.
        zipped = await asyncio.shield(self._zipping)
        self.gzipped = zipped
        return zipped


class Snapshots:
    def __init__(
        self,
        threads: Threads,
        comments: CommentReads,
        *,
        edit_window: int,
        limit: int = LIMIT_BYTES,
        reactions: Reactions | None = None,
    ) -> None:
        self._threads = threads
        self._reactions = reactions  # likes, for pages in "best" order
        self._comments = comments
        self._edit_window = edit_window
        self._limit = limit
        self._entries: OrderedDict[ThreadKey, Snapshot] = OrderedDict()
        self._size = 0
        # The build in progress for a thread: requests that arrive meanwhile wait for it.
        self._building: dict[ThreadKey, asyncio.Task[Snapshot]] = {}
        self.builds = 0  # snapshots built from the store (the rest were served from memory)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """Bytes held (JSON and gzip forms, and each entry's overhead), never over the limit."""
        return self._size

    async def get(self, key: ThreadKey) -> Snapshot:
        """The thread's reader snapshot at its current seq (or later)."""
        state = await self._threads.state(key)
        seq, meta = state.seq, state.meta
        entry = self._entries.get(key)
        if entry is not None and entry.seq >= seq and entry.meta == meta:
            self._entries.move_to_end(key)
            metrics.SNAPSHOT_HIT.inc()
            return entry
        metrics.SNAPSHOT_MISS.inc()
        task = self._building.get(key)
        if task is None:
            task = asyncio.create_task(self._build(key))
            self._building[key] = task
            task.add_done_callback(lambda done: self._built(key, done))
        # Shielded: a client that goes away must not cancel a build others are waiting for.
        entry = await asyncio.shield(task)
        if entry.seq < seq or entry.meta != meta:
            # That build read the thread before the change this request already saw.
            entry = await self._build(key)
        return entry

    async def page(
        self,
        key: ThreadKey,
        order: PageOrder,
        limit: int,
        *,
        after: str | None = None,
        around: str | None = None,
    ) -> ThreadPage:
        """A page of the thread's reader snapshot at its current seq (pages.py)."""
        entry = await self.get(key)
        likes: dict[str, int] = {}
        if order == "best" and self._reactions is not None:
            counts = await self._reactions.of_thread(key)
            likes = {c.comment_id: c.counts.get("like", 0) for c in counts}
        now_ms = int(time.time() * 1000)
        return page(
            entry.tree, order, limit, after=after, around=around, likes=likes, now_ms=now_ms
        )

    async def for_moderators(self, key: ThreadKey) -> ThreadSnapshot:
        """The thread as its site's moderators see it (held and removed comments too), afresh."""
        state, records = await self._comments.of_thread(key)
        return thread_snapshot(
            key.site, key.thread, state, records, edit_window=self._edit_window, moderator=True
        )

    async def gzipped(self, entry: Snapshot) -> bytes:
        """The snapshot's gzip form (counted against the limit while the entry is held)."""
        zipped = await entry.gzip()
        if self._entries.get(entry.key) is entry and entry.counted != entry.size:
            self._size += entry.size - entry.counted
            entry.counted = entry.size
            self._evict()
        return zipped

    async def _build(self, key: ThreadKey) -> Snapshot:
        state, records = await self._comments.readable(key)
        snapshot = thread_snapshot(
            key.site, key.thread, state, records, edit_window=self._edit_window
        )
        entry = Snapshot(key, state.seq, _encoder.encode(snapshot), state.meta, snapshot)
        self.builds += 1
        self._remember(entry)
        return entry

    def _built(self, key: ThreadKey, task: asyncio.Task[Snapshot]) -> None:
        if self._building.get(key) is task:
            del self._building[key]
        if not task.cancelled():
            task.exception()  # retrieved: whoever awaited it has it; nobody else needs a warning

    def _remember(self, entry: Snapshot) -> None:
        current = self._entries.get(entry.key)
        if current is not None:
            if current.seq > entry.seq:
                return  # a later build got here first
            self._size -= current.counted
            del self._entries[entry.key]
        self._entries[entry.key] = entry
        entry.counted = entry.size
        self._size += entry.counted
        self._evict()

    def _evict(self) -> None:
        # Least recently served first; an entry larger than the limit goes too.
        while self._size > self._limit:
            _, oldest = self._entries.popitem(last=False)
            self._size -= oldest.counted
