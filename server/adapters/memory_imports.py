"""`ImportedComments` (server/importing/ports.py) in memory, and the workers' `passed_over`: the
in-memory twins of sqlite_imports.py."""

from __future__ import annotations

from collections.abc import Sequence

from server.adapters.memory_tables import Tables, find_seq


class MemoryImportedComments:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def known(self, site: str, source: str, source_ids: Sequence[str]) -> dict[str, str]:
        kept = self._tables.imported
        return {i: kept[(site, source, i)] for i in source_ids if (site, source, i) in kept}

    async def remember(self, site: str, source: str, pairs: Sequence[tuple[str, str]]) -> None:
        for source_id, comment_id in pairs:
            if (site, source, source_id) not in self._tables.imported:
                self._tables.imported[(site, source, source_id)] = comment_id
                self._tables.imported_ids.add(comment_id)

    async def imported(self, comment_ids: Sequence[str]) -> set[str]:
        return {i for i in comment_ids if i in self._tables.imported_ids}

    async def site_threads(self, site: str) -> list[str]:
        return sorted(key.thread for key in self._tables.threads if key.site == site)


def passed_over(tables: Tables, after: int, upto: int) -> set[int]:
    """`Cursors.passed_over` on the tables (memory_store.py's `MemoryCursors` answers with it)."""
    found: set[int] = set()
    for position in range(max(after, 0) + 1, min(upto, len(tables.log)) + 1):
        key, seq = tables.log[position - 1]
        row = find_seq(tables.events.get(key, []), seq)
        if row and row.type == "comment.created" and row.comment_id in tables.imported_ids:
            found.add(position)
    return found
