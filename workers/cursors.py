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
