"""The widget's live details: permalinks, announcements, held removals, moderators' lock."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, expect

from server import demo
from tests.browser.conftest import Tab, open_tab
from tests.browser.demo_page import SEED_COUNT, action, item, moderator_token, open_demo, post
from tests.support.server import Running


async def _remove(base: str, token: str, comment_id: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        answer = await http.post(
            f"/api/v1/comments/{comment_id}/moderation",
            json={"action": "remove"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 200, answer.text


async def test_permalink_scrolls_to_and_marks_the_comment(server: Running, page: Tab) -> None:
    """Opening `#comment-ID` scrolls that comment into view, highlights and focuses it."""
    await page.page.goto(f"{server.http}/#comment-c13")
    target = item(page.page, "c13")
    await expect(target).to_have_class("lt-target")
    await expect(target.locator(":scope > article")).to_be_focused()
    await expect(target).to_be_in_viewport()
    await item(page.page, "c2").locator(".lt-time").first.click()
    await expect(item(page.page, "c2")).to_have_class("lt-target")
    await expect(target).not_to_have_class("lt-target")
    assert page.errors == []


async def test_new_comments_are_announced_and_a_held_removal_disappears(
    server: Running, page: Tab
) -> None:
    """Others' comments are announced politely and held; removing a held one takes it away."""
    await open_demo(page, server.http)
    live = page.page.locator(".lt-sr")
    await expect(live).to_have_attribute("aria-live", "polite")
    first = await post(server.http, "First from elsewhere")
    second = await post(server.http, "Second from elsewhere")
    fresh = page.page.locator(".lt-new")
    await expect(fresh).to_have_text("2 new comments")
    await expect(live).to_have_text("2 new comments")
    await _remove(server.http, await moderator_token(server.settings), first)
    await expect(fresh).to_have_text("1 new comment")
    await fresh.click()
    await expect(item(page.page, second)).to_be_visible()
    await expect(item(page.page, first)).to_have_count(0)
    await expect(page.page.locator("#lt-heading")).to_have_text(f"{SEED_COUNT + 1} Comments")
    assert page.errors == []


async def test_moderator_locks_and_restores_live_for_readers(
    server: Running, browser: Browser, page: Tab
) -> None:
    """From /moderate: Close comments hides every reader's form at once; Restore brings a
    removed comment back to readers."""
    victim = await post(server.http, "Wrongly removed")
    await open_demo(page, server.http, count=SEED_COUNT + 1)
    reader = page.page
    async with open_tab(browser) as moderator:
        m = moderator.page
        await m.goto(f"{server.http}/moderate?site={demo.SITE}&thread={demo.THREAD}")
        await m.get_by_label("Moderator token").fill(await moderator_token(server.settings))
        await m.get_by_role("button", name="Moderate").click()
        await m.locator(".lt-lock").click()
        await expect(reader.locator(".lt-closed")).to_be_visible()
        await expect(reader.locator("form.lt-form")).to_be_hidden()
        await expect(m.locator(".lt-lock")).to_have_text("Reopen comments")

        await action(m, victim, "remove").click()
        await expect(item(reader, victim)).to_have_count(0)
        await action(m, victim, "restore").click()
        await expect(item(reader, victim)).to_contain_text("Wrongly removed")

        await m.locator(".lt-lock").click()
        await expect(reader.locator(".lt-closed")).to_be_hidden()
        assert moderator.errors == []
    assert page.errors == []


async def test_malformed_permalink_is_ignored(server: Running, page: Tab) -> None:
    """A hash that is not valid percent-encoding marks nothing and breaks nothing."""
    await page.page.goto(f"{server.http}/#comment-%E0")
    await expect(page.page.locator("#lt-heading")).to_have_text(f"{SEED_COUNT} Comments")
    await expect(page.page.locator(".lt-target")).to_have_count(0)
    assert page.errors == []
