"""Isso's SQLite database, read for `livethread import isso` (server/importing): its `threads`
(id, uri, title) and `comments` (tid, id, parent, created, modified, mode, text (Markdown),
author, email, website). Opened read-only, never written.

States: mode 1 (accepted) is visible, 2 (pending) pending, 4 (deleted: Isso keeps a deleted
comment with replies as a stub) removed. Isso keeps only the page's path (`uri`), so a thread's
URL is that path.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from server.importing.ports import BadInput, Skipped, Source, SourceComment, SourceThread
from server.model import Status

_MODES: dict[int, Status] = {1: "visible", 2: "pending", 4: "removed"}


def read_isso(path: Path) -> Source:
    """The database's threads and comments, or BadInput if it is not Isso's."""
    if not path.is_file():
        raise BadInput(f"{path}: no such file")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BadInput(f"{path}: cannot open as SQLite: {exc}") from None
    try:
        threads = conn.execute("SELECT id, uri, title FROM threads ORDER BY id").fetchall()
        comments = conn.execute(
            "SELECT tid, id, parent, created, modified, mode, text, author, email, website "
            "FROM comments ORDER BY id"
        ).fetchall()
    except sqlite3.Error as exc:
        raise BadInput(f"{path}: not an Isso database: {exc}") from None
    finally:
        conn.close()
    source = Source(format="isso")
    for tid, uri, title in threads:
        source.threads.append(SourceThread(id=str(tid), title=title or "", url=uri or ""))
    known = {t.id for t in source.threads}
    for tid, cid, parent, created, modified, mode, text, author, email, website in comments:
        status = _MODES.get(int(mode or 1))
        if str(tid) not in known:
            source.skipped.append(Skipped(id=str(cid), reason=f"its thread {tid} is not there"))
            continue
        if status is None:
            source.skipped.append(Skipped(id=str(cid), reason=f"unknown mode {mode}"))
            continue
        if not isinstance(created, int | float):
            raise BadInput(f"{path}: comment {cid} has no creation time")
        source.comments.append(
            SourceComment(
                id=str(cid),
                thread=str(tid),
                parent=None if parent is None else str(parent),
                author_name=author or "",
                author_email=email or None,
                author_url=website or None,
                text=text or "",
                created_at=float(created),
                edited_at=float(modified) if modified else None,
                status=status,
                reason="deleted" if status == "removed" else None,
            )
        )
    return source
