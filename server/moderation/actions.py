"""What moderators (and auto-moderation) can do to a comment: one table, one pure rule each.

Each action decides, from the comment as it is, what it becomes and what readers must be told
(`Effect`); `Comments.moderate` carries that out in the thread's transaction, the request
schema accepts exactly the moderators' actions, the queue offers each item the actions that
apply to it (`offered`), and the tests run over the table. A new action is one entry here and
its rule (and, if it needs a new kind of event, one case in `Comments.moderate`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, NamedTuple

import msgspec

from server.errors import Conflict
from server.model import CommentRecord, in_review

# What the transaction does with the decision:
# - "none": nothing changes (the decision was already in effect);
# - "update": the row changes, readers see nothing (a flag, a hold of a held comment);
# - "take_down": the row changes and readers lose the comment (tombstone, `comment.removed`);
# - "restore", "approve": readers get it back, or for the first time;
# - "edit": readers see it changed (`comment.edited`: a pin);
# - "decide_edit": a held edit is published or dropped (server/threads/edits.py).
Effect = Literal["none", "update", "take_down", "restore", "approve", "edit", "decide_edit"]


class Decision(NamedTuple):
    """Who decides, why, and when."""

    by: str
    reason: str | None
    now: float


class Outcome(NamedTuple):
    updated: CommentRecord
    effect: Effect


# Where a comment stands in the moderators' queue, for the actions offered on its item.
Standing = Literal["held", "held_edit", "flagged"]


class Action(NamedTuple):
    name: str
    # Offered to moderators (the API, the moderators' page); False: auto-moderation's only.
    moderators: bool
    # The queue items it is offered on (as buttons on the moderators' page).
    queue: tuple[Standing, ...]
    decide: Callable[[CommentRecord, Decision], Outcome]


def _held_edit(c: CommentRecord) -> bool:
    return c.status == "visible" and c.pending_body_html is not None


def _edit_decided(
    current: CommentRecord, action: Literal["approve", "reject"], by: str, now: float
) -> CommentRecord:
    """A held edit approved (its text replaces the published one) or rejected (it goes)."""
    kept = msgspec.structs.replace(
        current, pending_body_source=None, pending_body_html=None, reason=None, decided_by=by
    )
    if action == "reject" or current.pending_body_source is None:
        return kept
    return msgspec.structs.replace(
        kept,
        body_source=current.pending_body_source,
        body_html=current.pending_body_html or "",
        edited_at=now,
    )


def _approve(current: CommentRecord, d: Decision) -> Outcome:
    if _held_edit(current):
        return Outcome(_edit_decided(current, "approve", d.by, d.now), "decide_edit")
    if current.status == "visible" and current.flag is not None:
        # Approving a flagged comment: looked at, and it stays.
        return _unflag(current, d)
    if current.status == "visible":
        return Outcome(current, "none")
    if current.status != "pending":
        raise Conflict("Only a pending comment can be approved")
    return Outcome(_shown_again(current), "approve")


def _reject(current: CommentRecord, d: Decision) -> Outcome:
    if _held_edit(current):
        return Outcome(_edit_decided(current, "reject", d.by, d.now), "decide_edit")
    if current.status != "pending":
        raise Conflict("Only a comment awaiting approval can be rejected")
    return _remove(current, d)


def _remove(current: CommentRecord, d: Decision) -> Outcome:
    updated = msgspec.structs.replace(current, status="removed", reason=d.reason, decided_by=d.by)
    return Outcome(updated, "none" if current.status == "removed" else "take_down")


def _restore(current: CommentRecord, d: Decision) -> Outcome:
    if current.status == "visible":
        return Outcome(current, "none")
    if current.status != "removed":
        raise Conflict("Only a removed comment can be restored")
    return Outcome(_shown_again(current), "restore")


def _shown_again(current: CommentRecord) -> CommentRecord:
    return msgspec.structs.replace(current, status="visible", reason=None, flag=None)


def _pinning(pinned: bool) -> Callable[[CommentRecord, Decision], Outcome]:
    def decide(current: CommentRecord, d: Decision) -> Outcome:
        if current.status != "visible":
            raise Conflict("Only a visible comment can be pinned or unpinned")
        if current.pinned == pinned:
            return Outcome(current, "none")
        return Outcome(msgspec.structs.replace(current, pinned=pinned), "edit")

    return decide


def _hold(current: CommentRecord, d: Decision) -> Outcome:
    _must_be_shown_or_held(current, "hold")
    if current.status == "pending":
        return Outcome(current, "none")  # already held: the first reason stands
    updated = msgspec.structs.replace(current, status="pending", reason=d.reason, decided_by=d.by)
    return Outcome(updated, "take_down")


def _flag(current: CommentRecord, d: Decision) -> Outcome:
    _must_be_shown_or_held(current, "flag")
    flag = d.reason or "flagged by a moderator"
    return _changed(current, msgspec.structs.replace(current, flag=flag, decided_by=d.by))


def _unflag(current: CommentRecord, d: Decision) -> Outcome:
    return _changed(current, msgspec.structs.replace(current, flag=None))


def _changed(current: CommentRecord, updated: CommentRecord) -> Outcome:
    return Outcome(updated, "none" if updated == current else "update")


def _must_be_shown_or_held(current: CommentRecord, action: str) -> None:
    if current.status not in ("visible", "pending"):
        raise Conflict(f"Only a visible or held comment can be {action}ed")


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("approve", True, ("held", "held_edit", "flagged"), _approve),
        Action("reject", True, ("held", "held_edit"), _reject),
        Action("remove", True, ("flagged",), _remove),
        Action("restore", True, (), _restore),
        Action("pin", True, (), _pinning(True)),
        Action("unpin", True, (), _pinning(False)),
        Action("hold", False, (), _hold),
        Action("flag", False, (), _flag),
        Action("unflag", False, (), _unflag),
    )
}

MODERATORS_ACTIONS: tuple[str, ...] = tuple(a.name for a in ACTIONS.values() if a.moderators)

# The request schema's type for an action a moderator asks for: exactly the table's moderator
# actions, checked by msgspec as it decodes (a Literal built from the table; mypy sees a str).
if TYPE_CHECKING:
    ModeratorsAction = str
else:
    ModeratorsAction = Literal[MODERATORS_ACTIONS]


def standing(record: CommentRecord) -> Standing | None:
    """Where the comment stands in its site's queue; None when it is not in it."""
    if not in_review(record):
        return None
    if record.status == "pending":
        return "held"
    return "held_edit" if _held_edit(record) else "flagged"


def offered(record: CommentRecord) -> tuple[str, ...]:
    """The actions a moderator is offered on the comment's queue item, in the table's order."""
    where = standing(record)
    return tuple(a.name for a in ACTIONS.values() if a.moderators and where in a.queue)


def decide(name: str, current: CommentRecord, decision: Decision) -> Outcome:
    """What the action makes of the comment (Conflict if it cannot apply to it)."""
    if current.status == "deleted":
        raise Conflict("Its author deleted this comment; it cannot be moderated")
    return ACTIONS[name].decide(current, decision)
