"""Reactions, presence and sorting in chromium (issue 17): a like by keyboard reaches every open
page and toggles back; another kind from the picker; a reader's own reactions come back on
reload; "N reading now" rises and falls with pages; the thread's order (oldest, newest, best,
pinned first) is the reader's choice and survives a reload."""

from __future__ import annotations

import dataclasses
import secrets
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from server import demo
from server.settings import Settings
from tests.browser.conftest import Tab, open_tab
from tests.browser.demo_page import (
    HTTP_TIMEOUT,
    article_page,
    item,
    moderator_token,
    open_demo,
    set_origins,
)
from tests.support.server import Running

# Longest wait for something another client did to reach a page over its socket.
LIVE_MS = 5000
# Tab presses from a comment's article to its Like button (its author and time links first).
TABS_MAX = 10
# The thread the sorting test makes on the demo site, shown on a page of its own.
SORTED_THREAD = "sorting"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The usual test settings, with readers counted every 0.1 s so presence moves at once."""
    return dataclasses.replace(settings, presence_interval=0.1)


def reaction(page: Page, comment_id: str, kind: str) -> Locator:
    """A comment's button for one kind of reaction (Like, or a chip for the others)."""
    return page.locator(f'li[data-id="{comment_id}"] > article .lt-rx-{kind}')


async def tab_to(page: Page, comment_id: str, target: Locator) -> None:
    """From the comment's article, press Tab until `target` has the focus, as a keyboard user
    would get there."""
    await item(page, comment_id).locator(":scope > article").focus()
    for _ in range(TABS_MAX):
        await page.keyboard.press("Tab")
        if await target.evaluate("el => el.getRootNode().activeElement === el"):
            return
    raise AssertionError(f"{TABS_MAX} presses of Tab never reached {target}")


async def shows(page: Page, comment_id: str, kind: str, label: str, pressed: bool) -> None:
    """The comment's `kind` button reads `label` ("Like, 1") and is pressed or not."""
    button = reaction(page, comment_id, kind)
    await expect(button).to_have_attribute("aria-label", label, timeout=LIVE_MS)
    await expect(button).to_have_attribute("aria-pressed", str(pressed).lower())


async def test_likes_reach_both_pages_and_a_reload_keeps_ones_own(
    server: Running, browser: Browser, page: Tab, artifacts: Path
) -> None:
    """Reader A likes a comment by keyboard: both pages count 1; again: both 0; B's Love from
    the picker shows on both; after A likes it again and reloads, A's like is still pressed
    (screenshot saved)."""
    a = page.page
    await open_demo(page, server.http)
    async with open_tab(browser) as other:
        b = other.page
        await open_demo(other, server.http)
        like = reaction(a, "c1", "like")
        await shows(a, "c1", "like", "Like, 0", False)
        await tab_to(a, "c1", like)
        await a.keyboard.press("Enter")
        await shows(a, "c1", "like", "Like, 1", True)
        await shows(b, "c1", "like", "Like, 1", False)
        await expect(like).to_be_focused()
        await a.keyboard.press("Enter")
        await shows(a, "c1", "like", "Like, 0", False)
        await shows(b, "c1", "like", "Like, 0", False)

        # The other kinds: no chip until someone chose one; B picks Love from "React".
        await expect(reaction(a, "c1", "love")).to_be_hidden()
        more = reaction(b, "c1", "more")
        await more.click()
        await expect(more).to_have_attribute("aria-expanded", "true")
        await b.locator('li[data-id="c1"] > article .lt-rp-love').click()
        await expect(more).to_have_attribute("aria-expanded", "false")
        await shows(b, "c1", "love", "Love, 1", True)
        await shows(a, "c1", "love", "Love, 1", False)
        await expect(reaction(a, "c1", "love")).to_have_text("\u2764\ufe0f 1")

        await like.click()
        await shows(b, "c1", "like", "Like, 1", False)
        await a.reload()
        await expect(a.locator("#lt-heading")).to_contain_text("Comments")
        await shows(a, "c1", "like", "Like, 1", True)
        await shows(a, "c1", "love", "Love, 1", False)
        await reaction(a, "c1", "more").click()
        await item(a, "c1").locator(":scope > article").screenshot(path=artifacts / "reactions.png")
        assert other.errors == []
    assert page.errors == []


