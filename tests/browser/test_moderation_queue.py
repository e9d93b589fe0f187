"""The review queue on /moderate in chromium: held and flagged comments arrive live with their
reason, and a moderator's decision there takes them out of the queue."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Browser, expect

from server import demo
from server.moderation.rules import Rules
from server.settings import Settings
from tests.browser.conftest import Tab, open_tab
from tests.browser.demo_page import item, moderator_token
from tests.support.moderation import set_rules
from tests.support.server import Running

LIVE_MS = 5000


async def post(base: str, body: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=10.0) as http:
        answer = await http.post(
            "/api/v1/comments",
            json={
                "site": demo.SITE,
                "thread": demo.THREAD,
                "author": {"name": "Spammy"},
                "body": body,
            },
        )
        assert answer.status_code == 201
        comment_id: str = answer.json()["comment"]["id"]
        return comment_id


async def test_the_review_queue_shows_held_and_flagged_comments_live(
    server: Running, browser: Browser, settings: Settings, page: Tab, artifacts: Path
) -> None:
    """A flagged and a held comment appear in the moderator's queue with their reasons; the
    held one, approved from there, leaves the queue and is published on a reader's page."""
    await set_rules(settings, demo.SITE, Rules(links_max=1, suspect=("crypto",)))
    async with open_tab(browser) as moderator:
        c = moderator.page
        await c.goto(f"{server.http}/moderate")
        await c.get_by_label("Moderator token").fill(await moderator_token(settings))
        await c.get_by_role("button", name="Moderate").click()
        queue = c.locator(".lt-review")
        await expect(queue.locator("h3")).to_have_text("0 comments to review")

        flagged = await post(server.http, "Buy crypto now")
        held = await post(server.http, "https://a.example and https://b.example")
        entry = queue.locator(f'li[data-id="{held}"]')
        await expect(entry).to_contain_text("2 links: comments with more than 1 wait for review")
        await expect(entry).to_contain_text("Held")
        flag = queue.locator(f'li[data-id="{flagged}"]')
        await expect(flag).to_contain_text("suspect words: crypto", timeout=LIVE_MS)
        await expect(queue.locator("h3")).to_have_text("2 comments to review")
        await queue.screenshot(path=artifacts / "moderation-queue.png")

        await page.page.goto(f"{server.http}/")
        await expect(item(page.page, held)).to_have_count(0)
        await entry.locator('[data-action="approve"]').click()
        await expect(entry).to_have_count(0, timeout=LIVE_MS)
        await expect(queue.locator("h3")).to_have_text("1 comment to review")
        await expect(item(page.page, held)).to_have_count(1, timeout=LIVE_MS)
        assert moderator.errors == []
    assert page.errors == []
