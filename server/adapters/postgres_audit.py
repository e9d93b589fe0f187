"""Readers' reports and the audit log on the PostgreSQL store: the `Reports` and `AuditLog`
ports (server/moderation/ports.py); the PostgreSQL twin of sqlite_audit.py.

A report is one row per (comment, reporter): a second is `ON CONFLICT DO NOTHING`, and the row
count says whether it went in; a report of a comment the store does not have is refused by the
foreign key (StoreError). The audit log's ids come from its BIGSERIAL sequence, drawn at insert:
across concurrent transactions they are in append order, not commit order (an entry may become
visible after one with a larger id), which the port allows: it promises id order, and readers
page by id. A comment's decisions are inserted by its thread's transaction
(postgres_transaction.py, with `INSERT_AUDIT`), so they commit with it.
"""

from __future__ import annotations

import asyncpg
import msgspec

from server.adapters.postgres_database import PostgresDatabase, affected
from server.moderation.ports import AuditEntry, Report

_REPORT_COLUMNS = ("site", "thread", "comment_id", "reporter", "reason", "text", "at")
# Every column but the id, which the sequence gives.
_AUDIT_COLUMNS = ("site", "at", "by", "action", "thread", "comment_id", "subject", "reason")
_AUDIT_SELECT = f"SELECT id, {', '.join(_AUDIT_COLUMNS)} FROM audit"

INSERT_AUDIT = (
    f"INSERT INTO audit ({', '.join(_AUDIT_COLUMNS)}) "
    "VALUES ($1, $2::float8, $3, $4, $5, $6, $7, $8)"
)


def audit_values(entry: AuditEntry) -> tuple[object, ...]:
    """The arguments of `INSERT_AUDIT` for an entry."""
    return (
        entry.site,
        float(entry.at),
        entry.by,
        entry.action,
        entry.thread,
        entry.comment_id,
        entry.subject,
        entry.reason,
    )


def _entries(rows: list[asyncpg.Record]) -> list[AuditEntry]:
    return [msgspec.convert(dict(row), AuditEntry) for row in rows]


class PostgresReports:
    """`Reports`: unique by (comment, reporter)."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def add(self, report: Report) -> bool:
        status = await self._db.execute(
            f"INSERT INTO reports ({', '.join(_REPORT_COLUMNS)}) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7::float8) "
            "ON CONFLICT (comment_id, reporter) DO NOTHING",
            report.site,
            report.thread,
            report.comment_id,
            report.reporter,
            report.reason,
            report.text,
            float(report.at),
        )
        return affected(status) == 1

    async def of_comment(self, comment_id: str) -> list[Report]:
        rows = await self._db.fetch(
            f"SELECT {', '.join(_REPORT_COLUMNS)} FROM reports WHERE comment_id = $1 "
            'ORDER BY at, reporter COLLATE "C"',
            comment_id,
        )
        # convert, not Report(**fields): it checks the reason is one the port knows.
        return [msgspec.convert(dict(row), Report) for row in rows]


class PostgresAuditLog:
    """`AuditLog`: appended outside any thread's transaction; read on the indexes
    audit_by_site (site, id) and audit_by_comment (comment_id, id)."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def append(self, entry: AuditEntry) -> AuditEntry:
        entry_id = await self._db.fetchval(f"{INSERT_AUDIT} RETURNING id", *audit_values(entry))
        return msgspec.structs.replace(entry, id=int(entry_id))

    async def of_site(self, site: str, after: int, limit: int) -> list[AuditEntry]:
        if limit <= 0:
            return []
        rows = await self._db.fetch(
            f"{_AUDIT_SELECT} WHERE site = $1 AND id > $2 ORDER BY id LIMIT $3",
            site,
            after,
            limit,
        )
        return _entries(rows)

    async def newest(self, site: str, before: int | None, limit: int) -> list[AuditEntry]:
        if limit <= 0:
            return []
        rows = await self._db.fetch(
            f"{_AUDIT_SELECT} WHERE site = $1 AND ($2::bigint IS NULL OR id < $2) "
            "ORDER BY id DESC LIMIT $3",
            site,
            before,
            limit,
        )
        return _entries(rows)

    async def of_comment(self, comment_id: str) -> list[AuditEntry]:
        rows = await self._db.fetch(
            f"{_AUDIT_SELECT} WHERE comment_id = $1 ORDER BY id", comment_id
        )
        return _entries(rows)
