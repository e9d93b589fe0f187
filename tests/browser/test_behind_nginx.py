"""The widget and the moderator page in chromium, through the shipped nginx config over TLS
(HTTP/2 for pages and the API, websockets over HTTP/1.1), in front of two server processes."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Browser, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from tests.browser.conftest import open_tab
from tests.browser.demo_page import submit
from tests.support.clients import WAIT, comment_json
from tests.support.deployment import deployment
from tests.support.local_http import served

# A publisher's article page (on another loopback port: Chromium's private network rules let
# only loopback pages call loopback servers): every call it makes is cross-origin.
ARTICLE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Article</title>
</head><body><h1>An article</h1>
<div id="livethread" data-site="news" data-thread="article-1"></div>
<script src="{proxy}/embed.js" async></script></body></html>"""


async def test_moderator_page_works_through_nginx(tmp_path: Path, browser: Browser) -> None:
    """Behind nginx the /moderate page is accepted as livethread's own origin: the token opens
    the thread and the review queue, a new comment arrives live, and a removal succeeds."""
    async with (
        deployment(tmp_path) as nginx,
        open_tab(browser, ignore_https_errors=True) as tab,
        httpx.AsyncClient(base_url=nginx.proxy.url, verify=nginx.proxy.ssl, timeout=WAIT) as http,
    ):
        page = tab.page
        await page.goto(f"{nginx.proxy.url}/moderate?site=news&thread=article-1")
        await page.get_by_label("Moderator token").fill(nginx.tokens.news)
        await page.get_by_role("button", name="Moderate").click()
        await expect(page.locator(".lt-lock")).to_have_text("Close comments")
        await expect(page.locator(".lt-review")).to_be_visible()

        posted = await http.post("/api/v1/comments", json=comment_json("Live through nginx"))
        assert posted.status_code == 201, posted.text
        comment_id = posted.json()["comment"]["id"]
        item = page.locator(f'li[data-id="{comment_id}"]')
        await expect(item).to_contain_text("Live through nginx")

        async with page.expect_response(lambda r: r.url.endswith("/moderation")) as answer:
            await item.locator(":scope > article .lt-remove").click()
        assert (await answer.value).status == 200
        await expect(page.locator(".lt-status")).not_to_have_text("Reconnecting…")
        assert not tab.errors, tab.errors


async def test_proxy_rate_limit_reaches_the_widget(tmp_path: Path, browser: Browser) -> None:
    """A reader posting quickly from a publisher's page is stopped by nginx's post limit, and
    the widget shows nginx's "too many requests" message, not "check your connection"."""
    env = {"LIVETHREAD_POST_RATE_ADDRESS": "100/60", "LIVETHREAD_POST_RATE_THREAD": "100/60"}
    proxies: list[str] = []

    async def article(request: Request) -> Response:
        return HTMLResponse(ARTICLE.format(proxy=proxies[0]))

    async with (
        served(Starlette(routes=[Route("/", article)])) as publisher,
        deployment(tmp_path, env, origins=(publisher,)) as nginx,
        open_tab(browser, ignore_https_errors=True) as tab,
    ):
        proxies.append(nginx.proxy.url)
        page = tab.page
        await page.goto(f"{publisher}/")
        form = page.get_by_role("form", name="Leave a reply", exact=True)
        # nginx lets a burst of six posts through (preflights are not counted), then refuses.
        for n in range(6):
            assert (await submit(form, f"Quick comment number {n}")).status == 201
        assert (await submit(form, "One comment too many")).status == 429
        alert = form.get_by_role("alert")
        await expect(alert).to_contain_text("Too many requests")
        await expect(alert).not_to_contain_text("connection")