async def test_reading_now_rises_and_falls_with_open_pages(
    server: Running, browser: Browser, page: Tab
) -> None:
    """Two pages on the thread both say "2 reading now"; when one closes the other hides it."""
    await open_demo(page, server.http)
    reading = page.page.locator(".lt-reading")
    async with open_tab(browser) as other:
        await open_demo(other, server.http)
        await expect(reading).to_have_text("2 reading now", timeout=LIVE_MS)
        await expect(reading).to_be_visible()
        await expect(other.page.locator(".lt-reading")).to_have_text("2 reading now")
        assert other.errors == []
    await expect(reading).to_be_hidden(timeout=LIVE_MS)
    assert page.errors == []


async def new_comment(http: httpx.AsyncClient, body: str) -> str:
    answer = await http.post(
        "/api/v1/comments",
        json={
            "site": demo.SITE,
            "thread": SORTED_THREAD,
            "author": {"name": "Visitor"},
            "body": body,
        },
    )
    assert answer.status_code == 201, answer.text
    comment_id = answer.json()["comment"]["id"]
    assert isinstance(comment_id, str)
    return comment_id


async def in_order(page: Page, *ids: str) -> None:
    """The thread's top-level comments are these, in this order."""
    tops = page.locator("ol.lt-list > li")
    await expect(tops).to_have_count(len(ids))
    for n, comment_id in enumerate(ids):
        await expect(tops.nth(n)).to_have_attribute("data-id", comment_id)


async def test_orders_put_pinned_first_and_the_choice_survives_a_reload(
    server: Running, page: Tab
) -> None:
    """Three comments, the middle one liked: "Best" puts it first, "Newest" reverses; a pinned
    comment leads every order with its badge; the chosen order is kept across reloads."""
    async with (
        article_page(server.http, demo.SITE, SORTED_THREAD) as url,
        httpx.AsyncClient(base_url=server.http, timeout=HTTP_TIMEOUT) as http,
    ):
        # Before the server first reads the site (it keeps what it read for a while).
        await set_origins(server.settings, demo.SITE, url.rstrip("/"))
        first, middle, last = [await new_comment(http, body) for body in ("One", "Two", "Three")]
        liked = await http.post(
            f"/api/v1/comments/{middle}/reactions",
            json={"kind": "like", "on": True},
            headers={"X-Reader-Key": secrets.token_urlsafe(24)},
        )
        assert liked.status_code == 200, liked.text
        tab = page.page
        await tab.goto(url)
        sort = tab.get_by_label("Sort comments")
        await expect(sort).to_have_value("oldest")
        await in_order(tab, first, middle, last)
        await shows(tab, middle, "like", "Like, 1", False)
        await sort.select_option("best")
        await in_order(tab, middle, last, first)

        # Opened in "Best", the counts that follow the socket's hello still sort it.
        await tab.reload()
        await expect(sort).to_have_value("best")
        await in_order(tab, middle, last, first)
        await sort.select_option("newest")
        await in_order(tab, last, middle, first)

        pinned = await http.post(
            f"/api/v1/comments/{last}/moderation",
            json={"action": "pin"},
            headers={"Authorization": f"Bearer {await moderator_token(server.settings)}"},
        )
        assert pinned.status_code == 200, pinned.text
        badge = item(tab, last).locator(":scope > article .lt-pinned")
        await expect(badge).to_have_text("Pinned", timeout=LIVE_MS)
        await sort.select_option("oldest")
        await in_order(tab, last, first, middle)
        await sort.select_option("best")
        await in_order(tab, last, middle, first)
        await sort.select_option("newest")
        await in_order(tab, last, middle, first)

        await tab.reload()
        await expect(sort).to_have_value("newest")
        await in_order(tab, last, middle, first)
        await expect(badge).to_be_visible()
    assert page.errors == []
