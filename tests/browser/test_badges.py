"""Badges in the widget (issue 16 item 2): the demo's byline author, who also moderates, posts
with her token and every open page shows "Moderator" and "Author" beside her name, live and
after a reload; a reader's comment shows none."""

from __future__ import annotations

import httpx
from playwright.async_api import Locator, expect

from server import demo
from tests.browser.conftest import Tab
from tests.browser.demo_page import HTTP_TIMEOUT, SEED_COUNT, item, moderator_token, open_demo, post
from tests.support.server import Running


def roles(tab: Tab, comment_id: str) -> Locator:
    """The badges beside a comment's author (not its replies')."""
    return tab.page.locator(f'li[data-id="{comment_id}"] > article .lt-role')


async def test_the_byline_authors_comment_shows_her_badges_live(server: Running, page: Tab) -> None:
    """Lisa West's comment (moderator token, byline) arrives live with both badges, in order,
    and keeps them in the snapshot after a reload; an anonymous reader's shows no badge."""
    await open_demo(page, server.http)
    token = await moderator_token(server.settings)
    data = {
        "site": demo.SITE,
        "thread": demo.THREAD,
        "author": {"name": "Lisa West"},
        "body": "Thanks for reading.",
    }
    async with httpx.AsyncClient(base_url=server.http, timeout=HTTP_TIMEOUT) as http:
        answer = await http.post(
            "/api/v1/comments", json=data, headers={"Authorization": f"Bearer {token}"}
        )
    assert answer.status_code == 201, answer.text
    lisa = answer.json()["comment"]["id"]
    assert answer.json()["comment"]["author"]["badges"] == ["moderator", "author"], answer.text
    reader = await post(server.http, "A reader's view")
    fresh = page.page.locator(".lt-new")
    await expect(fresh).to_have_text("2 new comments")
    await fresh.click()
    await expect(roles(page, lisa)).to_have_text(["Moderator", "Author"])
    await expect(item(page.page, reader)).to_be_visible()
    await expect(roles(page, reader)).to_have_count(0)

    await open_demo(page, server.http, SEED_COUNT + 2)
    await expect(roles(page, lisa)).to_have_text(["Moderator", "Author"])
    assert page.errors == []
