"""A long thread in pages, in chromium (issue 17, item 3): the first page and "Show more" by
keyboard; events about comments no page has brought yet are counted at once and shown once
their page comes, even a page cut before they happened; a permalink to a deep comment opens the
page that holds it, with "Show earlier comments" above; another order loads again from the top."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from playwright.async_api import Browser, Page, Route, expect

from server import demo
from server.model import ThreadKey
from tests.browser.conftest import Tab
from tests.browser.demo_page import (
    HTTP_TIMEOUT,
    LOAD_TIMEOUT_MS,
    article_page,
    item,
    moderator_token,
    reply_under,
    set_origins,
)
from tests.browser.test_accessibility import audited_tab, passes, shows_focus
from tests.support.seeding import seed, seeded_id
from tests.support.server import Running

THREAD = "long"
# Top-level comments in the thread: two full pages of the widget's 50 and a shorter third.
ROOTS = 120
PAGE = 50
# Longest wait for something another client did to reach the page over its socket.
LIVE_MS = 5000
# Longest wait for a page request the test holds back to reach the server and back.
HELD_S = 10.0


@dataclass
class Long:
    """The long thread's article page and the HTTP client that wrote it."""

    url: str
    http: httpx.AsyncClient
    roots: list[str]
    tokens: dict[str, str]


async def post(long: Long, body: str, parent: str | None = None) -> str:
    answer = await long.http.post(
        "/api/v1/comments",
        json={
            "site": demo.SITE,
            "thread": THREAD,
            "author": {"name": "Visitor"},
            "body": body,
            "parent": parent,
        },
    )
    assert answer.status_code == 201, answer.text
    comment_id: str = answer.json()["comment"]["id"]
    long.tokens[comment_id] = answer.json()["edit_token"]
    return comment_id


@asynccontextmanager
async def long_thread(server: Running, extra: str = "") -> AsyncIterator[Long]:
    """The article page of a thread of `ROOTS` top-level comments ("Top 0" oldest); `extra`
    goes into the widget's tag."""
    async with (
        article_page(server.http, demo.SITE, THREAD, extra=extra) as url,
        httpx.AsyncClient(base_url=server.http, timeout=HTTP_TIMEOUT) as http,
    ):
        await set_origins(server.settings, demo.SITE, url.rstrip("/"))
        long = Long(url, http, [], {})
        for n in range(ROOTS):
            long.roots.append(await post(long, f"Top {n}"))
        yield long


async def shown(page: Page, first: int, last: int, roots: list[str]) -> None:
    """The top-level comments shown are exactly roots[first:last], in that order."""
    items = page.locator("ol.lt-list > li")
    await expect(items).to_have_count(last - first, timeout=LOAD_TIMEOUT_MS)
    await expect(items.first).to_have_attribute("data-id", roots[first])
    await expect(items.last).to_have_attribute("data-id", roots[last - 1])


async def test_the_first_page_shows_and_show_more_loads_the_rest_by_keyboard(
    server: Running, page: Tab
) -> None:
    """120 top-level comments: 50 shown with "Show 70 more comments", reached by Tab with its
    focus outline; Enter on it adds the next 50 (with their replies) and focuses the first of
    them; again, the last 20, and it goes."""
    async with long_thread(server) as long:
        reply = await post(long, "A reply", parent=long.roots[60])
        tab = page.page
        await tab.goto(long.url)
        await expect(tab.locator("#lt-heading")).to_have_text(
            f"{ROOTS + 1} Comments", timeout=LOAD_TIMEOUT_MS
        )
        await shown(tab, 0, PAGE, long.roots)
        more = tab.locator(".lt-more")
        await expect(more).to_have_text("Show 70 more comments")
        await tab.get_by_label("Sort comments").focus()
        while not await more.evaluate("el => el.getRootNode().activeElement === el"):
            await tab.keyboard.press("Tab")
        await shows_focus(more)
        await tab.keyboard.press("Enter")
        await shown(tab, 0, 2 * PAGE, long.roots)
        await expect(item(tab, long.roots[PAGE]).locator(":scope > article")).to_be_focused()
        await expect(reply_under(tab, long.roots[60], reply)).to_be_visible()
        await expect(more).to_have_text("Show 20 more comments")
        await more.focus()
        await tab.keyboard.press("Enter")
        await shown(tab, 0, ROOTS, long.roots)
        await expect(more).to_be_hidden()
    assert page.errors == []


async def test_events_about_comments_not_loaded_count_at_once_and_show_with_their_page(
    server: Running, page: Tab
) -> None:
    """While "Show more" is answered from a page cut before them, a reply to, an edit of and
    the removal of comments on that page move the heading at once; when the page arrives the
    edit shows, the removed comment is not there and the reply waits behind "1 new comment",
    then goes under its parent."""
    async with long_thread(server) as long:
        tab = page.page
        heading = tab.locator("#lt-heading")
        await tab.goto(long.url)
        await shown(tab, 0, PAGE, long.roots)
        fetched, release = asyncio.Event(), asyncio.Event()

        async def hold(route: Route) -> None:
            response = await route.fetch()
            fetched.set()
            await release.wait()
            await route.fulfill(response=response)

        await tab.route("**/api/v1/threads?*after=*", hold)
        await tab.locator(".lt-more").click()
        await asyncio.wait_for(fetched.wait(), HELD_S)

        edited, replied, removed = long.roots[55], long.roots[70], long.roots[90]
        answer = await long.http.patch(
            f"/api/v1/comments/{edited}",
            json={"body": "Top 55, edited"},
            headers={"X-Edit-Token": long.tokens[edited]},
        )
        assert answer.status_code == 200, answer.text
        reply = await post(long, "A late reply", parent=replied)
        await expect(heading).to_have_text(f"{ROOTS + 1} Comments", timeout=LIVE_MS)
        answer = await long.http.post(
            f"/api/v1/comments/{removed}/moderation",
            json={"action": "remove"},
            headers={"Authorization": f"Bearer {await moderator_token(server.settings)}"},
        )
        assert answer.status_code == 200, answer.text
        await expect(heading).to_have_text(f"{ROOTS} Comments", timeout=LIVE_MS)
        await expect(item(tab, edited)).to_have_count(0)

        release.set()
        # Someone else's new reply, as ever: behind "1 new comment" until the reader asks.
        await tab.get_by_role("button", name="1 new comment").click(timeout=LOAD_TIMEOUT_MS)
        await expect(reply_under(tab, replied, reply)).to_be_visible()
        await expect(item(tab, edited).locator(":scope > article")).to_contain_text(
            "Top 55, edited"
        )
        await expect(item(tab, removed)).to_have_count(0)
        await expect(tab.locator("ol.lt-list > li")).to_have_count(2 * PAGE - 1)
        await expect(heading).to_have_text(f"{ROOTS} Comments")
    assert page.errors == []


