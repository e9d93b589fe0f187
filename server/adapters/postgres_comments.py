"""The SQL of comments on the PostgreSQL store: what a snapshot shows, a use-case changes and a
moderator reviews; the PostgreSQL twin of sqlite_comments.py.

A comment row's columns are named once, here (`COLUMNS`, `record_of`, `_written`), so every
read of comments builds the same CommentRecord. The review queue's and the comment count's
rules are the core's (`model.in_review`, `model.counted`): every insert and update writes their
answers beside the row, and the queue and the counts only read them back.

The functions that take a connection (`insert_comment`, `update_comment`, `thread_comment`,
`has_replies`) run inside the caller's transaction (postgres_transaction.py's). The adapters of the
ports that read committed comments (`CommentReads`, `ReviewQueue`) are at the end.

Order: ids are compared byte by byte (COLLATE "C"), as SQLite and the memory store compare
them, whatever the database's collation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from server.adapters.postgres_database import PostgresDatabase, affected, store_errors
from server.adapters.postgres_migrations import Connection
from server.model import CommentRecord, ThreadKey, ThreadState, counted, in_review, readable
from server.moderation.ports import BanKey
from server.storage import StoreError

# The comment columns, in the order `record_of` reads them.
COLUMNS = (
    "id, site, thread, parent, author_name, author_email, author_url, body_source, body_html, "
    "status, created_at, edited_at, edit_token_hash, pinned, reason, notify, flag, decided_by, "
    "pending_body_source, pending_body_html, account, author_key, author_avatar, author_badges, "
    "author_address, shadow, lang"
)
_NAMES = [name.strip() for name in COLUMNS.split(",")]


def badges_text(badges: tuple[str, ...]) -> str:
    """The badges column's JSON text: TEXT, not JSONB, and encoded as sqlite_comments.py
    encodes it, so the stores hold the same bytes and a copy's rows are the source's."""
    return msgspec.json.encode(badges).decode()


def badges_of(text: str) -> tuple[str, ...]:
    return msgspec.json.decode(text, type=tuple[str, ...])


# What inserts write: the record's columns, then the core's answers for it (`_written`).
_WRITTEN_COLUMNS = COLUMNS + ", in_review, counted"
# What updates set: every written column but the key (id, site, thread: $1, $2, $3).
_UPDATE_SET = ", ".join(
    f"{name} = ${n}" for n, name in enumerate([*_NAMES, "in_review", "counted"], start=1) if n > 3
)

# What `readable` reads: what a reader's view of a comment is made of.
_READABLE_COLUMNS = (
    "id, parent, author_name, author_url, body_html, status, created_at, edited_at, pinned, "
    "author_key, author_avatar, author_badges"
)

_ORDER = 'created_at, id COLLATE "C"'

# How `authored` finds a person's comments, on comments_by_account, comments_by_email (built on
# lower()) or comments_by_address.
_AUTHORED_BY = {
    "account": "account = $1",
    "email": "lower(author_email) = lower($1)",
    "address": "author_address = $1",
}


def record_of(row: Any) -> CommentRecord:
    """The record of a row whose first columns are `COLUMNS`."""
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


def _written(r: CommentRecord) -> tuple[object, ...]:
    """The row as stored: the record, and whether it is in the review queue and counted."""
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
        float(r.created_at),
        None if r.edited_at is None else float(r.edited_at),
        r.edit_token_hash,
        bool(r.pinned),
        r.reason,
        bool(r.notify),
        r.flag,
        r.decided_by,
        r.pending_body_source,
        r.pending_body_html,
        r.account,
        r.author_key,
        r.author_avatar,
        badges_text(r.author_badges),
        r.author_address,
        bool(r.shadow),
        r.lang,
        in_review(r),
        counted(r),
    )


def insert_statement(first: int = 1) -> tuple[str, int]:
    """The INSERT of a new comment, its parameters numbered from `first` (so it can ride in
    one statement with others: postgres_transaction.py's append), and how many it takes (the
    values of `written`, in order). ON CONFLICT DO NOTHING, not a caught unique violation:
    the error would abort the caller's transaction; no row inserted means the id is taken."""
    count = len(_NAMES) + 2
    placeholders = ", ".join(f"${n}" for n in range(first, first + count))
    sql = f"INSERT INTO comments ({_WRITTEN_COLUMNS}) VALUES ({placeholders}) "
    return sql + "ON CONFLICT (id) DO NOTHING", count


