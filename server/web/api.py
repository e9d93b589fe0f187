"""The HTTP API (v1): snapshot, post, edit, delete, moderate, lock and retitle, counts."""

from __future__ import annotations

from typing import TypedDict, cast

import msgspec
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.accounts.ports import Policy
from server.accounts.readers import Readers, SignedIn
from server.errors import Forbidden, Invalid, NotFound, Refusal, Throttled
from server.language.choice import choose
from server.language.text import Text
from server.language.translate import translated, translated_fields
from server.model import PageOrder, PublicComment, ThreadKey
from server.moderation.automod import Poster
from server.sites.ports import Moderators
from server.threads import pages
from server.threads.comments import Comments
from server.threads.meta import ThreadMetas
from server.threads.ports import CommentReads
from server.threads.snapshots import Snapshots
from server.validation import (
    EditComment,
    ModerationRequest,
    NewComment,
    RequestError,
    ThreadModeration,
    decode,
    validate_comment,
    validate_edit,
    validate_ids,
)
from server.web import auth
from server.web.guard import Guard
from server.web.responses import accepts_gzip, error_response, json_response

MAX_COUNT_THREADS = 100
MAX_IDEMPOTENCY_KEY = 200


class CommentAnswer(msgspec.Struct, frozen=True):
    comment: PublicComment


class ThreadAnswer(msgspec.Struct, frozen=True, kw_only=True):
    site: str
    thread: str
    seq: int
    locked: bool
    title: str = ""
    url: str = ""


class CountsAnswer(msgspec.Struct, frozen=True):
    site: str
    counts: dict[str, int]


class AccountAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """`GET /api/v1/account`: the site's policy on who may comment and, with a sign-in token,
    the reader it names as other readers see them (their account id is never sent)."""

    site: str
    policy: Policy
    name: str | None = None
    key: str | None = None
    avatar: str | None = None
    roles: list[str] = msgspec.field(default_factory=list)


class SourceAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """`GET /api/v1/comments/{id}/source`: the comment's text as its author wrote it."""

    id: str
    body: str


class TooLarge(Refusal):
    status, code = 413, "too_large"


