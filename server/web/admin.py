"""`/admin`: a site admin runs their own site from a browser, as `livethread site|moderator|rules|
webhooks` do from a terminal and through the same store ports and shared rules
(server/sites/administration.py).

A site admin is a moderator whose role is `admin`; they sign in with that token once and get a
session cookie (server/web/admin_session.py). Every POST is checked for its origin and CSRF
token before anything is read or changed, and each answers with the page as it now is, so a
new token or webhook secret is shown once, in the answer to the POST that made it. The Imports
section lists the site's recent `livethread import` runs (server/web/admin_imports.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from server import channels, destinations
from server.bus import Bus
from server.model import Moderator, ModeratorRole, Site
from server.moderation.rules import CLASSIFIER_KINDS, RulesError
from server.settings import Settings
from server.sites.administration import (
    NoSuchModerator,
    OriginError,
    SiteExists,
    add_moderator,
    add_site,
    changed_rules,
    changed_site,
    origins,
    revoke_moderator,
    rotate_moderator,
    site_rules,
)
from server.storage import Storage
from server.tokens import token_hash
from server.validation import RequestError, validate_ids
from server.web.admin_forms import Form, read_form, rule_changes
from server.web.admin_imports import recent_imports
from server.web.admin_session import Session, Sessions, same_origin
from server.web.pages import PAGE_HEADERS, templates
from workers.webhooks.worker import EVENT_TYPES, WebhookError, new_webhook

HEADERS = {**PAGE_HEADERS, "Cache-Control": "no-store"}
MAX_NAME = 50
ROLES: tuple[ModeratorRole, ...] = ("moderator", "admin")

Action = Callable[[Request, Moderator, Form], Awaitable[Response]]


@dataclass
class Admin:
    store: Storage
    bus: Bus
    settings: Settings

    def __post_init__(self) -> None:
        self.sessions = Sessions(self.store, self.settings.secret)

    def routes(self) -> list[BaseRoute]:
        post = ["POST"]
        return [
            Route("/admin", self.page),
            Route("/admin/sign-in", self.sign_in, methods=post),
            Route("/admin/sign-out", self._guarded(self._sign_out), methods=post),
            Route("/admin/site", self._guarded(self._site), methods=post),
            Route("/admin/sites/add", self._guarded(self._add_site), methods=post),
            Route("/admin/moderators/add", self._guarded(self._add), methods=post),
            Route("/admin/moderators/rotate", self._guarded(self._rotate), methods=post),
            Route("/admin/moderators/revoke", self._guarded(self._revoke), methods=post),
            Route("/admin/rules", self._guarded(self._rules), methods=post),
            Route("/admin/webhooks/add", self._guarded(self._add_hook), methods=post),
            Route("/admin/webhooks/remove", self._guarded(self._remove_hook), methods=post),
            Route("/admin/deliveries/retry", self._guarded(self._retry), methods=post),
        ]

    # Signing in and out.

    async def page(self, request: Request) -> Response:
        session = await self.sessions.current(request)
        if session is not None and session.signed_in:
            admin = await self._admin(session)
            if admin is not None:
                return await self._dashboard(request, session, admin)
            return await self._sign_in_page(request, ended=True, status=401)
        return await self._sign_in_page(request, session=session)

    async def sign_in(self, request: Request) -> Response:
        form = await read_form(request)
        session = await self._checked(request, form)
        if session is None:
            return self._refused(request)
        token = form.get("token").strip()
        found = await self.store.moderators.by_token(token_hash(token)) if token else None
        if found is None:
            message = "That token is not a valid one: it is unknown, revoked or replaced."
            return await self._sign_in_page(request, session=session, error=message, status=401)
        if found.role != "admin":
            message = (
                f"That is a moderator's token ({found.name} of {found.site}), not a site "
                "admin's. Moderators use the moderators' page, /moderate; a site admin can "
                "make you one."
            )
            return await self._sign_in_page(request, session=session, error=message, status=403)
        response = RedirectResponse("/admin", status_code=303, headers=HEADERS)
        signed = self.sessions.signed_in(found.site, found.name, token_hash(token))
        await self.sessions.set_cookie(request, response, signed)
        return response

    async def _sign_out(self, request: Request, admin: Moderator, form: Form) -> Response:
        response = RedirectResponse("/admin", status_code=303, headers=HEADERS)
        self.sessions.clear_cookie(request, response)
        return response

    # The site's settings.

    async def _site(self, request: Request, admin: Moderator, form: Form) -> Response:
        current = await self.store.sites.get(admin.site)
        assert current is not None  # the admin's session held: their site exists
        try:
            listed = origins(form.get("origins").splitlines(), "origin")
        except OriginError as exc:
            return await self._again(request, admin, error=str(exc), status=422)
        site = changed_site(current, replaced=listed, premoderate=form.has("premoderate"))
        if site != current:
            await self.store.sites.put(site)
        return await self._again(request, admin, notice="Site settings saved.")

    async def _add_site(self, request: Request, admin: Moderator, form: Form) -> Response:
        """Another site of the publisher's, with this admin as its first admin: its token is
        shown once (this session stays on the admin's own site)."""
        name = form.get("name").strip()
        try:
            validate_ids(name, "-")
            listed = origins(form.get("origins").splitlines(), "origin")
            site = Site(name=name, origins=tuple(listed), premoderate=form.has("premoderate"))
            token = await add_site(self.store.sites, self.store.moderators, site, admin.name)
        except RequestError as exc:
            return await self._again(request, admin, error=exc.fields["site"], status=422)
        except (OriginError, SiteExists) as exc:
            return await self._again(request, admin, error=str(exc), status=422)
        return await self._again(
            request, admin, shown=(f"Your admin token for the new site {name}", token)
        )

    # Moderators.

    async def _add(self, request: Request, admin: Moderator, form: Form) -> Response:
        name = form.get("name").strip()
        role = form.get("role", "moderator")
        if not 0 < len(name) <= MAX_NAME:
            error = f"A moderator's name is 1 to {MAX_NAME} characters."
            return await self._again(request, admin, error=error, status=422)
        if role not in ROLES:
            return await self._again(request, admin, error="Choose a role.", status=422)
        token = await add_moderator(
            self.store.sites,
            self.store.moderators,
            admin.site,
            name,
            "admin" if role == "admin" else "moderator",
        )
        await self._announce(admin.site)
        return await self._again(request, admin, shown=(f"{name}'s token", token))

    async def _rotate(self, request: Request, admin: Moderator, form: Form) -> Response:
        name = form.get("name")
        try:
            token = await rotate_moderator(self.store.moderators, admin.site, name)
        except NoSuchModerator as exc:
            return await self._again(request, admin, error=str(exc), status=404)
        await self._announce(admin.site)
        return await self._again(request, admin, shown=(f"{name}'s new token", token))

    async def _revoke(self, request: Request, admin: Moderator, form: Form) -> Response:
        name = form.get("name")
        try:
            await revoke_moderator(self.store.moderators, admin.site, name)
        except NoSuchModerator as exc:
            return await self._again(request, admin, error=str(exc), status=404)
        await self._announce(admin.site)
        return await self._again(request, admin, notice=f"Revoked {name}'s token.")

    async def _announce(self, site: str) -> None:
        """Every process closes the moderation sockets of a token that stopped working."""
        await self.bus.publish(channels.moderators(site), b"changed")

    # Rules.

    async def _rules(self, request: Request, admin: Moderator, form: Form) -> Response:
        current = await site_rules(self.store.sites, self.store.rules, admin.site)
        try:
            changes = rule_changes(form)
            updated = changed_rules(current, changes)
            if updated.classifier_url is not None:
                await self._destination(updated.classifier_url, "the classifier URL")
        except (RulesError, destinations.Refused) as exc:
            return await self._again(request, admin, error=str(exc), status=422)
        await self.store.rules.put(admin.site, updated)
        return await self._again(request, admin, notice="Rules saved.")

    async def _destination(self, url: str, what: str) -> None:
        """Refuse a URL to a private address, as the command line does (it resolves the host:
        off the event loop)."""
        allow = self.settings.allow_private_hooks
        await asyncio.to_thread(destinations.check_now, url, allow_private=allow, what=what)

    # Webhooks and their failed deliveries.

    async def _add_hook(self, request: Request, admin: Moderator, form: Form) -> Response:
        url = form.get("url").strip()
        try:
            hook = new_webhook(admin.site, url, tuple(form.all("event")))
            await self._destination(url, "the webhook URL")
        except (WebhookError, destinations.Refused) as exc:
            return await self._again(request, admin, error=str(exc), status=422)
        await self.store.webhooks.put(hook)
        return await self._again(request, admin, shown=(f"Signing secret of {url}", hook.secret))

    async def _remove_hook(self, request: Request, admin: Moderator, form: Form) -> Response:
        hook = await self.store.webhooks.get(form.get("id"))
        # Another site's webhook is answered as no webhook at all.
        if hook is None or hook.site != admin.site:
            return await self._again(request, admin, error="There is no such webhook.", status=404)
        await self.store.webhooks.remove(hook.id)
        return await self._again(request, admin, notice=f"Removed the webhook to {hook.url}.")

    async def _retry(self, request: Request, admin: Moderator, form: Form) -> Response:
        """Send parked deliveries again (`livethread webhooks replay`), only the admin's site's:
        the one given, or all of them."""
        parked = {
            d.id for d in await self.store.deliveries.in_status("parked") if d.site == admin.site
        }
        wanted = form.get("id")
        ids = sorted(parked) if not wanted else [wanted] if wanted in parked else []
        if not ids:
            error = "There is no such failed delivery." if wanted else "Nothing to retry."
            return await self._again(request, admin, error=error, status=404 if wanted else 200)
        count = await self.store.deliveries.replay(ids)
        notice = f"{count} failed deliveries queued again; the webhooks worker sends them shortly."
        return await self._again(request, admin, notice=notice)

    # Checks every request goes through.

    def _guarded(self, action: Action) -> Callable[[Request], Awaitable[Response]]:
        """The action, once the request has passed the origin and CSRF checks and its session
        still names an admin whose token works."""

        async def endpoint(request: Request) -> Response:
            form = await read_form(request)
            session = await self._checked(request, form)
            if session is None:
                return self._refused(request)
            admin = await self._admin(session) if session.signed_in else None
            if admin is None:
                return await self._sign_in_page(request, ended=session.signed_in, status=401)
            return await action(request, admin, form)

        return endpoint

    async def _checked(self, request: Request, form: Form) -> Session | None:
        """The request's session if its origin is ours and its form's CSRF token is the
        session's; None (refuse, change nothing) otherwise."""
        session = await self.sessions.current(request)
        if session is None or not same_origin(request):
            return None
        if not await self.sessions.csrf_matches(session, form.get("csrf")):
            return None
        return session

    async def _admin(self, session: Session) -> Moderator | None:
        """Who the session names, if the token they signed in with still names them as an
        admin of that site: a revoked or rotated token (or a lost role) ends the session."""
        found = await self.store.moderators.by_token(session.token_hash)
        if found is None or found.role != "admin":
            return None
        if (found.site, found.name) != (session.site, session.name):
            return None
        return found

    # Pages.

    def _refused(self, request: Request) -> Response:
        return templates().TemplateResponse(
            request, "admin_refused.html", {}, status_code=403, headers=HEADERS
        )

    async def _sign_in_page(
        self,
        request: Request,
        *,
        session: Session | None = None,
        error: str = "",
        ended: bool = False,
        status: int = 200,
    ) -> Response:
        if session is None or session.signed_in:
            session = self.sessions.visitor()
        context = {"csrf": await self.sessions.csrf(session), "error": error, "ended": ended}
        response = templates().TemplateResponse(
            request, "admin_sign_in.html", context, status_code=status, headers=HEADERS
        )
        await self.sessions.set_cookie(request, response, session)
        return response

    async def _again(self, request: Request, admin: Moderator, **shown: Any) -> Response:
        session = await self.sessions.current(request)
        assert session is not None  # _guarded has checked it
        return await self._dashboard(request, session, admin, **shown)

    async def _dashboard(
        self,
        request: Request,
        session: Session,
        admin: Moderator,
        *,
        notice: str = "",
        error: str = "",
        shown: tuple[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        site = await self.store.sites.get(admin.site)
        hooks = await self.store.webhooks.of_site(admin.site)
        urls = {hook.id: hook.url for hook in hooks}
        parked = [
            d for d in await self.store.deliveries.in_status("parked") if d.site == admin.site
        ]
        context = {
            "admin": admin,
            "site": site,
            "moderators": await self.store.moderators.of_site(admin.site),
            "rules": await site_rules(self.store.sites, self.store.rules, admin.site),
            "kinds": CLASSIFIER_KINDS,
            "hooks": hooks,
            "event_types": EVENT_TYPES,
            "failed": [(d, urls.get(d.webhook_id, "-")) for d in parked],
            "imports": await recent_imports(self.store.import_runs, admin.site),
            "csrf": await self.sessions.csrf(session),
            "notice": notice,
            "error": error,
            "shown": shown,
        }
        return templates().TemplateResponse(
            request, "admin.html", context, status_code=status, headers=HEADERS
        )
