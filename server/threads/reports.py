"""Readers report comments: each report goes to the site's review queue, and enough of them
hold the comment for everyone until a moderator looks.

A report is kept once per reader and comment (`Reports`): a signed-in reader is their account,
anyone else their address's keyed hash, so one reader reporting again (or from another tab)
counts once. Each new report flags the comment with the count and the reasons so far, which the
live queue shows; the report that reaches the site's `reports_hold` rule holds it instead
(readers see it go, live). Both go through `Comments.moderate`, as "reports", so the audit log
has them and a moderator's approve puts the comment back.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import msgspec

from server.errors import Conflict, NotFound
from server.language.text import Text
from server.memo import Memo
from server.model import Moderator
from server.moderation.ports import Report, ReportReason, Reports, RuleBook
from server.moderation.rules import Rules
from server.threads.comments import Comments
from server.threads.ports import CommentReads

# Who the queue and the audit log say decided, when reports did.
REPORTS = "reports"


class ReportAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """`POST /api/v1/comments/{id}/reports`: whether this report counted (a reader's second
    report of a comment does not), and how many readers have reported it."""

    counted: bool
    reports: int


class Reporting:
    """The reporting use-case (see the module's docstring)."""

    def __init__(
        self,
        comments: Comments,
        reads: CommentReads,
        reports: Reports,
        rules: RuleBook,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._comments = comments
        self._reads = reads
        self._reports = reports
        self._rules: Memo[str, Rules] = Memo(rules.get)
        self._clock = clock

    async def report(
        self, comment_id: str, reporter: str, reason: ReportReason, text: str | None
    ) -> ReportAnswer:
        found = await self._reads.get(comment_id)
        if found is None:
            raise NotFound(Text("comment.not_found"))
        if found.status != "visible":
            raise Conflict(Text("comment.report_published"))
        report = Report(
            site=found.site,
            thread=found.thread,
            comment_id=found.id,
            reporter=reporter,
            reason=reason,
            text=text,
            at=self._clock(),
        )
        counted = await self._reports.add(report)
        every = await self._reports.of_comment(found.id)
        if counted:
            threshold = (await self._rules.get(found.site) or Rules()).reports_hold
            action = "hold" if 0 < threshold <= len(every) else "flag"
            await self._comments.moderate(
                found.id, action, Moderator(name=REPORTS, site=found.site), reason=summary(every)
            )
        return ReportAnswer(counted=counted, reports=len(every))


def summary(reports: list[Report]) -> str:
    """What the queue shows of a comment's reports: how many, and why (the latest text)."""
    reasons = Counter(r.reason.replace("_", "-") for r in reports)
    why = ", ".join(f"{reason} x{n}" if n > 1 else reason for reason, n in reasons.most_common())
    said = next((r.text for r in reversed(reports) if r.text), None)
    count = f"{len(reports)} report" + ("s" if len(reports) != 1 else "")
    return f"{count}: {why}" + (f" ({said})" if said else "")
