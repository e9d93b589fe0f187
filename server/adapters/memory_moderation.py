"""The in-memory twins of the moderation room's ports (server/moderation/ports.py): the review
queue and each site's rules, on the shared `Tables`."""

from __future__ import annotations

from server.adapters.memory_tables import Tables
from server.model import CommentRecord, in_review
from server.moderation.rules import Rules
from server.storage import StoreError


class MemoryReviewQueue:
    """`ReviewQueue`: the comments `model.in_review` holds, read from the comments table."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def queue(self, site: str, limit: int) -> list[CommentRecord]:
        found = [
            record
            for key, thread in self._tables.comments.items()
            if key.site == site
            for record in thread.values()
            if in_review(record)
        ]
        found.sort(key=lambda r: (r.created_at, r.id))
        return found[: max(limit, 0)]


class MemoryRuleBook:
    """`RuleBook`: each site's auto-moderation rules."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def put(self, site: str, rules: Rules) -> None:
        if site not in self._tables.sites:
            raise StoreError(f"no site {site!r} for rules")
        self._tables.rules[site] = rules

    async def get(self, site: str) -> Rules | None:
        return self._tables.rules.get(site)
