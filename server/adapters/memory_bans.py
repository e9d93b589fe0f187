"""The in-memory twins of the bans and of the expiry of personal data (server/moderation/ports.py),
on the shared `Tables`."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from server.adapters.memory_tables import Tables
from server.moderation.ports import Ban, BanKey


def _current(ban: Ban, now: float) -> bool:
    return ban.until is None or ban.until > now


class MemoryBans:
    """`Bans`: one per (site, key, value), ids from `Tables.keep_ban`."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def put(self, ban: Ban) -> Ban:
        # The store gives the id, whatever the ban came with; a replaced ban's is never reused.
        return self._tables.keep_ban(msgspec.structs.replace(ban, id=0))

    async def matching(
        self, site: str, keys: Sequence[tuple[BanKey, str]], now: float
    ) -> list[Ban]:
        tables = self._tables
        found = {tables.ban_ids.get((site, key, value)) for key, value in keys}
        bans = [tables.bans[i] for i in sorted(i for i in found if i is not None)]
        return [ban for ban in bans if _current(ban, now)]

    async def of_site(self, site: str, now: float) -> list[Ban]:
        bans = self._tables.bans
        return [
            bans[i]
            for i in sorted(bans, reverse=True)
            if bans[i].site == site and _current(bans[i], now)
        ]

    async def lift(self, site: str, ban_id: int) -> Ban | None:
        ban = self._tables.bans.get(ban_id)
        if ban is None or ban.site != site:
            return None
        return self._tables.drop_ban(ban_id)


class MemoryExpiry:
    """`Expiry`: over every site's comments and bans."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def forget_addresses(self, before: float) -> int:
        forgotten = 0
        for comments in self._tables.comments.values():
            for comment_id, record in comments.items():
                if record.author_address is not None and record.created_at < before:
                    comments[comment_id] = msgspec.structs.replace(record, author_address=None)
                    forgotten += 1
        return forgotten

    async def forget_bans(self, before: float) -> int:
        tables = self._tables
        ended = [
            i for i, ban in tables.bans.items() if ban.until is not None and ban.until < before
        ]
        for ban_id in ended:
            tables.drop_ban(ban_id)
        return len(ended)
