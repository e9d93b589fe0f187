"""`ImportRuns` (server/importing/ports.py) on the PostgreSQL store: the twin of
sqlite_import_runs.py (migration 10), each call its own statement, committed when it returns."""

from __future__ import annotations

import uuid

from server.adapters.postgres_database import PostgresDatabase
from server.adapters.sqlite_import_runs import COLUMNS, run_of, summary_text
from server.importing.ports import ImportRun, RunSummary


class PostgresImportRuns:
    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def start(
        self, site: str, format: str, source_name: str, threads: int, comments: int, at: float
    ) -> str:
        run_id = uuid.uuid4().hex
        await self._db.execute(
            "INSERT INTO import_runs (id, site, format, source_name, started_at, updated_at, "
            "threads_total, comments_total) VALUES ($1, $2, $3, $4, $5, $5, $6, $7)",
            run_id, site, format, source_name, at, threads, comments,
        )  # fmt: skip
        return run_id

    async def progress(self, run_id: str, threads: int, comments: int, at: float) -> None:
        await self._db.execute(
            "UPDATE import_runs SET threads_done = $2, comments_done = $3, updated_at = $4 "
            "WHERE id = $1 AND summary IS NULL",
            run_id, threads, comments, at,
        )  # fmt: skip

    async def finish(self, run_id: str, summary: RunSummary, at: float) -> None:
        await self._db.execute(
            "UPDATE import_runs SET summary = $2, updated_at = $3 "
            "WHERE id = $1 AND summary IS NULL",
            run_id, summary_text(summary), at,
        )  # fmt: skip

    async def recent(self, site: str, limit: int) -> list[ImportRun]:
        rows = await self._db.fetch(
            f"SELECT {COLUMNS} FROM import_runs WHERE site = $1 "
            'ORDER BY started_at DESC, id COLLATE "C" DESC LIMIT $2',
            site,
            max(limit, 0),
        )
        return [run_of(dict(r.items())) for r in rows]
