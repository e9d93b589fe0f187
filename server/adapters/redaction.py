"""Rewriting a comment's stored events (invariant 4: a removal is final; an edit's old text
goes with it).

The use-cases decide what the events must carry (`model.shown`); every Store rewrites its
stored payloads with this one function, so a replay from any of them shows what a snapshot does.
"""

from __future__ import annotations

import msgspec

from server import events
from server.model import PublicComment

_WITH_COMMENT = (
    events.CommentCreated,
    events.CommentEdited,
    events.CommentRestored,
    events.CommentApproved,
)

# The event types `rewritten` may change, as stored beside each event.
TYPES_WITH_COMMENT: tuple[events.EventType, ...] = (
    "comment.created",
    "comment.edited",
    "comment.restored",
    "comment.approved",
)


def rewritten(payload: bytes, comment: PublicComment) -> bytes:
    """`payload` with its comment replaced by `comment`; seq and type are kept.

    Events that carry no comment (a removal, a lock) come back unchanged.
    """
    event = events.decode_event(payload)
    if not isinstance(event, _WITH_COMMENT):
        return payload
    return events.encode(msgspec.structs.replace(event, comment=comment))
