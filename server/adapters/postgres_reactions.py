"""Readers' reactions on the PostgreSQL store: the `Reactions` port (server/reactions/ports.py);
the PostgreSQL twin of sqlite_reactions.py, on the same three tables.

A batch is one transaction, and takes no thread's lock: it first locks the `reaction_versions`
row of each comment it names (an upsert, which waits for a batch holding it), in comment id
order, so two batches naming the same comments, from any process, wait for each other rather
than deadlock. Holding them, it reads which of its reactions are in effect (READ COMMITTED: each
statement sees every commit before it, the previous holder's included), settles the batch
(reaction_batches.py) and writes the rows, counts and versions, which nothing else moves until
it commits. So counts never drift, whatever runs at once. A comment named only by changes that
changed nothing keeps a row at version 0, which the reads leave out.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from server.adapters.postgres_database import PostgresDatabase
from server.adapters.reaction_batches import by_comment, gather, named, settle
from server.model import ThreadKey
from server.reactions.ports import CommentReactions, ReactionChange, ReactionKind

# Locks the named comments' rows (made at version 0 if new) in the order of the INSERT's rows.
_LOCK = (
    "INSERT INTO reaction_versions (comment_id, site, thread, version) "
    "SELECT *, 0 FROM unnest($1::text[], $2::text[], $3::text[]) ORDER BY 1 "
    "ON CONFLICT (comment_id) DO UPDATE SET version = reaction_versions.version"
)
_TRIPLES = "(SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))"
_PRESENT = (
    f"SELECT comment_id, reader, kind FROM reactions WHERE (comment_id, reader, kind) IN {_TRIPLES}"
)
_REMOVE = f"DELETE FROM reactions WHERE (comment_id, reader, kind) IN {_TRIPLES}"
_ADD = (
    "INSERT INTO reactions (comment_id, reader, kind, site, thread) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])"
)
# Made at 0, then moved: an upsert's row is checked (n >= 0) before its conflict is found.
_COUNTED = (
    "INSERT INTO reaction_counts (comment_id, kind, n) "
    "SELECT *, 0 FROM unnest($1::text[], $2::text[]) ON CONFLICT (comment_id, kind) DO NOTHING"
)
_COUNT = (
    "UPDATE reaction_counts AS c SET n = c.n + d.n "
    "FROM unnest($1::text[], $2::text[], $3::int8[]) AS d (comment_id, kind, n) "
    "WHERE c.comment_id = d.comment_id AND c.kind = d.kind"
)
_VERSION = (
    "UPDATE reaction_versions AS v SET version = v.version + d.n "
    "FROM unnest($1::text[], $2::int8[]) AS d (comment_id, n) WHERE v.comment_id = d.comment_id"
)
# A comment's version with each of its counts; one row (kind NULL) for a comment with none.
_COUNTS = (
    "SELECT v.comment_id, v.version, c.kind, c.n FROM reaction_versions AS v "
    "LEFT JOIN reaction_counts AS c ON c.comment_id = v.comment_id AND c.n > 0"
)


def _columns(rows: Sequence[tuple[object, ...]], width: int) -> list[list[object]]:
    """Rows as `width` arrays, one per column: the parameters of an unnest."""
    return [[row[i] for row in rows] for i in range(width)]


def _counts(rows: list[asyncpg.Record]) -> list[tuple[str, int, str | None, int | None]]:
    return [(row[0], row[1], row[2], row[3]) for row in rows]


class PostgresReactions:
    """`Reactions`: a batch in one transaction of row locks; reads on the thread's index."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def apply(self, changes: Sequence[ReactionChange]) -> list[CommentReactions]:
        if not changes:
            return []
        keys = named(changes)
        threads = {change.comment_id: change.key for change in reversed(changes)}
        comments = list(threads)
        async with self._db.transaction() as conn:
            await conn.execute(
                _LOCK,
                comments,
                [threads[c].site for c in comments],
                [threads[c].thread for c in comments],
            )
            present = await conn.fetch(_PRESENT, *_columns(keys, 3))
            outcome = settle(changes, {(r[0], r[1], r[2]) for r in present})
            if outcome.removed:
                await conn.execute(_REMOVE, *_columns(outcome.removed, 3))
            if outcome.added:
                added = [(c.comment_id, c.reader, c.kind, c.site, c.thread) for c in outcome.added]
                await conn.execute(_ADD, *_columns(added, 5))
            if outcome.counts:
                counts = [(c, kind, n) for (c, kind), n in outcome.counts.items()]
                await conn.execute(_COUNTED, *_columns(counts, 2))
                await conn.execute(_COUNT, *_columns(counts, 3))
            if outcome.versions:
                await conn.execute(_VERSION, *_columns(list(outcome.versions.items()), 2))
            rows = await conn.fetch(f"{_COUNTS} WHERE v.comment_id = ANY($1::text[])", comments)
        return gather(_counts(rows), list(outcome.comments))

    async def of_thread(self, key: ThreadKey) -> list[CommentReactions]:
        rows = await self._db.fetch(
            f"{_COUNTS} WHERE v.site = $1 AND v.thread = $2 AND v.version > 0",
            key.site,
            key.thread,
        )
        return gather(_counts(rows))

    async def of_reader(self, key: ThreadKey, reader: str) -> dict[str, list[ReactionKind]]:
        rows = await self._db.fetch(
            "SELECT comment_id, kind FROM reactions WHERE site = $1 AND thread = $2 "
            "AND reader = $3",
            key.site,
            key.thread,
            reader,
        )
        return by_comment((row[0], row[1]) for row in rows)
