"""Bans on the moderators' page in chromium (issue 16): a moderator bans a comment's author from
the review queue with the keyboard alone, their comments leave readers' pages live, every
moderator's Bans list follows, and lifting empties it; a banned reader's post is refused with
the server's message; a shadow-banned reader sees their comment as published, and nobody else
sees it at all."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
from playwright.async_api import Browser, Locator, Page, expect

from server import demo
from server.moderation.rules import Rules
from server.settings import Settings
from tests.browser.conftest import Tab, open_tab
from tests.browser.demo_page import (
    HTTP_TIMEOUT,
    SEED_COUNT,
    action,
    bottom_form,
    is_post,
    item,
    moderator_token,
    open_demo,
    post,
)
from tests.support.moderation import set_rules
from tests.support.server import Running

# Longest wait for something another client did to reach a page over its socket.
LIVE_MS = 5000
# Most Tab presses from the top of /moderate to a queue item's "Ban…" button.
TABS_MAX = 40
# Readers on addresses of their own (the server believes X-Forwarded-For from loopback):
# shadow comments follow their author's address, and a ban removes by person, not by machine.
SPAMMER = "203.0.113.5"
SHADE = "198.51.100.7"
BYSTANDER = "198.51.100.8"
SPAM_EMAIL = "spam@example.com"


async def moderate(tab: Tab, base: str, token: str) -> Page:
    """Open /moderate in `tab` with the moderator's `token`; returns the page once its queue and
    bans are shown."""
    page = tab.page
    await page.goto(f"{base}/moderate")
    await page.get_by_label("Moderator token").fill(token)
    await page.get_by_role("button", name="Moderate").click()
    await expect(page.locator(".lt-review h3")).to_have_text("0 comments to review")
    await expect(page.locator(".lt-bans h3")).to_have_text("0 bans")
    return page


async def post_from(base: str, address: str, body: str, name: str, email: str) -> str:
    """Post to the demo thread as a reader at `address` (with an email); returns the id."""
    data = {
        "site": demo.SITE,
        "thread": demo.THREAD,
        "author": {"name": name, "email": email},
        "body": body,
    }
    async with httpx.AsyncClient(base_url=base, timeout=HTTP_TIMEOUT) as http:
        answer = await http.post(
            "/api/v1/comments", json=data, headers={"X-Forwarded-For": address}
        )
    assert answer.status_code == 201, answer.text
    comment_id: str = answer.json()["comment"]["id"]
    return comment_id


async def ban(base: str, token: str, **body: Any) -> dict[str, Any]:
    """A ban made through the HTTP API on the demo site; the answer's ban."""
    async with httpx.AsyncClient(base_url=base, timeout=HTTP_TIMEOUT) as http:
        answer = await http.post(
            "/api/v1/bans",
            json={"site": demo.SITE, **body},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()["ban"]
    return made


async def tab_to(page: Page, target: Locator) -> None:
    """Press Tab until `target` has the focus, as a keyboard user would get there."""
    for _ in range(TABS_MAX):
        await page.keyboard.press("Tab")
        if await target.evaluate("el => el.getRootNode().activeElement === el"):
            return
    raise AssertionError(f"{TABS_MAX} presses of Tab never reached {target}")


def reader_at(browser: Browser, address: str) -> AbstractAsyncContextManager[Tab]:
    """A tab whose requests (HTTP and websocket) come from `address`."""
    return open_tab(browser, extra_http_headers={"X-Forwarded-For": address})


async def test_a_ban_from_the_queue_by_keyboard_removes_their_comments_and_lists_live(
    server: Running, browser: Browser, settings: Settings, page: Tab
) -> None:
    """From a flagged comment's queue item, with the keyboard only, a moderator bans its author
    by email and removes their comments in the thread: a reader's page loses both live, the
    moderator is told, and a second moderator's Bans list shows the ban; Escape closes a ban
    form opened on the thread, giving the focus back; lifting the ban empties both lists."""
    await set_rules(settings, demo.SITE, Rules(suspect=("crypto",)))
    token = await moderator_token(settings)
    async with open_tab(browser) as first, open_tab(browser) as second:
        c = await moderate(first, server.http, token)
        d = await moderate(second, server.http, token)
        flagged = await post_from(server.http, SPAMMER, "Buy crypto now", "Spammy", SPAM_EMAIL)
        other = await post_from(server.http, SPAMMER, "Plain words", "Spammy", SPAM_EMAIL)
        await open_demo(page, server.http, SEED_COUNT + 2)
        entry = c.locator(f'.lt-review li[data-id="{flagged}"]')
        await expect(entry).to_contain_text("suspect words: crypto", timeout=LIVE_MS)

        opener = entry.get_by_role("button", name="Ban…")
        await tab_to(c, opener)
        await c.keyboard.press("Enter")
        form = entry.get_by_role("form", name="Ban Spammy")
        await expect(form.get_by_label("Ban", exact=True)).to_be_focused()
        await c.keyboard.press("Tab")
        await expect(form.get_by_label("Best available")).to_be_focused()
        await c.keyboard.press("ArrowDown")
        await c.keyboard.press("ArrowDown")
        await expect(form.get_by_label("Email", exact=True)).to_be_checked()
        await c.keyboard.press("Tab")
        await expect(form.get_by_label("No", exact=True)).to_be_focused()
        await c.keyboard.press("ArrowDown")
        await expect(form.get_by_label("In this thread")).to_be_checked()
        await c.keyboard.press("Tab")
        await expect(form.get_by_label("Reason (optional)")).to_be_focused()
        await c.keyboard.type("Crypto spam")
        await c.keyboard.press("Enter")

        told = c.locator(".lt-bans [role=status]")
        await expect(told).to_have_text("Spammy (email): banned; 2 comments removed.")
        for gone in (flagged, other):
            await expect(item(page.page, gone)).to_have_count(0, timeout=LIVE_MS)
        await expect(page.page.locator("#lt-heading")).to_have_text(f"{SEED_COUNT} Comments")
        await expect(entry).to_have_count(0, timeout=LIVE_MS)
        for mod in (c, d):
            row = mod.locator(".lt-bans li")
            await expect(row).to_have_count(1, timeout=LIVE_MS)
            await expect(row).to_contain_text("Spammy (email): banned")
            await expect(row).to_contain_text("Crypto spam")
            await expect(row).to_contain_text(f"by {demo.seed().article.byline}")
            await expect(mod.locator(".lt-bans h3")).to_have_text("1 ban")

        # On the thread: a comment's "Ban…" opens the form; Escape closes it, focus goes back.
        seeded = c.locator("li[data-id] > article .lt-ban").first
        await seeded.focus()
        await c.keyboard.press("Enter")
        await expect(c.locator(".lt-ban-form input").first).to_be_focused()
        await c.keyboard.press("Escape")
        await expect(c.locator(".lt-ban-form")).to_have_count(0)
        await expect(seeded).to_be_focused()

        lift = c.get_by_role("button", name="Lift the ban on Spammy")
        await lift.focus()
        await c.keyboard.press("Enter")
        await expect(c.locator(".lt-bans [role=status]")).to_have_text("Ban lifted.")
        for mod in (c, d):
            await expect(mod.locator(".lt-bans li")).to_have_count(0, timeout=LIVE_MS)
            await expect(mod.locator(".lt-bans h3")).to_have_text("0 bans")
        await expect(c.locator(".lt-bans h3")).to_be_focused()
        assert first.errors == []
        assert second.errors == []
    assert page.errors == []


async def test_a_banned_readers_post_shows_the_servers_message(
    server: Running, browser: Browser, settings: Settings
) -> None:
    """A reader suspended by email posts from the widget: the form says why, in the server's
    words, and the thread is unchanged; the widget goes on working."""
    token = await moderator_token(settings)
    until = "2036-12-06T14:00:00+00:00"
    await ban(server.http, token, key="email", value=SPAM_EMAIL, mode="suspend", until=until)
    async with reader_at(browser, SPAMMER) as reader:
        await open_demo(reader, server.http)
        form = bottom_form(reader.page)
        await form.get_by_label("Comment").fill("Am I still allowed?")
        await form.get_by_label("Name").fill("Spammy")
        await form.get_by_label("Email (optional, never shown)").fill(SPAM_EMAIL)
        async with reader.page.expect_response(is_post) as answer:
            await form.get_by_role("button", name="Post Comment").click()
        refusal = await answer.value
        assert refusal.status == 403, await refusal.text()
        assert (await refusal.json())["error"] == "banned"
        await expect(form.get_by_role("alert")).to_have_text(
            "You are suspended from commenting here until 6 Dec 2036, 14:00 UTC"
        )
        await expect(form.get_by_label("Comment")).to_have_value("Am I still allowed?")
        await expect(reader.page.locator("#lt-heading")).to_have_text(f"{SEED_COUNT} Comments")
        # Chromium logs every 4xx answer; the refused post's is the only error.
        refused = (
            "console.error: Failed to load resource: the server responded with a status of 403"
        )
        assert [
            e for e in reader.errors if not (e.startswith(refused) and "/api/v1/comments'" in e)
        ] == []


async def test_a_shadow_banned_reader_alone_sees_their_comment(
    server: Running, browser: Browser, settings: Settings
) -> None:
    """A shadow-banned reader's comment shows on their page as published, and again after a
    reload (`comment.own`); another reader's page never shows it, though a later comment by
    someone else reaches it."""
    token = await moderator_token(settings)
    await ban(server.http, token, key="email", value="shade@example.com", mode="shadow")
    async with reader_at(browser, SHADE) as shade, reader_at(browser, BYSTANDER) as by:
        await open_demo(shade, server.http)
        await open_demo(by, server.http)
        form = bottom_form(shade.page)
        await form.get_by_label("Comment").fill("Only I can see this")
        await form.get_by_label("Name").fill("Shade")
        await form.get_by_label("Email (optional, never shown)").fill("shade@example.com")
        async with shade.page.expect_response(is_post) as answer:
            await form.get_by_role("button", name="Post Comment").click()
        posted = await answer.value
        assert posted.status == 201, await posted.text()
        hidden: str = (await posted.json())["comment"]["id"]

        for attempt in ("posted", "reloaded"):
            mine = item(shade.page, hidden)
            await expect(mine).to_contain_text("Only I can see this", timeout=LIVE_MS)
            await expect(mine.locator("> article .lt-badge")).to_have_count(0)
            await expect(action(shade.page, hidden, "edit")).to_be_visible()
            await expect(shade.page.locator(".lt-new")).to_be_hidden()
            heading = shade.page.locator("#lt-heading")
            await expect(heading).to_have_text(f"{SEED_COUNT + 1} Comments")
            if attempt == "posted":
                await shade.page.reload()
                await shade.page.locator("#livethread").scroll_into_view_if_needed()

        later = await post(server.http, "A later comment, seen by all", name="Third")
        fresh = by.page.locator(".lt-new")
        await expect(fresh).to_have_text("1 new comment", timeout=LIVE_MS)
        await fresh.click()
        await expect(item(by.page, later)).to_have_count(1)
        await expect(item(by.page, hidden)).to_have_count(0)
        await expect(by.page.locator("#lt-heading")).to_have_text(f"{SEED_COUNT + 1} Comments")
        await expect(item(shade.page, hidden)).to_have_count(1)
        assert shade.errors == []
        assert by.errors == []
