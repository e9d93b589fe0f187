"""`ImportedComments` (server/importing/ports.py) on the SQLite store, and the SQL of the
workers' `Cursors.passed_over` (the creation events of imported comments)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from server.adapters.sqlite_database import SqliteDatabase
from server.adapters.sqlite_events import SqliteCursors

# SQLite's default limit on a statement's parameters is 32766; stay well inside it.
_CHUNK = 500


def known(
    conn: sqlite3.Connection, site: str, source: str, source_ids: Sequence[str]
) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(source_ids), _CHUNK):
        chunk = source_ids[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        rows = conn.execute(
            "SELECT source_id, comment_id FROM imported_comments WHERE site = ? AND source = ? "
            f"AND source_id IN ({marks})",
            (site, source, *chunk),
        ).fetchall()
        found.update((str(r[0]), str(r[1])) for r in rows)
    return found


def remember(
    conn: sqlite3.Connection, site: str, source: str, pairs: Sequence[tuple[str, str]]
) -> None:
    conn.executemany(
        "INSERT INTO imported_comments (site, source, source_id, comment_id) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (site, source, source_id) DO NOTHING",
        [(site, source, source_id, comment_id) for source_id, comment_id in pairs],
    )


def imported(conn: sqlite3.Connection, comment_ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(comment_ids), _CHUNK):
        chunk = comment_ids[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT comment_id FROM imported_comments WHERE comment_id IN ({marks})", chunk
        ).fetchall()
        found.update(str(r[0]) for r in rows)
    return found


def site_threads(conn: sqlite3.Connection, site: str) -> list[str]:
    rows = conn.execute("SELECT thread FROM threads WHERE site = ? ORDER BY thread", (site,))
    return [str(r[0]) for r in rows.fetchall()]


def passed_over(conn: sqlite3.Connection, after: int, upto: int) -> set[int]:
    rows = conn.execute(
        "SELECT e.position FROM events e JOIN imported_comments i ON i.comment_id = e.comment_id "
        "WHERE e.position > ? AND e.position <= ? AND e.type = 'comment.created'",
        (after, upto),
    ).fetchall()
    return {int(r[0]) for r in rows}


class SqliteImportedComments:
    """`ImportedComments`: each `remember` is its own write, committed when it returns."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def known(self, site: str, source: str, source_ids: Sequence[str]) -> dict[str, str]:
        return await self._db.read(known, site, source, list(source_ids))

    async def remember(self, site: str, source: str, pairs: Sequence[tuple[str, str]]) -> None:
        if pairs:
            await self._db.write(remember, site, source, list(pairs))

    async def imported(self, comment_ids: Sequence[str]) -> set[str]:
        return await self._db.read(imported, list(comment_ids))

    async def site_threads(self, site: str) -> list[str]:
        return await self._db.read(site_threads, site)


class SqliteImportCursors(SqliteCursors):
    """`Cursors`, with the imported comments' creation events passed over."""

    async def passed_over(self, after: int, upto: int) -> set[int]:
        return await self._db.read_now(passed_over, after, upto)
