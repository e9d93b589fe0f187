"""The SQL of readers' reports and the audit log (server/moderation/ports.py).

A report is one row per (comment, reporter): a second is `ON CONFLICT DO NOTHING`, and the row
count says whether it went in; a report of a comment the store does not have is refused by the
foreign key (StoreError). The audit log's ids are AUTOINCREMENT's: SQLite has one writer, so id
order is append order, and commit order too. Entries are only ever inserted.

Functions take the connection first, block, and write inside the caller's transaction, as in
sqlite_comments.py; `append_audit` is also what a thread's transaction calls
(sqlite_transaction.py), so a comment's decision commits with it. The adapters of the `Reports`
and `AuditLog` ports are at the end.
"""

from __future__ import annotations

import sqlite3

import msgspec

from server.adapters.sqlite_database import SqliteDatabase
from server.moderation.ports import AuditEntry, Report

_REPORT_COLUMNS = ("site", "thread", "comment_id", "reporter", "reason", "text", "at")
# Every column but the id, which the store gives.
_AUDIT_COLUMNS = ("site", "at", "by", "action", "thread", "comment_id", "subject", "reason")
_AUDIT_SELECT = f"SELECT id, {', '.join(_AUDIT_COLUMNS)} FROM audit"


# Above every id: "before" nothing, read from the last entry.
_BEYOND = 2**63 - 1


def add_report(conn: sqlite3.Connection, report: Report) -> bool:
    cursor = conn.execute(
        f"INSERT INTO reports ({', '.join(_REPORT_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (comment_id, reporter) DO NOTHING",
        tuple(getattr(report, column) for column in _REPORT_COLUMNS),
    )
    return cursor.rowcount == 1


def reports_of(conn: sqlite3.Connection, comment_id: str) -> list[Report]:
    rows = conn.execute(
        f"SELECT {', '.join(_REPORT_COLUMNS)} FROM reports WHERE comment_id = ? "
        "ORDER BY at, reporter",
        (comment_id,),
    ).fetchall()
    # convert, not Report(**fields): it checks the reason is one the port knows.
    return [msgspec.convert(dict(zip(_REPORT_COLUMNS, row, strict=True)), Report) for row in rows]


def append_audit(conn: sqlite3.Connection, entry: AuditEntry) -> int:
    """Insert the entry, its id left to AUTOINCREMENT; the id it took."""
    cursor = conn.execute(
        f"INSERT INTO audit ({', '.join(_AUDIT_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        tuple(getattr(entry, column) for column in _AUDIT_COLUMNS),
    )
    assert cursor.lastrowid is not None  # an INSERT of one row into a rowid table
    return cursor.lastrowid


def _entries(rows: list[tuple[object, ...]]) -> list[AuditEntry]:
    return [
        msgspec.convert(dict(zip(("id", *_AUDIT_COLUMNS), row, strict=True)), AuditEntry)
        for row in rows
    ]


def audit_of_site(conn: sqlite3.Connection, site: str, after: int, limit: int) -> list[AuditEntry]:
    # On the index audit_by_site (site, id).
    rows = conn.execute(
        f"{_AUDIT_SELECT} WHERE site = ? AND id > ? ORDER BY id LIMIT ?",
        (site, after, max(limit, 0)),
    ).fetchall()
    return _entries(rows)


def audit_newest(
    conn: sqlite3.Connection, site: str, before: int | None, limit: int
) -> list[AuditEntry]:
    # On the index audit_by_site (site, id), backwards.
    rows = conn.execute(
        f"{_AUDIT_SELECT} WHERE site = ? AND id < ? ORDER BY id DESC LIMIT ?",
        (site, _BEYOND if before is None else before, max(limit, 0)),
    ).fetchall()
    return _entries(rows)


def audit_of_comment(conn: sqlite3.Connection, comment_id: str) -> list[AuditEntry]:
    # On the index audit_by_comment (comment_id, id).
    rows = conn.execute(
        f"{_AUDIT_SELECT} WHERE comment_id = ? ORDER BY id", (comment_id,)
    ).fetchall()
    return _entries(rows)


class SqliteReports:
    """`Reports`: written by the writer, read from the reader."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def add(self, report: Report) -> bool:
        return await self._db.write(add_report, report)

    async def of_comment(self, comment_id: str) -> list[Report]:
        return await self._db.read_now(reports_of, comment_id)


class SqliteAuditLog:
    """`AuditLog`: appended by the writer (outside any thread's transaction), read from the
    reader."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def append(self, entry: AuditEntry) -> AuditEntry:
        entry_id = await self._db.write(append_audit, entry)
        return msgspec.structs.replace(entry, id=entry_id)

    async def of_site(self, site: str, after: int, limit: int) -> list[AuditEntry]:
        return await self._db.read_now(audit_of_site, site, after, limit)

    async def newest(self, site: str, before: int | None, limit: int) -> list[AuditEntry]:
        return await self._db.read_now(audit_newest, site, before, limit)

    async def of_comment(self, comment_id: str) -> list[AuditEntry]:
        return await self._db.read_now(audit_of_comment, comment_id)
