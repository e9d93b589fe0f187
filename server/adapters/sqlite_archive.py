"""The `Archive` port (server/archive/ports.py) on the SQLite store: every table's whole rows.

Rows are read from the reader connection by keyset (`WHERE (key) > (after) ORDER BY key`, text
in SQLite's BINARY order: code point order) and written by one write of the group writer, each
row `INSERT … ON CONFLICT (key) DO NOTHING`. An event is written with its position (the
AUTOINCREMENT key takes any position not yet used, and the log's next one follows the largest),
so the copy's log is the source's; another event at that position is refused. A comment is
written with the core's answers beside it (`model.in_review`, `model.counted`), as every insert
of sqlite_comments.py writes them, and its badges as the column's JSON text (the record's tuple
in the archive's rows, so every store's comment rows read the same).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import msgspec

from server.adapters.sqlite_comments import badges_of, badges_text
from server.adapters.sqlite_database import SqliteDatabase
from server.archive.ports import Key, Row, Table
from server.model import CommentRecord, counted, in_review

# What an event's row is unique by besides its position: an event already copied is skipped.
_CONFLICT = {"events": ("site", "thread", "seq")}


def _select(table: Table, after: Key | None) -> str:
    key = ", ".join(table.key)
    where = f" WHERE ({key}) > ({', '.join('?' * len(table.key))})" if after is not None else ""
    return f"SELECT {', '.join(table.columns)} FROM {table.name}{where} ORDER BY {key} LIMIT ?"


def read_rows(conn: sqlite3.Connection, table: Table, after: Key | None, limit: int) -> list[Row]:
    found = conn.execute(_select(table, after), (*(after or ()), max(limit, 0))).fetchall()
    rows: list[Row] = []
    for values in found:
        fields = dict(zip(table.columns, values, strict=True))
        if table.row is CommentRecord:
            fields["author_badges"] = badges_of(fields["author_badges"])
        rows.append(msgspec.convert(fields, table.row, strict=False))
    return rows


def _values(table: Table, row: Row) -> tuple[object, ...]:
    if isinstance(row, CommentRecord):
        values = tuple(
            badges_text(row.author_badges) if column == "author_badges" else getattr(row, column)
            for column in table.columns
        )
        return (*values, in_review(row), counted(row))
    return tuple(getattr(row, column) for column in table.columns)


def write_rows(conn: sqlite3.Connection, table: Table, rows: Sequence[Row]) -> int:
    columns = table.columns + (("in_review", "counted") if table.name == "comments" else ())
    conflict = ", ".join(_CONFLICT.get(table.name, table.key))
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' * len(columns))}) ON CONFLICT ({conflict}) DO NOTHING"
    )
    return conn.executemany(sql, [_values(table, row) for row in rows]).rowcount


def count_rows(conn: sqlite3.Connection, table: Table) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {table.name}").fetchone()[0])


class SqliteArchive:
    """`Archive`: reads from the reader, each batch written in one transaction."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def read(self, table: Table, after: Key | None, limit: int) -> list[Row]:
        return await self._db.read(read_rows, table, after, limit)

    async def write(self, table: Table, rows: Sequence[Row]) -> int:
        if not rows:
            return 0
        return await self._db.write(write_rows, table, rows)

    async def count(self, table: Table) -> int:
        return await self._db.read(count_rows, table)
