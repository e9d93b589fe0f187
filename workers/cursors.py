"""The workers' storage port: each log reader's position, held by one owner at a time."""

from __future__ import annotations

from typing import Protocol


class Cursors(Protocol):
    """Named positions in the event log, each held by lease. Two copies of a worker never hold
    one together, so they never handle the same event at the same time; a copy that dies
    lets its lease expire and another takes over from the last committed position."""

    async def position(self, name: str) -> int:
        """A reader's committed position (0 for a reader never seen)."""
        ...

    async def lease(self, name: str, owner: str, until: float, now: float) -> bool:
        """Hold reader `name` for `owner` until `until`: granted (or renewed) when the lease is
        free, expired at `now`, or already `owner`'s."""
        ...

    async def advance(self, name: str, owner: str, position: int) -> bool:
        """Commit reader `name`'s position, if `owner` still holds its lease (else False)."""
        ...

    async def passed_over(self, after: int, upto: int) -> set[int]:
        """The positions in (after, upto] that no worker acts on: the `comment.created` events
        of imported comments (server/importing), years old, which must not be mailed, posted
        to webhooks or classified as if just written. The import remembers a comment before it
        writes its event, so a worker that reads the event always finds it here."""
        ...
