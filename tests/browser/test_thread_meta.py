"""The widget names its thread: the page's title and article URL go with its first snapshot
request, from the host's data attributes or, without them, from the page itself."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.async_api import Dialog, expect

from server import demo
from tests.browser.conftest import Tab
from tests.browser.demo_page import article_page, set_origins
from tests.support.clients import WAIT, Tokens
from tests.support.server import Running

# tests/support/clients.py's site "news" lists https://news.example.
ARTICLE = "https://news.example/2026/budget"
THREAD = {"site": "news", "thread": "article-1"}
CANONICAL = '<link rel="canonical" href="/canonical/budget?page=1">'


@pytest.mark.parametrize(
    ("extra", "before", "query", "title", "path"),
    [
        (
            ' data-title="Budget &lt;day&gt;" data-url="/2026/budget"',
            CANONICAL,
            "",
            "Budget <day>",
            "/2026/budget",
        ),
        ("", CANONICAL, "", "An article", "/canonical/budget?page=1"),
        ("", "", "?utm_source=mail#comment-x", "An article", "/"),
    ],
    ids=["data-attributes", "canonical-link", "page-address"],
)
async def test_the_widget_sends_its_pages_title_and_url_on_first_load(
    server: Running,
    page: Tab,
    extra: str,
    before: str,
    query: str,
    title: str,
    path: str,
) -> None:
    """data-title/data-url win; else the canonical link and document.title; else the page's
    address without its query and hash. The first snapshot already carries them."""
    thread = f"meta-{len(query)}-{len(before)}-{len(extra)}"
    async with article_page(server.http, demo.SITE, thread, before=before, extra=extra) as url:
        origin = url.rstrip("/")
        await set_origins(server.settings, demo.SITE, origin)
        tab = page.page
        # (A link to a comment that is not there is asked for first, and answered 404.)
        async with tab.expect_response(lambda r: "/api/v1/threads?" in r.url and r.ok) as loaded:
            await tab.goto(url + query)
        response = await loaded.value
        sent = parse_qs(urlsplit(response.url).query)
        assert (sent["title"], sent["url"]) == ([title], [origin + path])
        snapshot = await response.json()
        assert (snapshot["title"], snapshot["url"]) == (title, origin + path)
    assert page.errors == []


async def test_a_moderator_names_the_thread_on_the_moderators_page(
    server: Running, page: Tab, tokens: Tokens
) -> None:
    """ "Title and URL" asks for both; a URL off the site's origins is refused with the server's
    reason and changes nothing; accepted ones reach the snapshot and prefill the next asking."""
    tab = page.page
    replies = iter(["Budget day", "https://evil.example/x", "Budget day", ARTICLE, None])
    asked: list[str] = []
    dismissed = asyncio.Event()

    async def answer(dialog: Dialog) -> None:
        asked.append(dialog.default_value)
        reply = next(replies)
        await (dialog.dismiss() if reply is None else dialog.accept(reply))
        if reply is None:
            dismissed.set()

    tab.on("dialog", answer)
    await tab.goto(f"{server.http}/moderate?site=news&thread=article-1")
    await tab.get_by_label("Moderator token").fill(tokens.news)
    await tab.get_by_role("button", name="Moderate").click()
    button = tab.get_by_role("button", name="Title and URL")
    await button.click()
    await expect(tab.locator(".lt-status")).to_have_text(
        "The address must be on one of the site's origins"
    )
    async with tab.expect_response(lambda r: r.url.endswith("/threads/moderation")) as done:
        await button.click()
    assert (await done.value).status == 200
    await expect(tab.locator(".lt-status")).to_have_text("")
    await button.click()
    async with asyncio.timeout(WAIT):
        await dismissed.wait()
    assert asked == ["", "", "", "", "Budget day"]
    async with httpx.AsyncClient(base_url=server.http, timeout=WAIT) as http:
        found = (await http.get("/api/v1/threads", params=THREAD)).json()
    assert (found["title"], found["url"]) == ("Budget day", ARTICLE)
