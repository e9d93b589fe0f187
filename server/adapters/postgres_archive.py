"""The `Archive` port (server/archive/ports.py) on the PostgreSQL store: every table's whole rows.

Rows are read by keyset (`WHERE (key) > (after) ORDER BY key`), text keys in the "C" collation
(code point order, as SQLite and Python compare) whatever the database's own. Reading the events
first places the final ones in the store-wide log (postgres_events.place), so a copy of a
quiet database reads every event. Each batch is written in one transaction, each row `INSERT …
ON CONFLICT (key) DO NOTHING`. An event is written with its position, already placed: the log's
placing numbers later events from the largest position, so the copy's log is the source's; an
event at a position another holds is refused. An audit entry or a ban is written with its id,
and a trigger (postgres_migrations.py, migrations 3 and 5) moves the ids' sequence past it. A
comment is written with the core's answers beside it (`model.in_review`, `model.counted`), as
postgres_comments.py writes them, and its badges as the column's JSON text (the record's tuple
in the archive's rows, so every store's comment rows read the same).
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import msgspec

from server.adapters.postgres_comments import badges_of, badges_text
from server.adapters.postgres_database import PostgresDatabase, affected
from server.adapters.postgres_events import place
from server.archive.ports import Key, Row, Table
from server.model import CommentRecord, counted, in_review

# What an event's row is unique by besides its position: an event already copied is skipped.
_CONFLICT = {"events": ("site", "thread", "seq")}
# The only keys that are not text (a webhook's or a delivery's `id` is).
_NUMBERS = {("events", "position"), ("audit", "id"), ("bans", "id")}


def _ordered(table: Table, column: str) -> str:
    return column if (table.name, column) in _NUMBERS else f'{column} COLLATE "C"'


def _select(table: Table, after: Key | None) -> str:
    key = ", ".join(_ordered(table, column) for column in table.key)
    n = len(table.key)
    where = ""
    if after is not None:
        where = f" WHERE ({key}) > ({', '.join(f'${i}' for i in range(1, n + 1))})"
    limit = f"${n + 1}" if after is not None else "$1"
    return (
        f"SELECT {', '.join(table.columns)} FROM {table.name}{where} ORDER BY {key} LIMIT {limit}"
    )


def _values(table: Table, row: Row) -> tuple[object, ...]:
    if isinstance(row, CommentRecord):
        values = tuple(
            badges_text(row.author_badges) if column == "author_badges" else getattr(row, column)
            for column in table.columns
        )
        return (*values, in_review(row), counted(row))
    return tuple(getattr(row, column) for column in table.columns)


def _row(table: Table, record: asyncpg.Record) -> Row:
    fields = dict(record.items())
    if table.row is CommentRecord:
        fields["author_badges"] = badges_of(fields["author_badges"])
    return msgspec.convert(fields, table.row, strict=False)


class PostgresArchive:
    """`Archive`: keyset reads; each batch written in one transaction."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def read(self, table: Table, after: Key | None, limit: int) -> list[Row]:
        if limit <= 0:
            return []
        if table.name == "events" and after is None:
            await place(self._db)
        found = await self._db.fetch(_select(table, after), *(after or ()), limit)
        return [_row(table, r) for r in found]

    async def write(self, table: Table, rows: Sequence[Row]) -> int:
        if not rows:
            return 0
        columns = table.columns + (("in_review", "counted") if table.name == "comments" else ())
        conflict = ", ".join(_CONFLICT.get(table.name, table.key))
        marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
        sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks}) "
            f"ON CONFLICT ({conflict}) DO NOTHING"
        )
        written = 0
        async with self._db.transaction() as conn:
            for row in rows:
                written += affected(await conn.execute(sql, *_values(table, row)))
        return written

    async def count(self, table: Table) -> int:
        return int(await self._db.fetchval(f"SELECT count(*) FROM {table.name}"))
