"""The rows of `server/web/endpoints.py`'s table for what is not the JSON API: our own pages,
the scripts (each at a stable and a versioned URL), the feeds, the mailed links' pages and the
probes."""

from __future__ import annotations

from typing import Any

from server.web.endpoints import ID, TEXT, Answer, Endpoint, Param, ok, q
from server.web.pages import HealthAnswer, ReadyAnswer

HTML = "text/html; charset=utf-8"
SCRIPT = "text/javascript; charset=utf-8"
HEX64: dict[str, Any] = {"type": "string", "pattern": "^[0-9a-f]{64}$"}

PAGE = Answer("The page", TEXT, HTML)
NOT_MODIFIED = Answer("Unchanged since the `ETag` given in `If-None-Match`", None, "")
SCRIPT_ANSWER = Answer("The script (brotli or gzip as the client accepts)", TEXT, SCRIPT)


def _scripts(name: str, what: str) -> tuple[Endpoint, ...]:
    """A script's stable URL (cached 5 minutes) and its versioned one (cached a year)."""
    version = Param("version", "path", "The build's version", TEXT, True)
    moved = Answer("Another version: moved to the current one", None, "")
    return (
        Endpoint("GET", f"/{name}.js", what, {200: SCRIPT_ANSWER, 304: NOT_MODIFIED}, tag="pages"),
        Endpoint(
            "GET",
            f"/{name}.{{version}}.js",
            f"{what}, by version",
            {200: SCRIPT_ANSWER, 302: moved, 304: NOT_MODIFIED},
            params=(version,),
            tag="pages",
        ),
    )


def _feeds() -> tuple[Endpoint, ...]:
    found: list[Endpoint] = []
    for kind, media in (("atom", "application/atom+xml"), ("rss", "application/rss+xml")):
        answers = {200: Answer(f"The feed ({kind})", TEXT, media), 304: NOT_MODIFIED}
        site = Param("site", "path", "The site's name", ID, True)
        thread = Param("thread", "path", "The thread's id", ID, True)
        found.append(
            Endpoint(
                "GET",
                f"/feeds/{{site}}.{kind}",
                f"A site's newest comments, {kind}",
                answers,
                (404, 422, 503),
                (site,),
                tag="pages",
            )
        )
        found.append(
            Endpoint(
                "GET",
                f"/feeds/{{site}}/{{thread}}.{kind}",
                f"A thread's newest comments, {kind}",
                answers,
                (404, 422, 503),
                (site, thread),
                tag="pages",
            )
        )
    return tuple(found)


def _links(path: str, fields: tuple[str, str], what: str) -> tuple[Endpoint, ...]:
    """A mailed link's page: GET shows a button (scanners fetch links), the button POSTs."""
    key, token = fields
    params = (
        q(key, "What the link is for (from the mail)", HEX64 if key == "e" else ID),
        q(token, "The link's token (from the mail)", HEX64),
    )
    answers = {
        200: PAGE,
        400: Answer("Not a link of ours (a field missing or malformed)", TEXT, HTML),
        403: Answer("The token does not match", TEXT, HTML),
    }
    return (
        Endpoint(
            "GET", path, f"{what}: the page with its button", answers, (503,), params, tag="pages"
        ),
        Endpoint("POST", path, what, answers, (503,), params, form=fields, tag="pages"),
    )


ADMIN_ACTIONS = (
    ("/admin/sign-in", "Sign in with a site admin's token (sets the session cookie)"),
    ("/admin/sign-out", "Sign out"),
    ("/admin/site", "Change the site's origins and pre-moderation"),
    ("/admin/sites/add", "Add another site, with the admin as its first admin (token shown once)"),
    ("/admin/moderators/add", "Add a moderator (the new token is shown once)"),
    ("/admin/moderators/rotate", "Replace a moderator's token"),
    ("/admin/moderators/revoke", "Revoke a moderator's token"),
    ("/admin/rules", "Change the site's auto-moderation rules"),
    ("/admin/webhooks/add", "Add a webhook (its secret is shown once)"),
    ("/admin/webhooks/remove", "Remove a webhook"),
    ("/admin/deliveries/retry", "Retry failed webhook deliveries"),
)


