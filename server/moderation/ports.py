"""The moderation room's storage ports: the review queue and each site's rules."""

from __future__ import annotations

from typing import Protocol

from server.model import CommentRecord
from server.moderation.rules import Rules


class ReviewQueue(Protocol):
    """The comments awaiting a moderator."""

    async def queue(self, site: str, limit: int) -> list[CommentRecord]:
        """A site's comments that `model.in_review` holds in the queue, any thread, oldest
        first, at most `limit`."""
        ...


class RuleBook(Protocol):
    """Each site's auto-moderation rules."""

    async def put(self, site: str, rules: Rules) -> None:
        """Set a site's rules (StoreError if there is no such site)."""
        ...

    async def get(self, site: str) -> Rules | None:
        """A site's rules; None if never set (the defaults apply)."""
        ...
