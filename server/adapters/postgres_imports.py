"""`ImportedComments` (server/importing/ports.py) on the PostgreSQL store, and the workers'
`Cursors` with `passed_over`: the twins of sqlite_imports.py."""

from __future__ import annotations

from collections.abc import Sequence

from server.adapters.postgres_database import PostgresDatabase
from server.adapters.postgres_events import PostgresCursors


class PostgresImportedComments:
    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def known(self, site: str, source: str, source_ids: Sequence[str]) -> dict[str, str]:
        rows = await self._db.fetch(
            "SELECT source_id, comment_id FROM imported_comments WHERE site = $1 AND source = $2 "
            "AND source_id = ANY($3::text[])",
            site,
            source,
            list(source_ids),
        )
        return {str(r["source_id"]): str(r["comment_id"]) for r in rows}

    async def remember(self, site: str, source: str, pairs: Sequence[tuple[str, str]]) -> None:
        if not pairs:
            return
        await self._db.execute(
            "INSERT INTO imported_comments (site, source, source_id, comment_id) "
            "SELECT $1, $2, s, c FROM unnest($3::text[], $4::text[]) AS p (s, c) "
            "ON CONFLICT (site, source, source_id) DO NOTHING",
            site,
            source,
            [p[0] for p in pairs],
            [p[1] for p in pairs],
        )

    async def imported(self, comment_ids: Sequence[str]) -> set[str]:
        rows = await self._db.fetch(
            "SELECT comment_id FROM imported_comments WHERE comment_id = ANY($1::text[])",
            list(comment_ids),
        )
        return {str(r["comment_id"]) for r in rows}

    async def site_threads(self, site: str) -> list[str]:
        rows = await self._db.fetch(
            'SELECT thread FROM threads WHERE site = $1 ORDER BY thread COLLATE "C"', site
        )
        return [str(r["thread"]) for r in rows]


class PostgresImportCursors(PostgresCursors):
    """`Cursors`, with the imported comments' creation events passed over."""

    async def passed_over(self, after: int, upto: int) -> set[int]:
        rows = await self._db.fetch(
            "SELECT e.position FROM events e "
            "JOIN imported_comments i ON i.comment_id = e.comment_id "
            "WHERE e.position > $1 AND e.position <= $2 AND e.type = 'comment.created'",
            after,
            upto,
        )
        return {int(r["position"]) for r in rows}
