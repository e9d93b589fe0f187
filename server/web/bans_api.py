"""The HTTP API (v1) for bans: a site's moderators ban, suspend or shadow-ban a person (from
one of their comments, or by account, email or address), list the bans in force and lift them.
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.moderation.bans import Banning, BanRequest, BanView, view
from server.sites.ports import Moderators
from server.threads.comments import Comments
from server.validation import RequestError, decode, validate_ids
from server.web import auth
from server.web.api import limited_body
from server.web.guard import Guard
from server.web.responses import json_response

BAN_BODY_MAX = 4096
NO_STORE = {"Cache-Control": "no-store"}


class BansAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """`GET /api/v1/bans`: the site's bans in force, newest first."""

    site: str
    bans: list[BanView]


class BanAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """A ban made (with how many of the person's comments it removed) or lifted."""

    ban: BanView
    removed: int = 0


class BansApi:
    def __init__(
        self, banning: Banning, comments: Comments, moderators: Moderators, guard: Guard
    ) -> None:
        self._banning = banning
        self._comments = comments
        self._moderators = moderators
        self._guard = guard

    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/bans", self.list, methods=["GET"]),
            Route("/api/v1/bans", self.ban, methods=["POST"]),
            Route("/api/v1/bans/{id}", self.lift, methods=["DELETE"]),
        ]

    async def list(self, request: Request) -> Response:
        site = await self._site(request, request.query_params.get("site", ""))
        moderator = await auth.require_moderator(request, self._moderators)
        found = await self._banning.of_site(moderator, site)
        return json_response(BansAnswer(site=site, bans=[view(b) for b in found]), headers=NO_STORE)

    async def ban(self, request: Request) -> Response:
        moderator = await auth.require_moderator(request, self._moderators)
        wanted = decode(await limited_body(request, BAN_BODY_MAX), BanRequest)
        await self._site(request, wanted.site)
        if wanted.thread is not None:
            validate_ids(wanted.site, wanted.thread)
        ban, removed = await self._banning.ban(moderator, wanted)
        return json_response(BanAnswer(ban=view(ban), removed=removed), 201)

    async def lift(self, request: Request) -> Response:
        site = await self._site(request, request.query_params.get("site", ""))
        moderator = await auth.require_moderator(request, self._moderators)
        raw = request.path_params["id"]
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
            raise RequestError(422, "A ban's id is a whole number", {"id": raw[:20]})
        ban = await self._banning.lift(moderator, site, int(raw))
        return json_response(BanAnswer(ban=view(ban)))

    async def _site(self, request: Request, site: str) -> str:
        """The site named, checked, from an origin it allows (or the moderators' page)."""
        validate_ids(site, "-")
        self._guard.check_origin(request, await self._comments.site(site))
        return site