class Api:
    def __init__(
        self,
        comments: Comments,
        snapshots: Snapshots,
        metas: ThreadMetas,
        guard: Guard,
        *,
        reads: CommentReads,
        moderators: Moderators,
        readers: Readers,
        max_body: int,
    ) -> None:
        self._comments = comments
        self._reads = reads
        self._moderators = moderators
        self._readers = readers
        self._snapshots = snapshots
        self._guard = guard
        self._max_body = max_body
        self._meta = metas

    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/threads", self.snapshot, methods=["GET"]),
            Route("/api/v1/threads/moderation", self.thread_moderation, methods=["POST"]),
            Route("/api/v1/comments", self.post, methods=["POST"]),
            Route("/api/v1/comments/{id}", self.edit, methods=["PATCH"]),
            Route("/api/v1/comments/{id}/source", self.source, methods=["GET"]),
            Route("/api/v1/comments/{id}", self.delete, methods=["DELETE"]),
            Route("/api/v1/comments/{id}/moderation", self.moderate, methods=["POST"]),
            Route("/api/v1/counts", self.counts, methods=["GET"]),
            Route("/api/v1/account", self.account, methods=["GET"]),
        ]

    async def snapshot(self, request: Request) -> Response:
        """The thread as readers see it; with the site's moderator token, as moderators do."""
        key = _thread_query(request)
        found = await self._comments.site(key.site)
        # A page the site does not list learns so here, plainly, rather than from a websocket
        # that cannot open (browsers hide the handshake's 403) or a refused post.
        self._guard.check_origin(request, found)
        # Idempotent and bounded, so a GET may carry it: the first page to name the thread
        # names it, once, and one row per thread at most (server/threads/meta.py). Asked
        # before the snapshot is read, so a first page's answer already carries its title.
        query = request.query_params
        await self._meta.offered(
            found, key, request.headers.get("origin"), query.get("title"), query.get("url")
        )
        moderator = await auth.moderator(request, self._moderators)
        if moderator is not None and moderator.site != key.site:
            raise Forbidden("Your moderator token is for another site")
        # Never from a shared cache: a moderator's view must not reach a reader, and a reader's
        # page must not miss what was posted since.
        headers = {"Cache-Control": "no-store"}
        if moderator is None and "page" in query:
            # Moderators' views stay whole: paging is for readers.
            answer = await self._snapshots.page(key, **page_query(query))
            headers["Vary"] = "Accept-Encoding"
            zipped = accepts_gzip(request.headers.get("accept-encoding", ""))
            if zipped:
                headers["Content-Encoding"] = "gzip"
            return json_response(await pages.encoded(answer, zipped), headers=headers)
        if moderator is None:
            snapshot = await self._snapshots.get(key)
            headers["Vary"] = "Accept-Encoding"
            if accepts_gzip(request.headers.get("accept-encoding", "")):
                headers["Content-Encoding"] = "gzip"
                body = await self._snapshots.gzipped(snapshot)
            else:
                body = snapshot.body
            return json_response(body, headers=headers)
        return json_response(await self._snapshots.for_moderators(key), headers=headers)

    async def post(self, request: Request) -> Response:
        key = request.headers.get("idempotency-key")
        if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
            raise RequestError(
                422,
                "Invalid Idempotency-Key header",
                {"idempotency_key": f"1 to {MAX_IDEMPOTENCY_KEY} characters"},
            )
        # Claimed before the body is read: a retry sent while the first attempt is still
        # uploading or committing is a duplicate in flight.
        with self._comments.claim(key):
            token = auth.account_token(request)
            raw = decode(await limited_body(request, self._max_body), NewComment)
            # The author's language goes with the comment: their reply mails are written in it.
            new = validate_comment(raw, signed_in=token is not None, lang=language(request))
            self._guard.check_origin(request, await self._comments.site(new.site))
            moderator = await auth.moderator(request, self._moderators)
            await self._guard.check_post(request, new.key)
            # Checked after the flood limit: a stream of forged tokens costs a 429, not a
            # signature check (or a JWKS fetch) each.
            signed_in = None if token is None else await self._readers.signed_in(new.site, token)
            poster = Poster(
                address=self._guard.address(request),
                account=None if signed_in is None else signed_in.account.id,
            )
            answer = await self._comments.post(
                new, key, moderator=moderator, poster=poster, signed_in=signed_in
            )
        return json_response(answer, 201)

    async def account(self, request: Request) -> Response:
        """Who the sign-in token names on a site (for the widget: its reader's name and key),
        and the site's policy; without a token, the policy alone."""
        site = request.query_params.get("site", "")
        validate_ids(site, "-")
        self._guard.check_origin(request, await self._comments.site(site))
        token = auth.account_token(request)
        answer = AccountAnswer(site=site, policy=await self._readers.policy(site))
        if token is not None:
            signed_in = await self._readers.signed_in(site, token)
            answer = AccountAnswer(
                site=site,
                policy=answer.policy,
                name=signed_in.account.name,
                key=signed_in.key,
                avatar=signed_in.account.avatar,
                roles=list(signed_in.account.roles),
            )
        return json_response(answer, headers={"Cache-Control": "no-store"})

    async def edit(self, request: Request) -> Response:
        await self._check_comment_origin(request)
        body = validate_edit(decode(await limited_body(request, self._max_body), EditComment))
        comment = await self._comments.edit(
            request.path_params["id"],
            body,
            moderator=await auth.moderator(request, self._moderators),
            edit_token=auth.edit_token(request),
            poster=Poster(address=self._guard.address(request)),
            signed_in=await self._signed_in_for_comment(request),
        )
        return json_response(CommentAnswer(comment))

    async def source(self, request: Request) -> Response:
        """A comment's text as written, for whoever may edit it (its author, a moderator)."""
        await self._check_comment_origin(request)
        found = await self._comments.editable(
            request.path_params["id"],
            await auth.moderator(request, self._moderators),
            auth.edit_token(request),
            await self._signed_in_for_comment(request),
        )
        # An edit waiting for a moderator is the latest text its author wrote.
        answer = SourceAnswer(id=found.id, body=found.pending_body_source or found.body_source)
        return json_response(answer, headers={"Cache-Control": "no-store"})

    async def delete(self, request: Request) -> Response:
        await self._check_comment_origin(request)
        comment = await self._comments.delete(
            request.path_params["id"],
            moderator=await auth.moderator(request, self._moderators),
            edit_token=auth.edit_token(request),
            signed_in=await self._signed_in_for_comment(request),
        )
        return json_response(CommentAnswer(comment))

    async def moderate(self, request: Request) -> Response:
        await self._check_comment_origin(request)
        moderator = await auth.require_moderator(request, self._moderators)
        action = decode(await limited_body(request, self._max_body), ModerationRequest)
        comment = await self._comments.moderate(
            request.path_params["id"], action.action, moderator, reason=action.reason
        )
        return json_response(CommentAnswer(comment))

    async def thread_moderation(self, request: Request) -> Response:
        moderator = await auth.require_moderator(request, self._moderators)
        change = decode(await limited_body(request, self._max_body), ThreadModeration)
        key = validate_ids(change.site, change.thread)
        self._guard.check_origin(request, await self._comments.site(key.site))
        if change.action == "retitle":
            state = await self._meta.retitle(
                key, title=change.title, url=change.url, moderator=moderator
            )
        else:
            state = await self._comments.set_locked(key, change.action == "lock", moderator)
        return json_response(
            ThreadAnswer(
                site=state.site,
                thread=state.thread,
                seq=state.seq,
                locked=state.locked,
                title=state.title,
                url=state.url,
            )
        )

    async def counts(self, request: Request) -> Response:
        site = request.query_params.get("site", "")
        threads = request.query_params.getlist("thread")
        if not 0 < len(threads) <= MAX_COUNT_THREADS:
            raise RequestError(
                422,
                "Name the threads to count",
                {"thread": f"1 to {MAX_COUNT_THREADS} thread parameters"},
            )
        for thread in threads:
            validate_ids(site, thread)
        await self._comments.site(site)
        return json_response(CountsAnswer(site, await self._reads.counts(site, threads)))

    async def _check_comment_origin(self, request: Request) -> None:
        """A write to a comment is checked against the origins of the comment's site."""
        if request.headers.get("origin") is None:
            return
        found = await self._reads.get(request.path_params["id"])
        if found is not None:
            self._guard.check_origin(request, await self._comments.site(found.site))

    async def _signed_in_for_comment(self, request: Request) -> SignedIn | None:
        """The reader a sign-in token names on the site of the comment in the path, if any."""
        token = auth.account_token(request)
        if token is None:
            return None
        found = await self._reads.get(request.path_params["id"])
        if found is None:
            raise NotFound(Text("comment.not_found"))
        return await self._readers.signed_in(found.site, token)