def _admin() -> tuple[Endpoint, ...]:
    """The site admins' pages: every POST is a form with its CSRF token, from this origin, and
    answers the page as it now is (or a redirect to it)."""
    page = {
        200: PAGE,
        401: Answer("Not signed in, or the session's token was revoked", TEXT, HTML),
        403: Answer("Not a site admin, or a form without its CSRF token or origin", TEXT, HTML),
    }
    done = {
        **page,
        303: Answer("Done: see /admin", None, ""),
        404: Answer("No such moderator, webhook or delivery (the page, with why)", TEXT, HTML),
        422: Answer("A field is wrong (the page, with why)", TEXT, HTML),
    }
    form = ("csrf",)
    return (
        Endpoint("GET", "/admin", "The site admin's page, or its sign-in form", page, tag="admin"),
        *(
            Endpoint("POST", path, what, done, form=form, tag="admin")
            for path, what in ADMIN_ACTIONS
        ),
    )


def pages(languages: list[str]) -> tuple[Endpoint, ...]:
    """Our own pages, scripts, feeds and probes (`languages`: the widget's language files)."""
    text = Answer("Not found", TEXT, "text/plain; charset=utf-8")
    return (
        Endpoint(
            "GET",
            "/",
            "The demo article, or a start page with the embed snippet",
            {200: PAGE},
            (503,),
            tag="pages",
        ),
        Endpoint(
            "GET",
            "/moderate",
            "The moderators' page for a thread",
            {200: PAGE},
            (422,),
            (q("site", "The site (the demo's by default)", ID), q("thread", "The thread", ID)),
            tag="pages",
        ),
        Endpoint(
            "GET",
            "/threads/{site}/{thread}",
            "One thread's page on this server",
            {200: PAGE},
            (404, 422, 503),
            (
                Param("site", "path", "The site", ID, True),
                Param("thread", "path", "The thread", ID, True),
            ),
            tag="pages",
        ),
        Endpoint(
            "GET",
            "/healthz",
            "Liveness: the store answers a read",
            ok("Alive", HealthAnswer),
            (503,),
            tag="probes",
        ),
        Endpoint(
            "GET",
            "/readyz",
            "Readiness: a write could start now and the bus is connected",
            {200: Answer("Ready", ReadyAnswer), 503: Answer("Not ready, and why", ReadyAnswer)},
            tag="probes",
        ),
        Endpoint(
            "GET",
            "/static/{path}",
            "Our pages' stylesheets, scripts and images",
            {200: Answer("The file", {}, "*/*"), 304: NOT_MODIFIED, 404: text},
            params=(Param("path", "path", "The file", TEXT, True),),
            tag="pages",
        ),
        Endpoint(
            "GET",
            "/openapi.json",
            "This document",
            ok("OpenAPI 3.1", {"type": "object"}),
            tag="pages",
        ),
        Endpoint(
            "GET",
            "/metrics",
            "Prometheus metrics of this server (all its processes with --workers N)",
            {200: Answer("The text exposition format", TEXT, "text/plain")},
            tag="probes",
        ),
        *_scripts("embed", "The widget"),
        *_scripts("moderate", "The moderators' page's script"),
        *_scripts("counts", "Index pages' live comment counts"),
        *_scripts("report", "The widget's report form"),
        *(e for lang in languages for e in _scripts(f"lang/{lang}", f"The widget's {lang} texts")),
        *_links("/confirm", ("e", "t"), "Confirm an address for reply mails"),
        *_links("/unsubscribe", ("c", "t"), "Stop a comment's reply mails"),
        *_feeds(),
        *_admin(),
    )
