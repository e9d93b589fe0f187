"""Helpers of the store contract suites: records, posts and webhooks to store.

Not a conftest: each suite imports what it uses (the `storage` fixture is in conftest.py).
"""

from __future__ import annotations

from server.events import CommentCreated
from server.model import CommentRecord, Status, ThreadKey, public
from server.storage import Storage
from server.threads import history
from server.threads.ports import Transaction
from workers.webhooks.ports import Delivery, Webhook

SITE = "example"
# The bound on every wait of the suites, in seconds.
TIMEOUT = 30.0


class Boom(Exception):
    """Raised inside a transaction to make it roll back."""


def record(
    comment_id: str,
    *,
    thread: str = "t1",
    site: str = SITE,
    parent: str | None = None,
    status: Status = "visible",
    created_at: float = 1_700_000_000.0,
) -> CommentRecord:
    return CommentRecord(
        id=comment_id,
        site=site,
        thread=thread,
        parent=parent,
        author_name=f"Author of {comment_id}",
        author_email=f"{comment_id}@mail.example",
        author_url="https://author.example",
        body_source=f"secret body of {comment_id}",
        body_html=f"<p>secret body of {comment_id}</p>",
        status=status,
        created_at=created_at,
        edit_token_hash=f"edit-{comment_id}",
    )


def created(rec: CommentRecord) -> CommentCreated:
    return CommentCreated(seq=0, comment=public(rec))


async def write(tx: Transaction, rec: CommentRecord) -> bytes:
    """Insert a comment and its comment.created event in an open transaction; the event's bytes."""
    await tx.insert_comment(rec)
    return await history.append(tx, created(rec), rec.id)


async def post(storage: Storage, rec: CommentRecord) -> bytes:
    """`write` in a transaction of its own."""
    async with storage.threads.transaction(rec.key) as tx:
        return await write(tx, rec)


async def seqs(storage: Storage, thread: str, site: str = SITE) -> list[int]:
    return [e.seq for e in await storage.log.events_after(ThreadKey(site, thread), 0, 10_000)]


def hook(webhook_id: str, *, site: str = SITE, types: tuple[str, ...] = ()) -> Webhook:
    return Webhook(
        id=webhook_id,
        site=site,
        url=f"https://receiver.example/{webhook_id}",
        secret=f"secret-{webhook_id}",
        events=types,
    )


def delivery(webhook_id: str, position: int, *, next_at: float = 0.0) -> Delivery:
    return Delivery(
        id=f"{webhook_id}:{position}",
        webhook_id=webhook_id,
        position=position,
        site=SITE,
        thread="t1",
        payload=b'{"type":"thread.locked","seq":%d}' % position,
        next_at=next_at,
    )
