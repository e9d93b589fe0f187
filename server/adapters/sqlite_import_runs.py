"""`ImportRuns` (server/importing/ports.py) on the SQLite store: a row per run in `import_runs`
(migration 22), its summary as JSON text (NULL while it runs). Each call is one write of the
group writer, committed when it returns."""

from __future__ import annotations

import sqlite3
import uuid

import msgspec

from server.adapters.sqlite_database import SqliteDatabase
from server.importing.ports import ImportRun, RunSummary

COLUMNS = (
    "id, site, format, source_name, started_at, updated_at, threads_total, comments_total, "
    "threads_done, comments_done, summary"
)


def run_of(fields: dict[str, object]) -> ImportRun:
    """A run from its row's columns by name."""
    text = fields.pop("summary")
    summary = msgspec.json.decode(str(text), type=RunSummary) if text is not None else None
    return msgspec.convert({**fields, "summary": summary}, ImportRun, strict=False)


def summary_text(summary: RunSummary) -> str:
    return msgspec.json.encode(summary).decode()


def _start(conn: sqlite3.Connection, values: tuple[object, ...]) -> None:
    conn.execute(
        "INSERT INTO import_runs (id, site, format, source_name, started_at, updated_at, "
        "threads_total, comments_total) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        values,
    )


def _progress(
    conn: sqlite3.Connection, run_id: str, threads: int, comments: int, at: float
) -> None:
    conn.execute(
        "UPDATE import_runs SET threads_done = ?, comments_done = ?, updated_at = ? "
        "WHERE id = ? AND summary IS NULL",
        (threads, comments, at, run_id),
    )


def _finish(conn: sqlite3.Connection, run_id: str, summary: str, at: float) -> None:
    conn.execute(
        "UPDATE import_runs SET summary = ?, updated_at = ? WHERE id = ? AND summary IS NULL",
        (summary, at, run_id),
    )


def _recent(conn: sqlite3.Connection, site: str, limit: int) -> list[ImportRun]:
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM import_runs WHERE site = ? "
        "ORDER BY started_at DESC, id DESC LIMIT ?",
        (site, max(limit, 0)),
    ).fetchall()
    return [run_of(dict(zip(COLUMNS.split(", "), r, strict=True))) for r in rows]


class SqliteImportRuns:
    """`ImportRuns`: each call its own write (or read), committed when it returns."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def start(
        self, site: str, format: str, source_name: str, threads: int, comments: int, at: float
    ) -> str:
        run_id = uuid.uuid4().hex
        values = (run_id, site, format, source_name, at, at, threads, comments)
        await self._db.write(_start, values)
        return run_id

    async def progress(self, run_id: str, threads: int, comments: int, at: float) -> None:
        await self._db.write(_progress, run_id, threads, comments, at)

    async def finish(self, run_id: str, summary: RunSummary, at: float) -> None:
        await self._db.write(_finish, run_id, summary_text(summary), at)

    async def recent(self, site: str, limit: int) -> list[ImportRun]:
        return await self._db.read(_recent, site, limit)