async def test_a_permalink_opens_the_page_that_holds_a_deep_comment(
    server: Running, page: Tab
) -> None:
    """`#comment-ID` of a reply under the 111th comment: the widget opens on its page (the last
    20), marks and focuses it, "Show earlier comments" adds the pages above; opened afresh, a
    link followed on the page to the 116th loads its page again."""
    async with long_thread(server) as long:
        deep = await post(long, "Deep down", parent=long.roots[110])
        tab = page.page
        await tab.goto(f"{long.url}#comment-{deep}")
        await shown(tab, 100, ROOTS, long.roots)
        target = item(tab, deep)
        await expect(target).to_have_class("lt-target")
        await expect(target.locator(":scope > article")).to_be_focused()
        await expect(tab.locator(".lt-more")).to_be_hidden()
        await tab.get_by_role("button", name="Show earlier comments").click()
        await shown(tab, 50, ROOTS, long.roots)
        await tab.get_by_role("button", name="Show earlier comments").click()
        await shown(tab, 0, ROOTS, long.roots)
        await expect(tab.locator(".lt-earlier")).to_be_hidden()

        await tab.goto(long.url)
        await shown(tab, 0, PAGE, long.roots)
        await tab.evaluate("id => { location.hash = 'comment-' + id }", long.roots[115])
        await shown(tab, 100, ROOTS, long.roots)
        await expect(item(tab, long.roots[115])).to_have_class("lt-target")
    assert page.errors == []


async def test_another_order_loads_the_thread_again_from_its_top(
    server: Running, page: Tab
) -> None:
    """With pages not loaded, "Newest" asks the server for the newest page, rather than
    sorting the 50 oldest."""
    async with long_thread(server) as long:
        tab = page.page
        await tab.goto(long.url)
        await shown(tab, 0, PAGE, long.roots)
        await tab.get_by_label("Sort comments").select_option("newest")
        newest = long.roots[::-1]
        await shown(tab, 0, PAGE, newest)
        await expect(tab.locator(".lt-more")).to_have_text("Show 70 more comments")
    assert page.errors == []


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_a_page_between_two_others_has_no_serious_violation(
    server: Running, browser: Browser, lang: str
) -> None:
    """A permalink's page in the middle of the thread, with "Show earlier comments" above and
    "Show more" below: axe finds nothing serious or critical, in English and in Arabic."""
    async with (
        long_thread(server, extra=f' data-lang="{lang}"') as long,
        audited_tab(browser) as tab,
    ):
        await tab.page.goto(f"{long.url}#comment-{long.roots[60]}")
        await shown(tab.page, PAGE, 2 * PAGE, long.roots)
        await expect(tab.page.locator(".lt-earlier")).to_be_visible()
        await expect(tab.page.locator(".lt-more")).to_be_visible()
        await passes(tab.page, f"pages ({lang})")
        assert tab.errors == []


async def test_a_ten_thousand_comment_thread_opens_pages_and_a_deep_permalink(
    server: Running, page: Tab
) -> None:
    """10,000 comments (about 7,000 top-level): the widget shows 50 with the whole thread's
    count, "Show more" adds 50; a link followed to a reply two deep, 8,006th of the thread, opens
    the page that holds it, marked, with pages above and below."""
    async with article_page(server.http, demo.SITE, "huge") as url:
        await set_origins(server.settings, demo.SITE, url.rstrip("/"))
        roots = await seed(server.settings, ThreadKey(demo.SITE, "huge"), 10_000)
        tab = page.page
        await tab.goto(url)
        await expect(tab.locator("#lt-heading")).to_have_text(
            "10000 Comments", timeout=LOAD_TIMEOUT_MS
        )
        await shown(tab, 0, PAGE, roots)
        more = tab.locator(".lt-more")
        await expect(more).to_have_text(f"Show {len(roots) - PAGE} more comments")
        await more.click()
        await shown(tab, 0, 2 * PAGE, roots)

        deep = seeded_id(8_006)  # a reply two deep
        await tab.goto(f"{url}#comment-{deep}")
        await expect(item(tab, deep)).to_have_class("lt-target", timeout=LOAD_TIMEOUT_MS)
        await expect(item(tab, deep).locator(":scope > article")).to_be_focused()
        await expect(tab.locator("ol.lt-list > li")).to_have_count(PAGE)
        await expect(tab.locator(".lt-earlier")).to_be_visible()
        await expect(more).to_be_visible()
    assert page.errors == []
