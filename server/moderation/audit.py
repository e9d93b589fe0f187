"""What the audit log keeps of a moderation decision (`AuditLog`, `AuditWrites`): one entry per
decision that changed something, by moderators, auto-moderation's rules, the classifier and
readers' reports alike, kept in the transaction that carries the decision out."""

from __future__ import annotations

from server.model import CommentRecord, ThreadKey
from server.moderation.automod import Verdict
from server.moderation.ports import AuditEntry


def about_comment(
    record: CommentRecord, action: str, by: str, reason: str | None, at: float
) -> AuditEntry:
    """A decision about one comment."""
    return AuditEntry(
        site=record.site,
        at=at,
        by=by,
        action=action,
        thread=record.thread,
        comment_id=record.id,
        reason=reason,
    )


def about_thread(key: ThreadKey, action: str, by: str, at: float) -> AuditEntry:
    """A decision about a whole thread (closing or reopening it)."""
    return AuditEntry(site=key.site, at=at, by=by, action=action, thread=key.thread)


def of_verdict(record: CommentRecord, verdict: Verdict) -> AuditEntry | None:
    """Auto-moderation's decision on a new comment (held or flagged by its rules), if any."""
    if verdict.by is None:
        return None
    action, why = ("hold", verdict.reason) if verdict.held else ("flag", verdict.flagged)
    return about_comment(record, action, verdict.by, why, record.created_at)
