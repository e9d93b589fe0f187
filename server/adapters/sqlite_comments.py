"""The SQL of comments: what a snapshot shows, a use-case changes and a moderator reviews.

A comment row's columns are named once, here (`_COMMENT_COLUMNS`, `_record`, `_values`), so
every read of comments (a thread, one comment, a person's comments for export or erasure, the
moderation queue) builds the same CommentRecord, and a new column is added in one place.

The review queue's and the comment count's rules are the core's (`model.in_review`,
`model.counted`): every insert and update writes their answers beside the row, and the queue
and the counts only read them back (the partial index `comments_queue` holds `in_review = 1`).

Every function takes the connection first and blocks; sqlite_database.py decides which
connection and thread each runs on. Every write runs inside a transaction the caller began (the
writer's group transaction, sqlite_writer.py), so a function of several statements is atomic as
it is. The other sqlite_* query modules keep the same rules. The adapters of the ports that
read committed comments (`CommentReads`, `ReviewQueue`) are at the end.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import msgspec

from server.adapters.sqlite_database import SqliteDatabase
from server.adapters.sqlite_recent_comments import recent_rows
from server.adapters.sqlite_threads import thread_state
from server.model import CommentRecord, ThreadKey, ThreadState, counted, in_review, readable
from server.moderation.ports import BanKey
from server.storage import StoreError

# Below SQLite's smallest default limit on bound parameters (999 before 3.32); shared by
# every query that binds a list of the caller's.
MAX_PARAMS = 500

_COMMENT_COLUMNS = (
    "id, site, thread, parent, author_name, author_email, author_url, body_source, body_html, "
    "status, created_at, edited_at, edit_token_hash, pinned, reason, notify, flag, decided_by, "
    "pending_body_source, pending_body_html, account, author_key, author_avatar, author_badges, "
    "author_address, shadow, lang"
)


def badges_text(badges: tuple[str, ...]) -> str:
    """The badges column's JSON text, the same bytes on every store (postgres_comments.py
    writes it with this), so a copy's rows are the source's."""
    return msgspec.json.encode(badges).decode()


def badges_of(text: str) -> tuple[str, ...]:
    return msgspec.json.decode(text, type=tuple[str, ...])


# What inserts write: the record's columns, then the core's answers for it (`_written`).
_WRITTEN_COLUMNS = _COMMENT_COLUMNS + ", in_review, counted"
_WRITTEN_PLACEHOLDERS = ", ".join("?" * len(_WRITTEN_COLUMNS.split(",")))


# What readable_comments reads: what a reader's view of a comment is made of.
_READABLE_COLUMNS = (
    "id, parent, author_name, author_url, body_html, status, created_at, edited_at, pinned, "
    "author_key, author_avatar, author_badges"
)


def _record(row: Any) -> CommentRecord:
    return CommentRecord(
        id=row[0],
        site=row[1],
        thread=row[2],
        parent=row[3],
        author_name=row[4],
        author_email=row[5],
        author_url=row[6],
        body_source=row[7],
        body_html=row[8],
        status=row[9],
        created_at=row[10],
        edited_at=row[11],
        edit_token_hash=row[12],
        pinned=bool(row[13]),
        reason=row[14],
        notify=bool(row[15]),
        flag=row[16],
        decided_by=row[17],
        pending_body_source=row[18],
        pending_body_html=row[19],
        account=row[20],
        author_key=row[21],
        author_avatar=row[22],
        author_badges=badges_of(row[23]),
        author_address=row[24],
        shadow=bool(row[25]),
        lang=row[26],
    )


def _values(r: CommentRecord) -> tuple[object, ...]:
    return (
        r.id,
        r.site,
        r.thread,
        r.parent,
        r.author_name,
        r.author_email,
        r.author_url,
        r.body_source,
        r.body_html,
        r.status,
        r.created_at,
        r.edited_at,
        r.edit_token_hash,
        int(r.pinned),
        r.reason,
        int(r.notify),
        r.flag,
        r.decided_by,
        r.pending_body_source,
        r.pending_body_html,
        r.account,
        r.author_key,
        r.author_avatar,
        badges_text(r.author_badges),
        r.author_address,
        int(r.shadow),
        r.lang,
    )


def _written(r: CommentRecord) -> tuple[object, ...]:
    """The row as stored: the record, and whether it is in the review queue and counted."""
    return (*_values(r), int(in_review(r)), int(counted(r)))


def thread_comments(
    conn: sqlite3.Connection, site: str, thread: str
) -> tuple[ThreadState, list[CommentRecord]]:
    state, rows = _thread_rows(conn, site, thread, _COMMENT_COLUMNS)
    return state, [_record(row) for row in rows]


def readable_comments(
    conn: sqlite3.Connection, site: str, thread: str
) -> tuple[ThreadState, list[CommentRecord]]:
    # Half the columns of thread_comments: on a long thread, reading the others (the source
    # text, the email, the token hash...) is a large part of the readers' snapshot's time. Not
    # `_record` over placeholder columns: that was slower (figures in bench/RESULTS.md).
    state, rows = _thread_rows(conn, site, thread, _READABLE_COLUMNS)
    return state, [
        CommentRecord(
            id=row[0],
            site=site,
            thread=thread,
            parent=row[1],
            author_name=row[2],
            author_url=row[3],
            body_source="",
            body_html=row[4],
            status=row[5],
            created_at=row[6],
            edited_at=row[7],
            pinned=bool(row[8]),
            author_key=row[9],
            author_avatar=row[10],
            author_badges=badges_of(row[11]),
        )
        for row in rows
    ]


def _thread_rows(
    conn: sqlite3.Connection, site: str, thread: str, columns: str
) -> tuple[ThreadState, list[Any]]:
    # One read transaction, so the seq returned is exactly the one the comments reflect.
    conn.execute("BEGIN")
    try:
        state = thread_state(conn, site, thread)
        rows = conn.execute(
            f"SELECT {columns} FROM comments WHERE site = ? AND thread = ? ORDER BY created_at, id",
            (site, thread),
        ).fetchall()
    finally:
        conn.execute("COMMIT")
    return state, rows


def comment(conn: sqlite3.Connection, comment_id: str) -> CommentRecord | None:
    row = conn.execute(
        f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE id = ?", (comment_id,)
    ).fetchone()
    return None if row is None else _record(row)


def comments_by_id(conn: sqlite3.Connection, comment_ids: list[str]) -> dict[str, CommentRecord]:
    found: dict[str, CommentRecord] = {}
    # SQLite's default limit on a statement's parameters is 999 (older builds); a batch is less.
    for start in range(0, len(comment_ids), 500):
        chunk = comment_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(
            f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE id IN ({marks})", chunk
        ):
            record = _record(row)
            found[record.id] = record
    return found


def thread_comment(
    conn: sqlite3.Connection, site: str, thread: str, comment_id: str
) -> CommentRecord | None:
    row = conn.execute(
        f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE id = ? AND site = ? AND thread = ?",
        (comment_id, site, thread),
    ).fetchone()
    return None if row is None else _record(row)


def has_replies(conn: sqlite3.Connection, site: str, thread: str, comment_id: str) -> bool:
    """Whether any comment, whatever its status, answers `comment_id`."""
    row = conn.execute(
        "SELECT 1 FROM comments WHERE parent = ? AND site = ? AND thread = ? LIMIT 1",
        (comment_id, site, thread),
    ).fetchone()
    return row is not None


def insert_comment(conn: sqlite3.Connection, record: CommentRecord) -> None:
    try:
        conn.execute(
            f"INSERT INTO comments ({_WRITTEN_COLUMNS}) VALUES ({_WRITTEN_PLACEHOLDERS})",
            _written(record),
        )
    except sqlite3.IntegrityError as exc:
        raise StoreError(f"comment {record.id} already exists") from exc


def update_comment(conn: sqlite3.Connection, record: CommentRecord) -> None:
    cursor = conn.execute(
        "UPDATE comments SET parent = ?, author_name = ?, author_email = ?, author_url = ?, "
        "body_source = ?, body_html = ?, status = ?, created_at = ?, edited_at = ?, "
        "edit_token_hash = ?, pinned = ?, reason = ?, notify = ?, flag = ?, decided_by = ?, "
        "pending_body_source = ?, pending_body_html = ?, account = ?, author_key = ?, "
        "author_avatar = ?, author_badges = ?, author_address = ?, shadow = ?, lang = ?, "
        "in_review = ?, counted = ? "
        "WHERE id = ? AND site = ? AND thread = ?",
        (*_written(record)[3:], record.id, record.site, record.thread),
    )
    if cursor.rowcount != 1:
        raise StoreError(f"no comment {record.id} in thread {record.site}/{record.thread}")


def counts(conn: sqlite3.Connection, site: str, threads: list[str]) -> dict[str, int]:
    out = dict.fromkeys(threads, 0)
    unique = list(out)
    conn.execute("BEGIN")
    try:
        for start in range(0, len(unique), MAX_PARAMS):
            chunk = unique[start : start + MAX_PARAMS]
            marks = ", ".join("?" * len(chunk))
            rows = conn.execute(
                "SELECT thread, COUNT(*) FROM comments WHERE site = ? AND counted = 1 "
                f"AND thread IN ({marks}) GROUP BY thread",
                (site, *chunk),
            ).fetchall()
            out.update({str(row[0]): int(row[1]) for row in rows})
    finally:
        conn.execute("COMMIT")
    return out


def comments_by_email(conn: sqlite3.Connection, email: str) -> list[CommentRecord]:
    rows = conn.execute(
        f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE author_email = ? COLLATE NOCASE "
        "ORDER BY created_at, id",
        (email,),
    ).fetchall()
    return [_record(row) for row in rows]


def published_by(
    conn: sqlite3.Connection, site: str, account: str | None, email: str | None
) -> bool:
    if account is not None:
        sql, value = "account = ?", account
    elif email is not None:
        sql, value = "author_email = ? COLLATE NOCASE", email
    else:
        return False
    found = conn.execute(
        f"SELECT 1 FROM comments WHERE {sql} AND site = ? AND status = 'visible' LIMIT 1",
        (value, site),
    ).fetchone()
    return found is not None


# How `authored` finds a person's comments within a site: the index, and its condition. Named
# (INDEXED BY), as comments_shadowed is below: without statistics SQLite may prefer the
# thread's index, and read a whole thread to find one author's few comments.
_AUTHORED_BY = {
    "account": ("comments_by_account", "account = ?"),
    "email": ("comments_by_site_email", "author_email = ? COLLATE NOCASE"),
    "address": ("comments_by_address", "author_address = ?"),
}


def authored(
    conn: sqlite3.Connection, site: str, key: BanKey, value: str, thread: str | None, limit: int
) -> list[CommentRecord]:
    index, where = _AUTHORED_BY[key]
    in_thread, args = ("", ()) if thread is None else (" AND thread = ?", (thread,))
    rows = conn.execute(
        f"SELECT {_COMMENT_COLUMNS} FROM comments INDEXED BY {index} WHERE site = ? AND {where}"
        f"{in_thread} AND status IN ('visible', 'pending') ORDER BY created_at, id LIMIT ?",
        (site, value, *args, max(limit, 0)),
    ).fetchall()
    return [_record(row) for row in rows]


def shadowed(
    conn: sqlite3.Connection, site: str, thread: str, account: str | None, address: str | None
) -> list[CommentRecord]:
    # The WHERE implies the partial index's condition, as INDEXED BY needs.
    rows = conn.execute(
        f"SELECT {_COMMENT_COLUMNS} FROM comments INDEXED BY comments_shadowed "
        "WHERE site = ? AND thread = ? AND shadow = 1 AND status = 'pending' "
        "AND (account = ? OR author_address = ?) ORDER BY created_at, id",
        (site, thread, account, address),
    ).fetchall()
    return [_record(row) for row in rows]


def queue(conn: sqlite3.Connection, site_name: str, limit: int) -> list[CommentRecord]:
    # The WHERE repeats the partial index's condition word for word, so SQLite uses it.
    rows = conn.execute(
        f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE site = ? AND in_review = 1 "
        "ORDER BY created_at, id LIMIT ?",
        (site_name, max(limit, 0)),
    ).fetchall()
    return [_record(row) for row in rows]


class SqliteCommentReads:
    """`CommentReads`: committed comments, from the reader connection."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def of_thread(self, key: ThreadKey) -> tuple[ThreadState, list[CommentRecord]]:
        return await self._db.read(thread_comments, key.site, key.thread)

    async def readable(self, key: ThreadKey) -> tuple[ThreadState, list[CommentRecord]]:
        return await self._db.read(readable_comments, key.site, key.thread)

    async def get(self, comment_id: str) -> CommentRecord | None:
        return await self._db.read_now(comment, comment_id)

    async def get_many(self, comment_ids: Sequence[str]) -> dict[str, CommentRecord]:
        if not comment_ids:
            return {}
        return await self._db.read_now(comments_by_id, list(dict.fromkeys(comment_ids)))

    async def counts(self, site: str, threads: Sequence[str]) -> dict[str, int]:
        return await self._db.read(counts, site, list(threads))

    async def by_email(self, email: str) -> list[CommentRecord]:
        return await self._db.read(comments_by_email, email)

    async def published_by(self, site: str, account: str | None, email: str | None) -> bool:
        return await self._db.read_now(published_by, site, account, email)

    async def authored(
        self, site: str, key: BanKey, value: str, thread: str | None, limit: int
    ) -> list[CommentRecord]:
        return await self._db.read(authored, site, key, value, thread, limit)

    async def shadowed(
        self, key: ThreadKey, account: str | None, address: str | None
    ) -> list[CommentRecord]:
        if account is None and address is None:
            return []
        return await self._db.read_now(shadowed, key.site, key.thread, account, address)

    async def recent(self, site: str, thread: str | None, limit: int) -> list[CommentRecord]:
        rows = await self._db.read(recent_rows, _COMMENT_COLUMNS, site, thread, limit)
        return [readable(_record(row)) for row in rows]


class SqliteReviewQueue:
    """`ReviewQueue`: the comments whose row says `in_review`, from the reader connection."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def queue(self, site: str, limit: int) -> list[CommentRecord]:
        return await self._db.read(queue, site, limit)
