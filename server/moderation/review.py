"""The moderators' queue: which comments await a moderator, and the frames that say so.

A comment is in its site's queue while it is held (pending: hidden from readers until
approved), published with an edit held (readers keep the approved text; the item shows the new
one, `edit` set), or visible with a flag (published, but a rule or a moderator wants it looked
at).
Every change to a comment is checked against the queue after its commit, and the difference is
announced on the site's moderation channel for `WS /ws/v1/moderation`.

Auto-moderation's decisions put comments into the queue through the same use-case path as a
moderator's (`Comments.moderate`, with the actions of server/moderation/actions.py): `hold`
(visible -> pending), `flag` (stays published) and `unflag` (looked at, and it stays).
"""

from __future__ import annotations

import logging

from server import channels, events
from server.bus import Bus
from server.model import CommentRecord, with_pending_edit
from server.moderation import actions

log = logging.getLogger(__name__)


def item(record: CommentRecord) -> events.QueueItem | None:
    """The record as a queue entry, or None if it does not await a moderator."""
    where = actions.standing(record)
    if where is None:
        return None
    return events.QueueItem(
        site=record.site,
        thread=record.thread,
        state="flagged" if where == "flagged" else "pending",
        comment=with_pending_edit(record),
        reason=record.flag if where == "flagged" else record.reason,
        by=record.decided_by,
        edit=where == "held_edit",
        actions=actions.offered(record),
    )


def change(before: CommentRecord | None, after: CommentRecord) -> events.ModerationFrame | None:
    """What a moderator's view must apply for a change from `before` to `after`, if anything."""
    now = item(after)
    if now is not None:
        return events.QueueAdded(item=now)
    if before is not None and item(before) is not None:
        return events.QueueRemoved(id=after.id)
    return None


async def announce(bus: Bus, before: CommentRecord | None, after: CommentRecord) -> None:
    """Tell the site's moderators' sockets how the queue changed (call after the commit)."""
    frame = change(before, after)
    if frame is not None and not await bus.publish(
        channels.moderation(after.site), events.encode_moderation(frame)
    ):
        # Moderators' sockets send the whole queue again when their bus comes back.
        log.warning("bus unavailable; queue change of %s not announced", after.id)
