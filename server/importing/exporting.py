"""`livethread export`: a site's threads (or one), read whole through the store, in the format
of livethread.py."""

from __future__ import annotations

import time
from collections.abc import Sequence

from server.importing.livethread import VERSION, Author, Comment, Export, Thread, moment
from server.model import CommentRecord, ThreadKey
from server.threads.ports import CommentReads


def _comment(record: CommentRecord) -> Comment:
    return Comment(
        id=record.id,
        parent=record.parent,
        author=Author(name=record.author_name, email=record.author_email, url=record.author_url),
        body_source=record.body_source,
        body_html=record.body_html,
        created=moment(record.created_at),
        edited=moment(record.edited_at) if record.edited_at is not None else None,
        status=record.status,
        pinned=record.pinned,
        reason=record.reason,
    )


async def export(
    comments: CommentReads, site: str, threads: Sequence[str], now: float | None = None
) -> Export:
    """The named threads of `site`, each with every comment (all statuses), oldest first."""
    out: list[Thread] = []
    for thread in threads:
        state, records = await comments.of_thread(ThreadKey(site, thread))
        out.append(
            Thread(
                id=thread,
                title=state.title,
                url=state.url,
                comments=[_comment(r) for r in records],
            )
        )
    return Export(
        format="livethread",
        version=VERSION,
        site=site,
        exported=moment(time.time() if now is None else now),
        threads=out,
    )
