"""The SQL of threads and their comments: what a snapshot shows and a use-case changes.

A comment row's columns are named once, here (`_COMMENT_COLUMNS`, `_record`, `_values`), so
every read of comments (a thread, one comment, a person's comments for export or erasure, the
moderation queue) builds the same CommentRecord, and a new column is added in one place.

Every function takes the connection first and blocks; `sqlite_store` decides which connection
and thread each runs on. Every write runs inside a transaction the caller began (the writer's
group transaction, sqlite_writer.py), so a function of several statements is atomic as it is.
The other sqlite_* query modules keep the same rules.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from server.model import CommentRecord, ThreadMeta, ThreadState
from server.ports import StoreError

# Below SQLite's smallest default limit on bound parameters (999 before 3.32); shared by
# every query that binds a list of the caller's.
MAX_PARAMS = 500

_COMMENT_COLUMNS = (
    "id, site, thread, parent, author_name, author_email, author_url, body_source, body_html, "
    "status, created_at, edited_at, edit_token_hash, pinned, reason, notify, flag, decided_by, "
    "pending_body_source, pending_body_html"
)


_COMMENT_PLACEHOLDERS = ", ".join("?" * len(_COMMENT_COLUMNS.split(",")))


# What readable_comments reads: what a reader's view of a comment is made of.
_READABLE_COLUMNS = (
    "id, parent, author_name, author_url, body_html, status, created_at, edited_at, pinned"
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
    )


def thread_state(conn: sqlite3.Connection, site: str, thread: str) -> ThreadState:
    row = conn.execute(
        "SELECT seq, locked, title, url FROM threads WHERE site = ? AND thread = ?",
        (site, thread),
    ).fetchone()
    if row is None:
        return ThreadState(site=site, thread=thread)
    return ThreadState(
        site=site, thread=thread, seq=int(row[0]), locked=bool(row[1]), title=row[2], url=row[3]
    )


def thread_meta(conn: sqlite3.Connection, site: str, thread: str) -> ThreadMeta:
    row = conn.execute(
        "SELECT title, url FROM threads WHERE site = ? AND thread = ?", (site, thread)
    ).fetchone()
    return ThreadMeta() if row is None else ThreadMeta(title=row[0], url=row[1])


# `first`: a field already set keeps its value, decided inside the one statement, so two
# processes naming a new thread at once cannot both win.
_KEEP_SET = (
    "title = CASE WHEN threads.title = '' THEN excluded.title ELSE threads.title END, "
    "url = CASE WHEN threads.url = '' THEN excluded.url ELSE threads.url END"
)
_REPLACE = "title = excluded.title, url = excluded.url"


def set_thread_meta(
    conn: sqlite3.Connection, site: str, thread: str, meta: ThreadMeta, first: bool
) -> ThreadMeta:
    conn.execute(
        "INSERT INTO threads (site, thread, title, url) VALUES (?, ?, ?, ?) "
        f"ON CONFLICT (site, thread) DO UPDATE SET {_KEEP_SET if first else _REPLACE}",
        (site, thread, meta.title, meta.url),
    )
    return thread_meta(conn, site, thread)


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
            f"INSERT INTO comments ({_COMMENT_COLUMNS}) VALUES ({_COMMENT_PLACEHOLDERS})",
            _values(record),
        )
    except sqlite3.IntegrityError as exc:
        raise StoreError(f"comment {record.id} already exists") from exc


def update_comment(conn: sqlite3.Connection, record: CommentRecord) -> None:
    cursor = conn.execute(
        "UPDATE comments SET parent = ?, author_name = ?, author_email = ?, author_url = ?, "
        "body_source = ?, body_html = ?, status = ?, created_at = ?, edited_at = ?, "
        "edit_token_hash = ?, pinned = ?, reason = ?, notify = ?, flag = ?, decided_by = ?, "
        "pending_body_source = ?, pending_body_html = ? "
        "WHERE id = ? AND site = ? AND thread = ?",
        (*_values(record)[3:], record.id, record.site, record.thread),
    )
    if cursor.rowcount != 1:
        raise StoreError(f"no comment {record.id} in thread {record.site}/{record.thread}")


def set_locked(conn: sqlite3.Connection, site: str, thread: str, locked: bool) -> None:
    conn.execute(
        "INSERT INTO threads (site, thread, locked) VALUES (?, ?, ?) "
        "ON CONFLICT (site, thread) DO UPDATE SET locked = excluded.locked",
        (site, thread, int(locked)),
    )


def counts(conn: sqlite3.Connection, site: str, threads: list[str]) -> dict[str, int]:
    out = dict.fromkeys(threads, 0)
    unique = list(out)
    conn.execute("BEGIN")
    try:
        for start in range(0, len(unique), MAX_PARAMS):
            chunk = unique[start : start + MAX_PARAMS]
            marks = ", ".join("?" * len(chunk))
            rows = conn.execute(
                "SELECT thread, COUNT(*) FROM comments WHERE site = ? AND status = 'visible' "
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


def queue(conn: sqlite3.Connection, site_name: str, limit: int) -> list[CommentRecord]:
    # The WHERE repeats the partial index's condition word for word, so SQLite uses it.
    rows = conn.execute(
        f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE site = ? "
        "AND (status = 'pending' OR (status = 'visible' "
        "AND (flag IS NOT NULL OR pending_body_html IS NOT NULL))) "
        "ORDER BY created_at, id LIMIT ?",
        (site_name, max(limit, 0)),
    ).fetchall()
    return [_record(row) for row in rows]
