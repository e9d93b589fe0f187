"""Content-Security-Policy: our own pages send a strict one, and the widget lives under a host
page's strict policy that allows nothing but the livethread server's script and connections."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from playwright.async_api import Browser, Page, expect
from starlette.types import Receive, Scope, Send

from server import demo
from server.model import Site
from server.settings import Settings
from server.web.app import store_for
from tests.browser.conftest import Tab, open_tab
from tests.browser.demo_page import (
    HTTP_TIMEOUT,
    LOAD_TIMEOUT_MS,
    SEED_COUNT,
    action,
    bottom_form,
    moderator_token,
    open_demo,
    posted_id,
    reply_under,
    snapshot,
    submit,
)
from tests.support.local_http import served
from tests.support.server import Running

# The widget's stylesheet, as computed inside its shadow root: `h2{font-size:1.3rem}` and
# `.lt-btn{background:var(--lt-accent)}` with the light theme's #0b57d0.
HEADING_SIZE = "20.8px"
BUTTON_BACKGROUND = "rgb(11, 87, 208)"

# Every CSP violation in the page (they are composed events: those in shadow roots reach here).
VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
}, true);
"""

HOST_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>A publisher's article</title><link rel="icon" href="data:,">
</head>
<body>
<h1>A publisher's article</h1>
<div id="livethread" data-site="{site}" data-thread="{thread}"></div>
<script src="{livethread}/embed.js" async></script>
</body>
</html>
"""


def directives(policy: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header as {directive: sources}."""
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        parsed[name.lower()] = sources
    return parsed


@dataclass
class HostPage:
    """A publisher's page on its own origin, embedding the widget under a strict CSP."""

    livethread: str
    port: int = 0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def policy(self) -> str:
        ws = self.livethread.replace("http://", "ws://", 1)
        return (
            f"default-src 'none'; script-src {self.livethread}; "
            f"connect-src {self.livethread} {ws}; img-src data:"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        if scope["path"] != "/":
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        html = HOST_PAGE.format(site=demo.SITE, thread=demo.THREAD, livethread=self.livethread)
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-security-policy", self.policy.encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": html.encode()})


@asynccontextmanager
async def host_page(livethread: str) -> AsyncIterator[HostPage]:
    """The host page served by uvicorn on a free loopback port (another origin), stopped on exit."""
    page = HostPage(livethread)
    async with served(page) as url:
        page.port = int(url.rsplit(":", 1)[1])
        yield page


async def list_origin(settings: Settings, origin: str) -> None:
    """Let the demo site's widget write and listen from `origin` (post-moderation kept off)."""
    store = store_for(settings)
    await store.open()
    try:
        await store.sites.put(Site(name=demo.SITE, origins=(origin,), premoderate=False))
    finally:
        await store.close()


async def open_host(tab: Tab, host: HostPage) -> None:
    """Open the host page and wait until the widget shows the demo thread."""
    response = await tab.page.goto(f"{host.origin}/")
    assert response is not None and response.ok, response
    assert response.headers["content-security-policy"] == host.policy
    heading = tab.page.locator("#lt-heading")
    await expect(heading).to_have_text(f"{SEED_COUNT} Comments", timeout=LOAD_TIMEOUT_MS)


async def violations(page: Page) -> list[str]:
    found: list[str] = await page.evaluate("() => window.__violations")
    return found


async def prove_policy_is_enforced(tab: Tab) -> None:
    """The control: the page's policy really refuses an inline style (and the listener hears it)."""
    await tab.page.evaluate("() => document.body.setAttribute('style', 'color: red')")
    await tab.page.wait_for_function("() => window.__violations.length > 0")
    assert tab.page.url.startswith("http://127.0.0.1:")


async def test_pages_send_strict_security_headers(server: Running) -> None:
    """/ and /moderate send a CSP without 'unsafe-inline' (script-src 'self'), nosniff and a
    Referrer-Policy; /embed.js is text/javascript with nosniff."""
    async with httpx.AsyncClient(base_url=server.http, timeout=HTTP_TIMEOUT) as http:
        for path in ("/", "/moderate"):
            answer = await http.get(path)
            assert answer.status_code == 200, path
            policy = answer.headers["content-security-policy"]
            assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, policy
            parsed = directives(policy)
            assert parsed["script-src"] == ["'self'"], policy
            assert parsed["default-src"] == ["'none'"], policy
            assert parsed["base-uri"] == ["'none'"] and parsed["frame-ancestors"] == ["'none'"]
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["referrer-policy"] in {
                "no-referrer",
                "same-origin",
                "strict-origin",
                "strict-origin-when-cross-origin",
            }
            # Nothing inline for the policy to have to allow.
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", answer.text), path
            assert not re.search(r"<style\b|\sstyle=|\son\w+=", answer.text), path
        script = await http.get("/embed.js")
    assert script.status_code == 200
    assert script.headers["content-type"].split(";")[0] == "text/javascript"
    assert script.headers["x-content-type-options"] == "nosniff"


