"""The HTTP API (v1) for reactions: a reader sets or clears a reaction on a published comment,
and reads back their own reactions in a thread.

A reader is their account (a signed-in reader's key) or, anonymously, their browser: the widget
makes a random key once and sends it as `X-Reader-Key`; only a keyed hash of it is kept. One
reaction per reader, comment and kind; a browser that forgets its key can like again, which is
the price of needing no account (the address's rate limit bounds it).
"""

from __future__ import annotations

import re

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.accounts.readers import Readers
from server.errors import NotFound
from server.language.text import Text
from server.limits import Addresses
from server.reactions.ports import ReactionKind
from server.reactions.reacting import Reacting
from server.threads.comments import Comments
from server.threads.ports import CommentReads
from server.validation import RequestError, decode, validate_ids
from server.web import auth
from server.web.api import limited_body
from server.web.guard import Guard
from server.web.responses import json_response

READER_KEY_HEADER = "X-Reader-Key"
# What the widget makes: random, URL-safe, long enough not to be guessed.
READER_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
BODY_MAX = 256


class ReactionRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`POST /api/v1/comments/{id}/reactions`: set (`on`) or clear a reaction of a kind."""

    kind: ReactionKind
    on: bool = True


class ReactionAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """The comment's counts once the reaction is durable, and what this reader asked."""

    id: str
    version: int
    counts: dict[str, int]
    kind: ReactionKind
    on: bool


class MineAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """`GET /api/v1/reactions`: the reader's own reactions in a thread, by comment."""

    site: str
    thread: str
    mine: dict[str, list[ReactionKind]]


class ReactionsApi:
    def __init__(
        self,
        reacting: Reacting,
        comments: Comments,
        reads: CommentReads,
        readers: Readers,
        addresses: Addresses,
        guard: Guard,
    ) -> None:
        self._reacting = reacting
        self._comments = comments
        self._reads = reads
        self._readers = readers
        self._addresses = addresses
        self._guard = guard

    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/comments/{id}/reactions", self.react, methods=["POST"]),
            Route("/api/v1/reactions", self.mine, methods=["GET"]),
        ]

    async def react(self, request: Request) -> Response:
        wanted = decode(await limited_body(request, BODY_MAX), ReactionRequest)
        found = await self._reads.get(request.path_params["id"])
        if found is None:
            raise NotFound(Text("comment.not_found"))
        self._guard.check_origin(request, await self._comments.site(found.site))
        await self._guard.check_reaction(request)
        reader = await self._reader(request, found.site)
        counts = await self._reacting.react(found.id, reader, wanted.kind, wanted.on)
        return json_response(
            ReactionAnswer(
                id=counts.comment_id,
                version=counts.version,
                counts=dict(counts.counts.items()),
                kind=wanted.kind,
                on=wanted.on,
            )
        )

    async def mine(self, request: Request) -> Response:
        query = request.query_params
        key = validate_ids(query.get("site", ""), query.get("thread", ""))
        self._guard.check_origin(request, await self._comments.site(key.site))
        reader = await self._reader(request, key.site)
        mine = await self._reacting.mine(key, reader)
        answer = MineAnswer(site=key.site, thread=key.thread, mine=mine)
        return json_response(answer, headers={"Cache-Control": "no-store"})

    async def _reader(self, request: Request, site: str) -> str:
        """Who reacts: the signed-in reader's key, else a keyed hash of the browser's key."""
        token = auth.account_token(request)
        if token is not None:
            return f"account:{(await self._readers.signed_in(site, token)).key}"
        raw = request.headers.get(READER_KEY_HEADER)
        if raw is None or not READER_KEY.fullmatch(raw):
            raise RequestError(
                422,
                "A reaction needs the reader's key",
                {READER_KEY_HEADER: "16 to 64 letters, digits, '-' or '_' (or sign in)"},
            )
        return f"browser:{self._addresses.key('reader:' + raw)}"
