"""The moderators' queue: which comments await a moderator, and the frames that say so.

A comment is in its site's queue while it is held (pending: hidden from readers until
approved), published with an edit held (readers keep the approved text; the item shows the new
one, `edit` set), or visible with a flag (published, but a rule or a moderator wants it looked
at).
Every change to a comment is checked against the queue after its commit, and the difference is
announced on the site's moderation channel for `WS /ws/v1/moderation`.

Auto-moderation's decisions put comments into the queue through the same use-case path as a
moderator's (`Comments.moderate`): `hold` (visible -> pending), `flag` (stays published) and
`unflag` (looked at, and it stays) are the queue's own transitions, kept here.
"""

from __future__ import annotations

import logging
from typing import Literal

import msgspec

from server import channels, events
from server.errors import Conflict
from server.model import CommentRecord, with_pending_edit
from server.ports import Bus

log = logging.getLogger(__name__)

Review = Literal["hold", "flag", "unflag"]


def item(record: CommentRecord) -> events.QueueItem | None:
    """The record as a queue entry, or None if it does not await a moderator."""
    edit = record.status == "visible" and record.pending_body_html is not None
    if record.status == "pending" or edit:
        state: events.QueueState = "pending"
        reason = record.reason
    elif record.status == "visible" and record.flag is not None:
        state, reason = "flagged", record.flag
    else:
        return None
    return events.QueueItem(
        site=record.site,
        thread=record.thread,
        state=state,
        comment=with_pending_edit(record),
        reason=reason,
        by=record.decided_by,
        edit=edit,
    )


def change(before: CommentRecord | None, after: CommentRecord) -> events.ModerationFrame | None:
    """What a moderator's view must apply for a change from `before` to `after`, if anything."""
    now = item(after)
    if now is not None:
        return events.QueueAdded(item=now)
    if before is not None and item(before) is not None:
        return events.QueueRemoved(id=after.id)
    return None


def decide(current: CommentRecord, action: Review, by: str, reason: str | None) -> CommentRecord:
    """The comment held for review, flagged, or with its flag cleared. The caller stores it
    (when it changed) and takes a held comment down for readers."""
    if action == "unflag":
        return msgspec.structs.replace(current, flag=None)
    if current.status not in ("visible", "pending"):
        raise Conflict(f"Only a visible or held comment can be {action}ed")
    if action == "hold":
        if current.status == "pending":
            return current  # already held: the first reason stands
        return msgspec.structs.replace(current, status="pending", reason=reason, decided_by=by)
    return msgspec.structs.replace(current, flag=reason or "flagged by a moderator", decided_by=by)


async def announce(bus: Bus, before: CommentRecord | None, after: CommentRecord) -> None:
    """Tell the site's moderators' sockets how the queue changed (call after the commit)."""
    frame = change(before, after)
    if frame is not None and not await bus.publish(
        channels.moderation(after.site), events.encode_moderation(frame)
    ):
        # Moderators' sockets send the whole queue again when their bus comes back.
        log.warning("bus unavailable; queue change of %s not announced", after.id)
