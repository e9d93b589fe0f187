"""The in-memory twins of readers' reports and the audit log (server/moderation/ports.py), on
the shared `Tables`. A comment's decisions are appended by its thread's transaction
(memory_transaction.py); `MemoryAuditLog.append` keeps the others."""

from __future__ import annotations

from bisect import bisect_left, bisect_right

import msgspec

from server.adapters.memory_tables import Tables
from server.moderation.ports import AuditEntry, Report
from server.storage import StoreError


class MemoryReports:
    """`Reports`: one per (comment, reporter), for a comment that exists (as the SQL's foreign
    key); a comment's reports oldest first, ties by reporter (as the SQL orders them)."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def add(self, report: Report) -> bool:
        tables = self._tables
        if report.comment_id not in tables.comment_thread:
            raise StoreError(f"no comment {report.comment_id!r} to report")
        key = (report.comment_id, report.reporter)
        if key in tables.reports:
            return False
        tables.reports[key] = report
        return True

    async def of_comment(self, comment_id: str) -> list[Report]:
        found = [r for (c, _), r in self._tables.reports.items() if c == comment_id]
        return sorted(found, key=lambda r: (r.at, r.reporter))


class MemoryAuditLog:
    """`AuditLog`: ids from `Tables.keep_audit`, in append order."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def append(self, entry: AuditEntry) -> AuditEntry:
        # The store gives the id, whatever the entry came with.
        return self._tables.keep_audit(msgspec.structs.replace(entry, id=0))

    async def of_site(self, site: str, after: int, limit: int) -> list[AuditEntry]:
        tables = self._tables
        found: list[AuditEntry] = []
        if limit <= 0:
            return found
        for entry_id in tables.audit_ids[bisect_right(tables.audit_ids, after) :]:
            entry = tables.audit[entry_id]
            if entry.site == site:
                found.append(entry)
                if len(found) == limit:
                    break
        return found

    async def newest(self, site: str, before: int | None, limit: int) -> list[AuditEntry]:
        tables = self._tables
        end = len(tables.audit_ids) if before is None else bisect_left(tables.audit_ids, before)
        found: list[AuditEntry] = []
        for entry_id in reversed(tables.audit_ids[:end]):
            if len(found) >= limit:
                break
            entry = tables.audit[entry_id]
            if entry.site == site:
                found.append(entry)
        return found

    async def of_comment(self, comment_id: str) -> list[AuditEntry]:
        tables = self._tables
        return [
            tables.audit[i] for i in tables.audit_ids if tables.audit[i].comment_id == comment_id
        ]