async def test_own_pages_work_under_their_policy(server: Running, browser: Browser) -> None:
    """The demo article and /moderate run the widget under their own CSP with no violation."""
    token = await moderator_token(server.settings)
    async with open_tab(browser) as reader, open_tab(browser) as moderator:
        for tab in (reader, moderator):
            await tab.context.add_init_script(VIOLATIONS)
        await open_demo(reader, server.http)
        m = moderator.page
        await m.goto(f"{server.http}/moderate")
        await m.get_by_label("Moderator token").fill(token)
        await m.get_by_role("button", name="Moderate").click()
        await expect(m.locator(".lt-lock")).to_have_text("Close comments")
        for tab in (reader, moderator):
            await expect(tab.page.locator("#lt-heading")).to_have_css("font-size", HEADING_SIZE)
            assert await violations(tab.page) == []
            assert tab.errors == []


async def test_widget_works_under_a_strict_host_policy(server: Running, browser: Browser) -> None:
    """On a listed origin whose CSP allows only the livethread server, the widget is styled
    (adopted stylesheets), a reply posts (201) and reaches another tab live, with no violation."""
    async with host_page(server.http) as host:
        await list_origin(server.settings, host.origin)
        async with (
            open_tab(browser, color_scheme="light") as writer,
            open_tab(browser, color_scheme="light") as other,
        ):
            for tab in (writer, other):
                await tab.context.add_init_script(VIOLATIONS)
                await open_host(tab, host)
            w = writer.page
            await expect(w.locator("#lt-heading")).to_have_css("font-size", HEADING_SIZE)
            button = bottom_form(w).get_by_role("button", name="Post Comment")
            await expect(button).to_have_css("background-color", BUTTON_BACKGROUND)
            adopted = "() => document.getElementById('livethread').shadowRoot.adoptedStyleSheets"
            assert await w.evaluate(f"{adopted}.length") == 1

            await action(w, "c23", "reply").click()
            form = w.get_by_role("form", name="Reply to Anonymous", exact=True)
            new = await posted_id(await submit(form, "Posted from the publisher's page."))
            await expect(reply_under(w, "c23", new)).to_be_visible()

            o = other.page
            fresh = o.locator(".lt-new")
            await expect(fresh).to_have_text("1 new comment")
            await fresh.click()
            await expect(reply_under(o, "c23", new)).to_contain_text("from the publisher's")
            for tab in (writer, other):
                assert await violations(tab.page) == []
                assert tab.errors == []
            await prove_policy_is_enforced(other)


def refused_post(base: str, message: str) -> bool:
    """Chromium's console error for the refused `POST /api/v1/comments` (403)."""
    return (
        message.startswith(
            "console.error: Failed to load resource: the server responded with a status of 403"
        )
        and f"'url': '{base}/api/v1/comments'" in message
    )


async def test_unlisted_host_origin_is_told_comments_are_not_set_up(
    server: Running, browser: Browser
) -> None:
    """From an origin the site does not list, under the host page's strict CSP, the widget says
    that comments are not set up for this address and opens no socket, breaking no CSP rule;
    a post sent from that page anyway is refused 403 and nothing is stored."""
    async with host_page(server.http) as host, open_tab(browser) as tab:
        await tab.context.add_init_script(VIOLATIONS)
        sockets: list[str] = []
        tab.page.on("websocket", lambda ws: sockets.append(ws.url))
        response = await tab.page.goto(f"{host.origin}/")
        assert response is not None and response.ok, response
        p = tab.page
        await expect(p.locator(".lt-refused")).to_have_text(
            "Comments are not set up for this address.", timeout=LOAD_TIMEOUT_MS
        )
        status = await p.evaluate(
            """async ([base, site, thread]) => {
                const body = {site, thread, author: {name: "Mallory"}, body: "Not listed."};
                const answer = await fetch(`${base}/api/v1/comments`, {
                    method: "POST",
                    headers: {"Content-Type": "application/json"},
                    body: JSON.stringify(body),
                });
                return answer.status;
            }""",
            [server.http, demo.SITE, demo.THREAD],
        )
        assert status == 403
        assert (await snapshot(server.http))["count"] == SEED_COUNT
        assert sockets == []
        assert await violations(p) == []
        unexpected = [
            error
            for error in tab.errors
            if "status of 403" not in error and not refused_post(server.http, error)
        ]
        assert unexpected == []
