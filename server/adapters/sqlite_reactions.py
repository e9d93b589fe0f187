"""The SQL of readers' reactions (server/reactions/ports.py).

A reaction in effect is one row of `reactions`, keyed by (comment_id, reader, kind); beside
them each comment's count of each kind (`reaction_counts`) and its version with its thread
(`reaction_versions`), moved by `apply` in the same write, so a thread's counts are one read of
the index reaction_versions_by_thread joined to the counts by their key, never a count over the
reactions. A batch is one write of the group writer: its reads see every commit before it, of
this process or another (the write holds the database's lock), so nothing can move the
reactions between the read and the write.

Functions take the connection first and block, as in sqlite_comments.py. The adapter is at the
end.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from server.adapters.reaction_batches import Reaction, by_comment, gather, named, settle
from server.adapters.sqlite_comments import MAX_PARAMS
from server.adapters.sqlite_database import SqliteDatabase
from server.model import ThreadKey
from server.reactions.ports import CommentReactions, ReactionChange, ReactionKind

# A comment's version with each of its counts; one row (kind NULL) for a comment with none.
_COUNTS = (
    "SELECT v.comment_id, v.version, c.kind, c.n FROM reaction_versions AS v "
    "LEFT JOIN reaction_counts AS c ON c.comment_id = v.comment_id AND c.n > 0"
)


def _present(conn: sqlite3.Connection, keys: list[Reaction]) -> set[Reaction]:
    found: set[Reaction] = set()
    # Each triple an equality on the primary key's index.
    for start in range(0, len(keys), MAX_PARAMS // 3):
        chunk = keys[start : start + MAX_PARAMS // 3]
        triples = " OR ".join(["(comment_id = ? AND reader = ? AND kind = ?)"] * len(chunk))
        rows = conn.execute(
            f"SELECT comment_id, reader, kind FROM reactions WHERE {triples}",
            tuple(part for key in chunk for part in key),
        ).fetchall()
        found.update((comment_id, reader, kind) for comment_id, reader, kind in rows)
    return found


def _of_comments(conn: sqlite3.Connection, comment_ids: list[str]) -> list[CommentReactions]:
    rows: list[tuple[str, int, str | None, int | None]] = []
    for start in range(0, len(comment_ids), MAX_PARAMS):
        chunk = comment_ids[start : start + MAX_PARAMS]
        rows += conn.execute(
            f"{_COUNTS} WHERE v.comment_id IN ({', '.join('?' * len(chunk))})", chunk
        ).fetchall()
    return gather(rows, comment_ids)


def apply_changes(
    conn: sqlite3.Connection, changes: Sequence[ReactionChange]
) -> list[CommentReactions]:
    outcome = settle(changes, _present(conn, named(changes)))
    conn.executemany(
        "DELETE FROM reactions WHERE comment_id = ? AND reader = ? AND kind = ?", outcome.removed
    )
    conn.executemany(
        "INSERT INTO reactions (comment_id, reader, kind, site, thread) VALUES (?, ?, ?, ?, ?)",
        [(c.comment_id, c.reader, c.kind, c.site, c.thread) for c in outcome.added],
    )
    # Made at 0, then moved: an upsert's row is checked (n >= 0) before its conflict is found.
    conn.executemany(
        "INSERT INTO reaction_counts (comment_id, kind, n) VALUES (?, ?, 0) "
        "ON CONFLICT (comment_id, kind) DO NOTHING",
        list(outcome.counts),
    )
    conn.executemany(
        "UPDATE reaction_counts SET n = n + ? WHERE comment_id = ? AND kind = ?",
        [(n, comment_id, kind) for (comment_id, kind), n in outcome.counts.items()],
    )
    conn.executemany(
        "INSERT INTO reaction_versions (comment_id, site, thread, version) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (comment_id) DO UPDATE SET version = version + excluded.version",
        [
            (comment_id, outcome.comments[comment_id].site, outcome.comments[comment_id].thread, n)
            for comment_id, n in outcome.versions.items()
        ],
    )
    return _of_comments(conn, list(outcome.comments))


def reactions_of_thread(conn: sqlite3.Connection, key: ThreadKey) -> list[CommentReactions]:
    rows = conn.execute(
        f"{_COUNTS} WHERE v.site = ? AND v.thread = ? AND v.version > 0", (key.site, key.thread)
    ).fetchall()
    return gather(rows)


def reactions_of_reader(
    conn: sqlite3.Connection, key: ThreadKey, reader: str
) -> dict[str, list[ReactionKind]]:
    rows = conn.execute(
        "SELECT comment_id, kind FROM reactions WHERE site = ? AND thread = ? AND reader = ?",
        (key.site, key.thread, reader),
    ).fetchall()
    return by_comment(rows)


class SqliteReactions:
    """`Reactions`: a batch is one write of the writer (committed with its group); reads on the
    reader."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def apply(self, changes: Sequence[ReactionChange]) -> list[CommentReactions]:
        if not changes:
            return []
        return await self._db.write(apply_changes, list(changes))

    async def of_thread(self, key: ThreadKey) -> list[CommentReactions]:
        return await self._db.read(reactions_of_thread, key)

    async def of_reader(self, key: ThreadKey, reader: str) -> dict[str, list[ReactionKind]]:
        return await self._db.read(reactions_of_reader, key, reader)
