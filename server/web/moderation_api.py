"""The HTTP API (v1) for reports and the audit log: any reader reports a comment; a site's
moderators read every decision made on it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.accounts.readers import Readers
from server.errors import Forbidden, NotFound
from server.model import Site
from server.moderation.ports import AuditEntry, AuditLog
from server.sites.ports import Moderators
from server.threads.ports import CommentReads
from server.threads.reports import Reporting
from server.validation import NewReport, RequestError, decode, report_text, validate_ids
from server.web import auth
from server.web.api import limited_body
from server.web.guard import Guard
from server.web.responses import json_response

AUDIT_PAGE = 500
REPORT_BODY_MAX = 2048


class AuditAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """`GET /api/v1/audit`: a page of decisions in order; `next` is the `after` of the next
    page (None when this one was the last)."""

    site: str
    entries: list[AuditEntry]
    next: int | None


class ModerationApi:
    def __init__(
        self,
        reporting: Reporting,
        audit: AuditLog,
        reads: CommentReads,
        readers: Readers,
        moderators: Moderators,
        guard: Guard,
        site_of: Callable[[str], Awaitable[Site]],
    ) -> None:
        self._reporting = reporting
        self._audit = audit
        self._reads = reads
        self._readers = readers
        self._moderators = moderators
        self._guard = guard
        self._site_of = site_of  # the site, or NotFound

    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/comments/{id}/reports", self.report, methods=["POST"]),
            Route("/api/v1/audit", self.audit, methods=["GET"]),
        ]

    async def report(self, request: Request) -> Response:
        """A reader reports a comment: 201 when it counted, 200 when this reader had already."""
        found = await self._reads.get(request.path_params["id"])
        if found is None:
            raise NotFound("No such comment")
        wanted = decode(await limited_body(request, REPORT_BODY_MAX), NewReport)
        text = report_text(wanted)
        self._guard.check_origin(request, await self._site_of(found.site))
        token = auth.account_token(request)
        if token is not None:
            signed_in = await self._readers.signed_in(found.site, token)
            reporter = f"account:{signed_in.key}"
        else:
            reporter = f"address:{self._guard.address(request)}"
        # Reports are writes anyone may make: the same flood limit as posts.
        await self._guard.check_post(request, found.key)
        answer = await self._reporting.report(found.id, reporter, wanted.reason, text)
        return json_response(answer, 201 if answer.counted else 200)

    async def audit(self, request: Request) -> Response:
        """A site's decisions (or one comment's), for its moderators: oldest first from `after`,
        or with `order=newest` newest first from `before`."""
        query = request.query_params
        site = query.get("site", "")
        validate_ids(site, "-")
        moderator = await auth.require_moderator(request, self._moderators)
        if moderator.site != site:
            raise Forbidden("Your moderator token is for another site")
        after, limit = _number(query.get("after"), 0), _number(query.get("limit"), AUDIT_PAGE)
        comment = query.get("comment")
        if comment is not None:
            entries = [e for e in await self._audit.of_comment(comment) if e.site == site]
            return json_response(AuditAnswer(site=site, entries=entries, next=None))
        limit = min(max(limit, 1), AUDIT_PAGE)
        order = query.get("order", "oldest")
        if order == "newest":  # from the latest back: `next` is the `before` of older ones
            before = query.get("before")
            entries = await self._audit.newest(
                site, None if before is None else _number(before, 0), limit
            )
        elif order == "oldest":
            entries = await self._audit.of_site(site, after, limit)
        else:
            raise RequestError(422, "Invalid query", {"order": "oldest or newest"})
        last = entries[-1].id if len(entries) == limit else None
        headers = {"Cache-Control": "no-store"}
        return json_response(AuditAnswer(site=site, entries=entries, next=last), headers=headers)


def _number(raw: str | None, default: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit():
        raise RequestError(422, "Invalid query", {"after/before/limit": "a whole number"})
    return int(raw)
