"""`ImportRuns` (server/importing/ports.py) in memory: the twin of sqlite_import_runs.py."""

from __future__ import annotations

import uuid

import msgspec

from server.adapters.memory_tables import Tables
from server.importing.ports import ImportRun, RunSummary


class MemoryImportRuns:
    def __init__(self, tables: Tables) -> None:
        self._runs = tables.import_runs

    async def start(
        self, site: str, format: str, source_name: str, threads: int, comments: int, at: float
    ) -> str:
        run_id = uuid.uuid4().hex
        self._runs[run_id] = ImportRun(
            id=run_id, site=site, format=format, source_name=source_name, started_at=at,
            updated_at=at, threads_total=threads, comments_total=comments,
        )  # fmt: skip
        return run_id

    async def progress(self, run_id: str, threads: int, comments: int, at: float) -> None:
        run = self._runs.get(run_id)
        if run is not None and run.summary is None:
            self._runs[run_id] = msgspec.structs.replace(
                run, threads_done=threads, comments_done=comments, updated_at=at
            )

    async def finish(self, run_id: str, summary: RunSummary, at: float) -> None:
        run = self._runs.get(run_id)
        if run is not None and run.summary is None:
            self._runs[run_id] = msgspec.structs.replace(run, summary=summary, updated_at=at)

    async def recent(self, site: str, limit: int) -> list[ImportRun]:
        runs = [r for r in self._runs.values() if r.site == site]
        runs.sort(key=lambda r: (r.started_at, r.id), reverse=True)
        return runs[: max(limit, 0)]
