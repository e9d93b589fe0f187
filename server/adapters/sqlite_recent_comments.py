"""The SQL of a feed's comments (server/feeds): a site's or a thread's newest visible comments.

Its own module only because sqlite_comments.py, whose `SqliteCommentReads.recent` runs it and
turns its rows into records, is at the size the architecture allows.
"""

from __future__ import annotations

import sqlite3
from typing import Any


def recent_rows(
    conn: sqlite3.Connection, columns: str, site: str, thread: str | None, limit: int
) -> list[Any]:
    """`columns` of the newest visible comments, by (created_at, id) descending."""
    # Backwards along the partial index of the site's visible comments (migration 19) or along
    # the thread's index, named as sqlite_comments.authored names its: without statistics
    # SQLite could read a whole site to find one thread's few comments.
    index, where, args = (
        ("comments_visible", "", ())
        if thread is None
        else ("comments_by_thread", " AND thread = ?", (thread,))
    )
    return conn.execute(
        f"SELECT {columns} FROM comments INDEXED BY {index} WHERE site = ?{where} "
        "AND status = 'visible' ORDER BY created_at DESC, id DESC LIMIT ?",
        (site, *args, max(limit, 0)),
    ).fetchall()