def written(record: CommentRecord) -> tuple[object, ...]:
    """The values `insert_statement` takes for `record`."""
    return _written(record)


_INSERT, _ = insert_statement()


async def insert_comment(conn: Connection, record: CommentRecord) -> None:
    """Insert a new comment (StoreError if its id is taken), inside the caller's transaction."""
    with store_errors():
        status = await conn.execute(_INSERT, *_written(record))
    if affected(status) != 1:
        raise StoreError(f"comment {record.id} already exists")


async def update_comment(conn: Connection, record: CommentRecord) -> None:
    """Replace the row with the record's id, which must be in the record's thread."""
    with store_errors():
        status = await conn.execute(
            f"UPDATE comments SET {_UPDATE_SET} WHERE id = $1 AND site = $2 AND thread = $3",
            *_written(record),
        )
    if affected(status) != 1:
        raise StoreError(f"no comment {record.id} in thread {record.site}/{record.thread}")


async def thread_comment(
    conn: Connection, site: str, thread: str, comment_id: str
) -> CommentRecord | None:
    """A comment of this thread (None if absent or in another thread)."""
    with store_errors():
        row = await conn.fetchrow(
            f"SELECT {COLUMNS} FROM comments WHERE id = $1 AND site = $2 AND thread = $3",
            comment_id,
            site,
            thread,
        )
    return None if row is None else record_of(row)


async def has_replies(conn: Connection, site: str, thread: str, comment_id: str) -> bool:
    """Whether any comment of the thread, whatever its status, answers `comment_id`."""
    with store_errors():
        found = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM comments WHERE parent = $1 AND site = $2 "
            "AND thread = $3)",
            comment_id,
            site,
            thread,
        )
    return bool(found)


def _thread_sql(columns: str) -> str:
    """One statement, so one snapshot: the thread's comments (`columns`, then its state's five
    columns on every row). A thread without comments gives one row of NULL comment columns;
    a thread never written to, NULL state columns."""
    prefixed = ", ".join(f"c.{name.strip()}" for name in columns.split(","))
    return (
        f"SELECT {prefixed}, t.seq, t.locked, t.title, t.url, t.byline "
        "FROM (SELECT 1) AS one "
        "LEFT JOIN threads AS t ON t.site = $1 AND t.thread = $2 "
        "LEFT JOIN comments AS c ON c.site = $1 AND c.thread = $2 "
        'ORDER BY c.created_at, c.id COLLATE "C"'
    )


_THREAD_SQL = _thread_sql(COLUMNS)
_READABLE_SQL = _thread_sql(_READABLE_COLUMNS)


def _state(key: ThreadKey, rows: Sequence[Any], first: int) -> ThreadState:
    """The thread's state from the columns at `first`: seq 0, unlocked, no title, URL or
    byline if the thread was never written to."""
    if not rows or rows[0][first] is None:
        return ThreadState(site=key.site, thread=key.thread)
    row = rows[0]
    return ThreadState(
        site=key.site,
        thread=key.thread,
        seq=int(row[first]),
        locked=bool(row[first + 1]),
        title=row[first + 2],
        url=row[first + 3],
        byline=row[first + 4],
    )


