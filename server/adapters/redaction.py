"""What a removed comment looks like in the stored event log (invariant 4: a removal is final).

Shared by every Store so a replay from any of them shows the same tombstone as a snapshot.
"""

from __future__ import annotations

import msgspec

from server import events
from server.model import CommentRecord, PublicComment, public

_WITH_COMMENT = (
    events.CommentCreated,
    events.CommentEdited,
    events.CommentRestored,
    events.CommentApproved,
)

# The event types `redacted` may change, as stored beside each event.
TYPES_WITH_COMMENT: tuple[events.EventType, ...] = (
    "comment.created",
    "comment.edited",
    "comment.restored",
    "comment.approved",
)


def tombstone(record: CommentRecord) -> PublicComment:
    """The comment as readers see it once removed: no author, no html, same id and place."""
    return public(msgspec.structs.replace(record, status="removed"))


def redacted(payload: bytes, grave: PublicComment) -> bytes:
    """`payload` with its comment replaced by `grave`; seq and type are kept.

    Events that carry no comment (a removal, a lock) come back unchanged.
    """
    event = events.decode_event(payload)
    if not isinstance(event, _WITH_COMMENT):
        return payload
    return events.encode(msgspec.structs.replace(event, comment=grave))
