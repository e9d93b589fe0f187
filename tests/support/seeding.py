"""A long thread written straight through the store, as a lively news thread has it: about 70%
top-level comments, replies up to depth 3 under recent ones (bench/first_paint.py, and the
browser tests of a widget in pages)."""

from __future__ import annotations

import random

from server import events
from server.composition import store_for
from server.model import CommentRecord, ThreadKey, public
from server.settings import Settings
from server.threads import history

BATCH = 500
WORDS = ("the", "of", "comment", "reader", "thread", "live", "paint", "page", "widget", "reply")


def seeded_id(n: int) -> str:
    """The id of the thread's `n`th comment (0 the oldest)."""
    return f"seed{n:06d}"


async def seed(settings: Settings, key: ThreadKey, comments: int) -> list[str]:
    """Write `comments` visible comments and their events into `key`'s thread, oldest first;
    returns the top-level ones' ids in that order."""
    rng = random.Random(17)
    depth: dict[str, int] = {}
    recent: list[str] = []
    roots: list[str] = []
    records: list[CommentRecord] = []
    for n in range(comments):
        cid = seeded_id(n)
        fits = [c for c in recent if depth[c] < 3]
        parent = rng.choice(fits) if fits and rng.random() >= 0.7 else None
        depth[cid] = 0 if parent is None else depth[parent] + 1
        recent = [*recent[-19:], cid]
        if parent is None:
            roots.append(cid)
        text = " ".join(rng.choices(WORDS, k=rng.randint(5, 60)))
        records.append(
            CommentRecord(
                id=cid,
                site=key.site,
                thread=key.thread,
                parent=parent,
                author_name=f"Reader {n % 97}",
                body_source=text,
                body_html=f"<p>{text}</p>",
                created_at=1_700_000_000.0 + n,
            )
        )
    await write(settings, key, records)
    return roots


async def write(settings: Settings, key: ThreadKey, records: list[CommentRecord]) -> None:
    """Store `records` (visible, oldest first) in `key`'s thread with their `comment.created`
    events, through the store as a post would, one transaction per 500."""
    store = store_for(settings)
    await store.open()
    try:
        for start in range(0, len(records), BATCH):
            async with store.threads.transaction(key) as tx:
                for record in records[start : start + BATCH]:
                    await tx.insert_comment(record)
                    created = events.CommentCreated(seq=0, comment=public(record))
                    await history.append(tx, created, record.id)
    finally:
        await store.close()
