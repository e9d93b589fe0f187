"""A moderation decision carried out inside its thread's transaction: the row it changes and
the event readers are told (the effects of server/moderation/actions.py)."""

from __future__ import annotations

from server import events
from server.model import CommentRecord, public, tombstone
from server.moderation import actions
from server.threads import edits, history
from server.threads.ports import Transaction


async def carry_out(
    tx: Transaction,
    effect: actions.Effect,
    current: CommentRecord,
    updated: CommentRecord,
) -> bytes | None:
    """Store a moderation decision and its event (returned for publishing), as `effect` says."""
    if effect == "none":
        return None
    if effect == "decide_edit":
        return await edits.store(tx, current, updated)
    if effect == "take_down":
        return await take_down(tx, current, updated)
    await tx.update_comment(updated)
    frame: events.DurableEvent
    if effect == "restore":
        frame = events.CommentRestored(seq=0, comment=public(updated))
    elif effect == "approve":
        frame = events.CommentApproved(seq=0, comment=public(updated))
    elif effect == "edit":
        frame = events.CommentEdited(seq=0, comment=public(updated))
    else:
        return None  # "update": the row changed, readers see nothing
    return await history.append(tx, frame, updated.id)


async def take_down(
    tx: Transaction, current: CommentRecord, updated: CommentRecord
) -> bytes | None:
    """Store a removal; the `comment.removed` event (for publishing) if readers saw it."""
    await tx.update_comment(updated)
    if current.status != "visible":
        return None  # readers never saw it: nothing to take back
    await history.rewrite(tx, current.id, tombstone(updated))
    return await history.append(tx, events.CommentRemoved(seq=0, id=current.id), current.id)