async def limited_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it exceeds `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(Text("request.too_large", limit=limit))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(Text("request.too_large", limit=limit))
        chunks.append(chunk)
    return b"".join(chunks)


class PageQuery(TypedDict):
    order: PageOrder
    limit: int
    after: str | None
    around: str | None


def page_query(query: QueryParams) -> PageQuery:
    """A page request's order, limit and cursor (or comment to show), checked."""
    errors: dict[str, str] = {}
    order = query.get("order", "oldest")
    if order not in pages.ORDERS:
        errors["order"] = f"must be one of {', '.join(pages.ORDERS)}"
    raw = query.get("limit", str(pages.DEFAULT_LIMIT))
    limit = int(raw) if raw.isdigit() and len(raw) < 6 else 0
    if not 1 <= limit <= pages.MAX_LIMIT:
        errors["limit"] = f"must be a whole number from 1 to {pages.MAX_LIMIT}"
    after, around = query.get("after"), query.get("around")
    if after is not None and around is not None:
        errors["around"] = "asks for a page of its own: give it without after"
    if errors:
        raise Invalid(
            "Bad page request: " + "; ".join(f"{k} {v}" for k, v in errors.items()), errors
        )
    return PageQuery(order=cast(PageOrder, order), limit=limit, after=after, around=around)


def _thread_query(request: Request) -> ThreadKey:
    return validate_ids(
        request.query_params.get("site", ""), request.query_params.get("thread", "")
    )


def language(request: Request) -> str:
    """The language the request asks for (its Accept-Language; the widget sends its own)."""
    return choose(request.headers.get("accept-language"))


# The answer depends on Accept-Language: a cache must not hand one reader's language to another.
_VARY = {"Vary": "Accept-Language"}


async def on_refusal(request: Request, exc: Exception) -> Response:
    """Every refusal's answer, its reader-facing texts in the request's language (the one place
    they are translated: server/language/translate.py)."""
    assert isinstance(exc, Refusal)
    headers = {**_VARY, "Retry-After": exc.retry_after} if isinstance(exc, Throttled) else _VARY
    lang = language(request)
    message, fields = translated(exc.message, lang), translated_fields(exc.fields, lang)
    return error_response(exc.status, exc.code, message, fields, headers)


async def on_request_error(request: Request, exc: Exception) -> Response:
    """A request the API cannot read (400) or whose values are wrong (422), translated as
    refusals are."""
    assert isinstance(exc, RequestError)
    code = "malformed" if exc.status == 400 else "invalid"
    lang = language(request)
    message, fields = translated(exc.message, lang), translated_fields(exc.fields, lang)
    return error_response(exc.status, code, message, fields, _VARY)
