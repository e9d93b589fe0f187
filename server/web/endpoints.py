"""What every HTTP route takes and answers: the table `server/web/openapi.py` makes the
OpenAPI document from.

Each row names the structs its handler decodes and encodes (their schemas come from msgspec,
never written here), its parameters, its answers by status and the error statuses it can give
(each in ErrorBody's shape, with the codes `ERRORS` lists). `tests/test_openapi.py` fails when
a route has no row, and runs schemathesis against a real server to hold each row to the wire.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_type_hints

from server.model import ThreadPage, ThreadSnapshot
from server.moderation.bans import BanRequest
from server.threads.comments import Comments
from server.threads.reports import ReportAnswer
from server.validation import (
    ID_MAX,
    EditComment,
    ModerationRequest,
    NewComment,
    NewReport,
    ThreadModeration,
)
from server.web.api import (
    MAX_COUNT_THREADS,
    MAX_IDEMPOTENCY_KEY,
    AccountAnswer,
    CommentAnswer,
    CountsAnswer,
    SourceAnswer,
    ThreadAnswer,
)
from server.web.bans_api import BanAnswer, BansAnswer
from server.web.moderation_api import AuditAnswer
from server.web.reactions_api import MineAnswer, ReactionAnswer, ReactionRequest

JSON = "application/json"
TEXT: dict[str, Any] = {"type": "string"}
ID: dict[str, Any] = {"type": "string", "pattern": f"^[A-Za-z0-9._:\\-]{{1,{ID_MAX}}}$"}

Where = Literal["query", "path", "header"]
# Whether an operation takes a moderator's bearer token: never, as one way in, or only with it.
TokenNeed = Literal["no", "optional", "required"]


@dataclass(frozen=True)
class Param:
    name: str
    where: Where
    description: str
    schema: Mapping[str, Any] = field(default_factory=lambda: TEXT)
    required: bool = False
    example: str | None = None


@dataclass(frozen=True)
class Answer:
    """One status's answer: a struct (or a tuple of structs, any of which) as JSON, or a
    literal schema (a dict) for another media type; no body without a media type."""

    description: str
    body: Any = None
    media: str = JSON


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    summary: str
    answers: Mapping[int, Answer]
    errors: tuple[int, ...] = ()
    params: tuple[Param, ...] = ()
    body: Any = None
    # The urlencoded fields a form POSTs (our own pages' buttons).
    form: tuple[str, ...] = ()
    moderator: TokenNeed = "no"
    tag: str = "api"


# Every error answer has ErrorBody's shape; these are the codes each status carries.
ERRORS: dict[int, str] = {
    400: "`malformed`: the body is not JSON (or nests too deeply); `bad_request`",
    401: "`unauthorized`: a missing, malformed, unknown or revoked token; a sign-in token "
    "that cannot be trusted, or an anonymous write where the site takes signed-in readers only",
    403: "`forbidden` (another site's moderator token), `origin_refused` (an `Origin` the "
    "site does not list), `banned`",
    404: "`not_found`: no such site, comment or ban",
    409: "`conflict`: the thread is locked, the comment is not published or not editable now, "
    "an idempotency key reused with another request",
    413: "`too_large`: the body passes the size limit",
    422: "`invalid`: `fields` names each bad field (or parameter, or header) and what is wrong",
    429: "`rate_limited`: too many, too fast; `Retry-After` says when to try again",
    503: "`unavailable`: the database cannot take writes now (or a site's sign-in keys "
    "cannot be fetched); `Retry-After` says when to try again",
}


def q(name: str, description: str, schema: Mapping[str, Any] = TEXT, req: bool = False) -> Param:
    return Param(name, "query", description, schema, req)


def h(name: str, description: str, schema: Mapping[str, Any] = TEXT) -> Param:
    return Param(name, "header", description, schema)


# Examples name the demo article (server/demo.py, served with `--demo`), so that a client, and
# schemathesis, can try them on a demo server. (Only the demo's hosts import the demo.)
DEMO_SITE, DEMO_THREAD = "demo", "nato-secretary-general-visits-kyiv"
SITE = Param("site", "query", "The site's name", ID, True, DEMO_SITE)
THREAD = Param("thread", "query", "The thread's id", ID, True, DEMO_THREAD)
COMMENT_ID = Param("id", "path", "The comment's id", ID, True, "c1")
ACCOUNT = h("X-Account-Token", "A signed-in reader's token, signed by their publisher")
EDIT = h("X-Edit-Token", "The author's edit token, from the post's answer")
READER = Param(
    "X-Reader-Key",
    "header",
    "An anonymous reader's random browser key (only a keyed hash is kept)",
    {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,64}$"},
    example="r4nd0m-br0wser-key_1",
)

# A request body's example, by its struct.
EXAMPLES: dict[Any, dict[str, Any]] = {
    NewComment: {
        "site": DEMO_SITE,
        "thread": DEMO_THREAD,
        "author": {"name": "Ada"},
        "body": "Well *said*.",
        "parent": "c1",
    },
    EditComment: {"body": "Well said, **really**."},
    ModerationRequest: {"action": "pin"},
    ThreadModeration: {
        "site": DEMO_SITE,
        "thread": DEMO_THREAD,
        "action": "retitle",
        "title": "Budget day",
    },
    NewReport: {"reason": "spam"},
    ReactionRequest: {"kind": "like"},
    BanRequest: {"site": DEMO_SITE, "comment": "c2", "mode": "shadow", "reason": "spam"},
}
# What `Comments.post` answers: its struct's module is the threads room's own, not public.
PostAnswer = get_type_hints(Comments.post)["return"]
API_ERRORS = (401, 403, 404, 422, 503)
WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 422, 503)


def ok(description: str, body: Any, status: int = 200) -> Mapping[int, Answer]:
    return {status: Answer(description, body)}


API: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/api/v1/threads",
        "A thread as readers see it (whole, or a page with `page`); moderators see it all",
        ok("The snapshot, or with `page` one page of it", (ThreadSnapshot, ThreadPage)),
        API_ERRORS,
        (
            SITE,
            THREAD,
            q("title", "The article's title, kept only for a thread that has none yet"),
            q("url", "The article's URL, kept only for a thread that has none yet"),
            q("page", "Present (`page=1`): answer a page instead of the whole thread"),
            q("order", "A page's order", {"enum": ["oldest", "newest", "best"]}),
            q("limit", "Top-level comments per page", {"type": "integer", "minimum": 1}),
            q("after", "The cursor of the page wanted (a page's `next` or `prev`)"),
            q("around", "A comment id: the page that holds it"),
        ),
        moderator="optional",
    ),
    Endpoint(
        "POST",
        "/api/v1/threads/moderation",
        "Lock, unlock or retitle a thread",
        ok("The thread as it now is", ThreadAnswer),
        WRITE_ERRORS,
        body=ThreadModeration,
        moderator="required",
    ),
    Endpoint(
        "POST",
        "/api/v1/comments",
        "Post a comment (or a reply, with `parent`)",
        ok("The comment and the token that lets its author edit it", PostAnswer, 201),
        (*WRITE_ERRORS, 429),
        (
            h(
                "Idempotency-Key",
                "A retry with the same key gets the first answer instead of a second comment",
                {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY},
            ),
            ACCOUNT,
        ),
        NewComment,
        moderator="optional",
    ),
    Endpoint(
        "PATCH",
        "/api/v1/comments/{id}",
        "Edit a comment: its author within the edit window, or a moderator",
        ok(
            "The comment as edited (`pending_edit` while a moderator must approve it)",
            CommentAnswer,
        ),
        (*WRITE_ERRORS, 429),
        (COMMENT_ID, EDIT, ACCOUNT),
        EditComment,
        moderator="optional",
    ),
    Endpoint(
        "GET",
        "/api/v1/comments/{id}/source",
        "A comment's text as written (Markdown), for whoever may edit it now",
        ok("The source", SourceAnswer),
        (401, 403, 404, 409, 422, 503),
        (COMMENT_ID, EDIT, ACCOUNT),
        moderator="optional",
    ),
    Endpoint(
        "DELETE",
        "/api/v1/comments/{id}",
        "Delete a comment: its author (text erased) or a moderator (a removal)",
        ok("The comment as readers now see it", CommentAnswer),
        (401, 403, 404, 409, 422, 503),
        (COMMENT_ID, EDIT, ACCOUNT),
        moderator="optional",
    ),
    Endpoint(
        "POST",
        "/api/v1/comments/{id}/moderation",
        "Remove, restore, approve, reject, pin or unpin a comment",
        ok("The comment as it now is", CommentAnswer),
        WRITE_ERRORS,
        (COMMENT_ID,),
        ModerationRequest,
        moderator="required",
    ),
    Endpoint(
        "POST",
        "/api/v1/comments/{id}/reports",
        "Report a comment to the site's moderators",
        {
            201: Answer("The report counted", ReportAnswer),
            200: Answer("This reader had reported it already", ReportAnswer),
        },
        (*WRITE_ERRORS, 429),
        (COMMENT_ID, ACCOUNT),
        NewReport,
    ),
    Endpoint(
        "POST",
        "/api/v1/comments/{id}/reactions",
        "Set or clear a reader's reaction on a published comment",
        ok("The comment's counts once the reaction is durable", ReactionAnswer),
        (*WRITE_ERRORS, 429),
        (COMMENT_ID, ACCOUNT, READER),
        ReactionRequest,
    ),
    Endpoint(
        "GET",
        "/api/v1/reactions",
        "The reader's own reactions in a thread",
        ok("By comment id, the kinds this reader chose", MineAnswer),
        API_ERRORS,
        (SITE, THREAD, ACCOUNT, READER),
    ),
    Endpoint(
        "GET",
        "/api/v1/counts",
        "Visible-comment counts of up to 100 threads of a site",
        ok("By thread id", CountsAnswer),
        (404, 422, 503),
        (
            SITE,
            q(
                "thread",
                "A thread id; repeat the parameter for each thread",
                {"type": "array", "items": ID, "minItems": 1, "maxItems": MAX_COUNT_THREADS},
                True,
            ),
        ),
    ),
    Endpoint(
        "GET",
        "/api/v1/account",
        "The site's sign-in policy and the reader a sign-in token names",
        ok("The policy, and the reader when a token is given", AccountAnswer),
        API_ERRORS,
        (q("site", "The site's name", ID, True), ACCOUNT),
    ),
    Endpoint(
        "GET",
        "/api/v1/audit",
        "Every moderation decision on a site (or one comment), in order",
        ok("A page of decisions; `next` is the cursor of the next page", AuditAnswer),
        (401, 403, 422, 503),
        (
            q("site", "The site's name", ID, True),
            q("after", "Oldest first: entries after this id", {"type": "integer", "minimum": 0}),
            q("before", "Newest first: entries before this id", {"type": "integer", "minimum": 0}),
            q("limit", "Entries per page (1 to 500)", {"type": "integer", "minimum": 0}),
            q("order", "Oldest or newest first", {"enum": ["oldest", "newest"]}),
            q("comment", "Only this comment's decisions"),
        ),
        moderator="required",
    ),
    Endpoint(
        "GET",
        "/api/v1/bans",
        "The site's bans in force, newest first",
        ok("The bans", BansAnswer),
        API_ERRORS,
        (q("site", "The site's name", ID, True),),
        moderator="required",
    ),
    Endpoint(
        "POST",
        "/api/v1/bans",
        "Ban, suspend or shadow-ban a person (from a comment, or by account, email, address)",
        ok("The ban and how many comments it removed", BanAnswer, 201),
        WRITE_ERRORS,
        body=BanRequest,
        moderator="required",
    ),
    Endpoint(
        "DELETE",
        "/api/v1/bans/{id}",
        "Lift a ban",
        ok("The ban lifted", BanAnswer),
        API_ERRORS,
        (
            Param("id", "path", "The ban's id", {"type": "integer", "minimum": 0}, True),
            q("site", "The site's name", ID, True),
        ),
        moderator="required",
    ),
)
