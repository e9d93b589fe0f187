"""Edits: a comment's text changes by the rules a post passes, and no replay keeps the old text.

An author's edit is screened as a post is (`Automod.screen_edit`; a moderator's edit skips the
rules, as a moderator's post does): a banned word refuses it, suspect words flag the comment,
and too many links, a repeat, or a pre-moderated site hold it. A held edit of a published
comment waits beside the published text (`pending_body_*`), which readers keep seeing until a
moderator approves the edit (the new text is published, as `comment.edited`) or rejects it
(the pending text goes): server/moderation/actions.py decides, `store` below carries it out.
A comment not yet published is simply given the new text: it was never shown, so there is
nothing to keep.

Whenever the published text changes, the comment's earlier stored events are rewritten, in the
same transaction, to carry what readers see now (`model.shown`), as a removal rewrites them to
a tombstone: a replay from seq 0, and a webhook delivery sent later, never carries superseded
text (a phone number a moderator edited out, say).
"""

from __future__ import annotations

import msgspec

from server import events
from server.model import CommentRecord, PublicComment, public, shown, with_pending_edit
from server.moderation.automod import Verdict
from server.render import render
from server.threads import history
from server.threads.ports import Transaction

# Why a premoderated site holds an edit that no rule held.
PREMODERATED = "this site approves every change before it is shown"


def revised(
    current: CommentRecord, body: str, verdict: Verdict, *, held: bool, now: float
) -> CommentRecord:
    """The comment with its author's (or a moderator's) new text, as the rules decided:
    published at once, or, for a published comment whose edit is `held`, waiting beside it."""
    html = render(body)
    flag = verdict.flagged or current.flag
    decided_by = verdict.by or current.decided_by
    if current.status == "visible" and held:
        return msgspec.structs.replace(
            current,
            pending_body_source=body,
            pending_body_html=html,
            reason=f"edit held: {verdict.reason or PREMODERATED}",
            flag=flag,
            decided_by=decided_by,
        )
    reason = current.reason
    if current.status == "pending" and verdict.held:
        reason = current.reason or verdict.reason
    return msgspec.structs.replace(
        current,
        body_source=body,
        body_html=html,
        edited_at=now,
        pending_body_source=None,
        pending_body_html=None,
        reason=None if current.status == "visible" else reason,
        flag=flag,
        decided_by=decided_by,
    )


async def store(tx: Transaction, current: CommentRecord, updated: CommentRecord) -> bytes | None:
    """Store the changed comment; when readers' text changed, rewrite its earlier events to
    it and append `comment.edited` (returned for publishing)."""
    await tx.update_comment(updated)
    if updated.status != "visible" or public(updated) == public(current):
        return None
    await history.rewrite(tx, updated.id, shown(updated))
    edited = events.CommentEdited(seq=0, comment=public(updated))
    return await history.append(tx, edited, updated.id)


def answer(updated: CommentRecord) -> PublicComment:
    """What the editor gets back: with the edit awaiting approval, if it is held."""
    return with_pending_edit(updated)