def _readable_record(key: ThreadKey, row: Any) -> CommentRecord:
    return CommentRecord(
        id=row[0],
        site=key.site,
        thread=key.thread,
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


class PostgresCommentReads:
    """`CommentReads`: committed comments, each read one statement (one snapshot)."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def of_thread(self, key: ThreadKey) -> tuple[ThreadState, list[CommentRecord]]:
        rows = await self._db.fetch(_THREAD_SQL, key.site, key.thread)
        state = _state(key, rows, len(_NAMES))
        return state, [record_of(row) for row in rows if row[0] is not None]

    async def readable(self, key: ThreadKey) -> tuple[ThreadState, list[CommentRecord]]:
        # Half the columns of of_thread: the others (source, email, token hash...) are a large
        # part of a long thread's snapshot, and no reader's view is made of them.
        rows = await self._db.fetch(_READABLE_SQL, key.site, key.thread)
        state = _state(key, rows, len(_READABLE_COLUMNS.split(",")))
        return state, [_readable_record(key, row) for row in rows if row[0] is not None]

    async def get(self, comment_id: str) -> CommentRecord | None:
        row = await self._db.fetchrow(f"SELECT {COLUMNS} FROM comments WHERE id = $1", comment_id)
        return None if row is None else record_of(row)

    async def get_many(self, comment_ids: Sequence[str]) -> dict[str, CommentRecord]:
        if not comment_ids:
            return {}
        rows = await self._db.fetch(
            f"SELECT {COLUMNS} FROM comments WHERE id = ANY($1::text[])", list(comment_ids)
        )
        return {record.id: record for record in map(record_of, rows)}

    async def counts(self, site: str, threads: Sequence[str]) -> dict[str, int]:
        out = dict.fromkeys(threads, 0)
        if not out:
            return out
        rows = await self._db.fetch(
            "SELECT thread, count(*) FROM comments "
            "WHERE site = $1 AND thread = ANY($2::text[]) AND counted GROUP BY thread",
            site,
            list(out),
        )
        out.update({str(row[0]): int(row[1]) for row in rows})
        return out

    async def by_email(self, email: str) -> list[CommentRecord]:
        # lower() on both sides, as the index `comments_by_email` is built.
        rows = await self._db.fetch(
            f"SELECT {COLUMNS} FROM comments WHERE lower(author_email) = lower($1) "
            f"ORDER BY {_ORDER}",
            email,
        )
        return [record_of(row) for row in rows]

    async def published_by(self, site: str, account: str | None, email: str | None) -> bool:
        if account is not None:
            where, value = "account = $1", account
        elif email is not None:
            where, value = "lower(author_email) = lower($1)", email  # as comments_by_email
        else:
            return False
        found = await self._db.fetchval(
            f"SELECT EXISTS (SELECT 1 FROM comments WHERE {where} AND site = $2 "
            "AND status = 'visible')",
            value,
            site,
        )
        return bool(found)

    async def authored(
        self, site: str, key: BanKey, value: str, thread: str | None, limit: int
    ) -> list[CommentRecord]:
        rows = await self._db.fetch(
            f"SELECT {COLUMNS} FROM comments WHERE {_AUTHORED_BY[key]} AND site = $2 "
            "AND ($3::text IS NULL OR thread = $3) AND status IN ('visible', 'pending') "
            f"ORDER BY {_ORDER} LIMIT $4",
            value,
            site,
            thread,
            max(limit, 0),
        )
        return [record_of(row) for row in rows]

    async def shadowed(
        self, key: ThreadKey, account: str | None, address: str | None
    ) -> list[CommentRecord]:
        if account is None and address is None:
            return []
        # `shadow AND status = 'pending'` as the partial index comments_shadowed states it.
        rows = await self._db.fetch(
            f"SELECT {COLUMNS} FROM comments WHERE site = $1 AND thread = $2 "
            "AND shadow AND status = 'pending' AND (account = $3 OR author_address = $4) "
            f"ORDER BY {_ORDER}",
            key.site,
            key.thread,
            account,
            address,
        )
        return [record_of(row) for row in rows]

    async def recent(self, site: str, thread: str | None, limit: int) -> list[CommentRecord]:
        # `status = 'visible'` as the partial indexes comments_visible (a site's) and
        # comments_visible_by_thread state it, and the order as theirs, read backwards.
        where, args = ("", ()) if thread is None else (" AND thread = $3", (thread,))
        rows = await self._db.fetch(
            f"SELECT {COLUMNS} FROM comments WHERE site = $1{where} AND status = 'visible' "
            'ORDER BY created_at DESC, id COLLATE "C" DESC LIMIT $2',
            site,
            max(limit, 0),
            *args,
        )
        return [readable(record_of(row)) for row in rows]


class PostgresReviewQueue:
    """`ReviewQueue`: the comments whose row says `in_review`."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def queue(self, site: str, limit: int) -> list[CommentRecord]:
        # `in_review` as the partial index `comments_queue` states it, so the planner uses it.
        rows = await self._db.fetch(
            f"SELECT {COLUMNS} FROM comments WHERE site = $1 AND in_review "
            f"ORDER BY {_ORDER} LIMIT $2",
            site,
            max(limit, 0),
        )
        return [record_of(row) for row in rows]
