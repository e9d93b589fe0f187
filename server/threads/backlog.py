"""What a (re)connecting reader is sent after `hello`: the events it missed, or why it must
reload the snapshot instead; and their own comments that nobody else is shown."""

from __future__ import annotations

import msgspec

from server import events
from server.fresh import FreshReads
from server.model import ThreadKey, ThreadState
from server.moderation.bans import as_shown_to_author
from server.threads.ports import CommentReads, EventLog, StoredEvent, Threads


class CatchUp(msgspec.Struct, frozen=True, kw_only=True):
    """What a (re)connecting reader needs: the thread state and the events it missed,
    or `resync` set when the missed events cannot be served."""

    state: ThreadState
    missed: list[StoredEvent]
    resync: str | None = None


class Backlog:
    """Reads a reader's backlog from the store."""

    def __init__(
        self, threads: Threads, log: EventLog, comments: CommentReads, *, limit: int = 1000
    ) -> None:
        self._threads = threads
        # Sockets that open together share the state's read (server/fresh.py).
        self._states: FreshReads[ThreadKey, ThreadState] = FreshReads(threads.state)
        self._log = log
        self._comments = comments
        self._limit = limit

    async def catch_up(self, key: ThreadKey, since: int | None) -> CatchUp:
        """The events a reader at `since` missed, or why it must reload the snapshot instead;
        asked once the reader has joined its room (the thread's state is read after this call,
        whoever else it serves)."""
        state = await self._states.get(key)
        if since is None or since == state.seq:
            return CatchUp(state=state, missed=[])
        if since > state.seq:
            return CatchUp(state=state, missed=[], resync="ahead")
        if state.seq - since > self._limit:
            return CatchUp(state=state, missed=[], resync="too_far_behind")
        missed = await self._log.events_after(key, since, self._limit)
        if not missed or missed[0].seq != since + 1:
            return CatchUp(state=state, missed=[], resync="pruned")
        return CatchUp(state=state, missed=missed)

    async def own(self, key: ThreadKey, address: str) -> list[bytes]:
        """`comment.own` frames of the thread's shadow comments posted from this address (a
        keyed hash): what their author's page shows, and no one else's."""
        found = await self._comments.shadowed(key, None, address)
        return [events.encode(events.OwnComment(comment=as_shown_to_author(c))) for c in found]
