"""Writing a thread's event log: the seq, the bytes, and rewriting a comment's past events.

These are the log's rules, kept out of the stores: an event's seq is its thread's seq plus one
(gap-free, since the transaction holds the thread), and its stored bytes are exactly the frame
readers are sent. A removal is final and an edit's old text goes with it (invariant 4): the
comment's stored events, and the webhook deliveries copied from them, are rewritten to carry
what the use-case decided (`model.shown`), so a replay shows what a snapshot does.
"""

from __future__ import annotations

import msgspec

from server import events
from server.events import DurableEvent
from server.model import PublicComment
from server.threads.ports import StoredEvent, ThreadWrites

_WITH_COMMENT = (
    events.CommentCreated,
    events.CommentEdited,
    events.CommentRestored,
    events.CommentApproved,
)

# The event types that carry a comment, and so are rewritten with it.
TYPES_WITH_COMMENT: tuple[events.EventType, ...] = (
    "comment.created",
    "comment.edited",
    "comment.restored",
    "comment.approved",
)


async def append(tx: ThreadWrites, event: DurableEvent, comment_id: str | None) -> bytes:
    """Keep `event` at the thread's next seq; returns its bytes, for publishing after commit."""
    seq = (await tx.state()).seq + 1
    placed = events.with_seq(event, seq)
    payload = events.encode(placed)
    await tx.append(StoredEvent(seq=seq, payload=payload), events.event_type(placed), comment_id)
    return payload


def rewritten(payload: bytes, comment: PublicComment) -> bytes:
    """`payload` with its comment replaced by `comment`; seq and type are kept. Events that
    carry no comment (a removal, a lock) come back unchanged."""
    event = events.decode_event(payload)
    if not isinstance(event, _WITH_COMMENT):
        return payload
    return events.encode(msgspec.structs.replace(event, comment=comment))


async def rewrite(tx: ThreadWrites, comment_id: str, comment: PublicComment) -> None:
    """Make every stored event that carries the comment carry `comment` instead."""
    stored = await tx.events_of(comment_id, TYPES_WITH_COMMENT)
    await tx.replace(
        [StoredEvent(seq=e.seq, payload=rewritten(e.payload, comment)) for e in stored]
    )
