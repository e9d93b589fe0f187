"""Reports and the audit log in chromium (issue 16): a reader reports a comment from the widget
and the moderators' queue shows it live; at the site's threshold the comment leaves every
reader's page; the moderators' page lists the site's decisions, newest first, page by page."""

from __future__ import annotations

from pathlib import Path

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
    item,
    moderator_token,
    open_demo,
    post,
    posted_id,
    submit,
)
from tests.support.moderation import set_rules
from tests.support.server import Running

# Longest wait for something another client did to reach a page over its socket.
LIVE_MS = 5000
THANKS = "Thanks: a moderator will look at it."
# What the moderators' page shows at first, and adds on each "Load more" (client-js/src/audit.js).
SHOWN = 50


async def moderate(tab: Tab, base: str, token: str) -> Page:
    """Open /moderate in `tab` with the moderator's `token`; returns the page once the queue
    is live."""
    page = tab.page
    await page.goto(f"{base}/moderate")
    await page.get_by_label("Moderator token").fill(token)
    await page.get_by_role("button", name="Moderate").click()
    await expect(page.locator(".lt-review h3")).to_have_text("0 comments to review")
    return page


def report_form(page: Page, comment_id: str) -> Locator:
    """The report form open under a comment."""
    return item(page, comment_id).get_by_role("form", name="Report")


async def moderation(base: str, token: str, path: str, body: dict[str, str]) -> None:
    """One moderator decision through the HTTP API (`path` under /api/v1)."""
    async with httpx.AsyncClient(base_url=base, timeout=HTTP_TIMEOUT) as http:
        answer = await http.post(
            f"/api/v1/{path}", json=body, headers={"Authorization": f"Bearer {token}"}
        )
    assert answer.status_code == 200, answer.text


async def test_a_report_needs_details_for_other_and_reaches_the_queue(
    server: Running, browser: Browser, settings: Settings, page: Tab, artifacts: Path
) -> None:
    """ "Other" without details is refused in the form; with them the reader is thanked and the
    moderators' queue shows the comment with "1 report: other (…)"; one's own comment offers
    no Report. The form's script (report.js) is fetched on the first Report, not before."""
    cid = await post(server.http, "Something to report")
    async with open_tab(browser) as moderator:
        queue = await moderate(moderator, server.http, await moderator_token(settings))
        reader = page.page
        scripts: list[str] = []
        reader.on(
            "request", lambda r: scripts.append(r.url) if r.resource_type == "script" else None
        )
        await open_demo(page, server.http, SEED_COUNT + 1)
        assert not [url for url in scripts if "/report" in url], scripts
        await action(reader, cid, "report").click()
        form = report_form(reader, cid)
        # The first reason is chosen and focused: the keyboard goes on from there.
        await expect(form.get_by_label("Spam", exact=True)).to_be_focused()
        await form.get_by_label("Other", exact=True).check()
        await form.get_by_role("button", name="Send").click()
        await expect(form.get_by_role("alert")).to_have_text("Please say what is wrong with it.")
        await expect(form.get_by_label("Details")).to_be_focused()
        await expect(form.get_by_label("Details")).to_have_attribute("aria-invalid", "true")
        assert [url for url in scripts if "/report" in url] == [f"{server.http}/report.js"]
        await item(reader, cid).screenshot(path=artifacts / "report-form.png")
        await form.get_by_label("Details").fill("Off the rails")
        await form.get_by_role("button", name="Send").click()
        await expect(item(reader, cid).get_by_role("status")).to_have_text(THANKS)
        await expect(form).to_have_count(0)
        entry = queue.locator(f'.lt-review li[data-id="{cid}"]')
        await expect(entry).to_contain_text("1 report: other (Off the rails)", timeout=LIVE_MS)
        await expect(entry).to_contain_text("Flagged")

        # Escape closes a report form and gives the focus back to its Report button.
        await action(reader, cid, "report").click()
        await reader.keyboard.press("Escape")
        await expect(report_form(reader, cid)).to_have_count(0)
        await expect(action(reader, cid, "report")).to_be_focused()

        own = await posted_id(await submit(bottom_form(reader), "My own words"))
        await expect(action(reader, own, "reply")).to_be_visible()
        await expect(action(reader, own, "report")).to_have_count(0)
        await expect(action(queue, cid, "report")).to_have_count(0)
        assert moderator.errors == []
    assert page.errors == []


async def test_a_report_at_the_threshold_takes_the_comment_off_every_page(
    server: Running, browser: Browser, settings: Settings, page: Tab
) -> None:
    """With `reports_hold=1` one report holds the comment: another reader's page loses it live."""
    await set_rules(settings, demo.SITE, Rules(reports_hold=1))
    cid = await post(server.http, "Held after one report")
    async with open_tab(browser) as other:
        await open_demo(page, server.http, SEED_COUNT + 1)
        await open_demo(other, server.http, SEED_COUNT + 1)
        await action(page.page, cid, "report").click()
        await report_form(page.page, cid).get_by_role("button", name="Send").click()
        await expect(item(other.page, cid)).to_have_count(0, timeout=LIVE_MS)
        await expect(other.page.locator("#lt-heading")).to_have_text(f"{SEED_COUNT} Comments")
        await expect(item(page.page, cid)).to_have_count(0, timeout=LIVE_MS)
        assert other.errors == []
    assert page.errors == []


async def test_the_moderators_page_lists_decisions_newest_first(
    server: Running, settings: Settings, page: Tab, artifacts: Path
) -> None:
    """The Decisions section lists the site's decisions newest first (who, what, on which
    comment, why), shows older ones on "Load more", and Refresh adds new ones on top."""
    cid = await post(server.http, "To be removed")
    token = await moderator_token(settings)
    # More decisions than are shown at first: locking and reopening the thread, over and over.
    for n in range(SHOWN + 4):
        body = {"site": demo.SITE, "thread": demo.THREAD, "action": ("lock", "unlock")[n % 2]}
        await moderation(server.http, token, "threads/moderation", body)
    remove = {"action": "remove", "reason": "Off topic"}
    await moderation(server.http, token, f"comments/{cid}/moderation", remove)

    c = await moderate(page, server.http, token)
    decisions = c.get_by_role("button", name="Decisions")
    await expect(decisions).to_have_attribute("aria-expanded", "false")
    await decisions.click()
    await expect(decisions).to_have_attribute("aria-expanded", "true")
    rows = c.locator(".lt-audit li")
    await expect(rows).to_have_count(SHOWN)
    newest = rows.first
    await expect(newest).to_have_attribute("data-action", "remove")
    byline = demo.seed().article.byline
    await expect(newest).to_contain_text(byline)
    await expect(newest).to_contain_text(f"comment {cid} in {demo.THREAD}")
    await expect(newest).to_contain_text("Off topic")
    await c.locator(".lt-audit").screenshot(path=artifacts / "audit-log.png")
    await expect(rows.nth(1)).to_have_attribute("data-action", "unlock")
    await expect(rows.nth(1)).to_contain_text(f"thread {demo.THREAD}")
    more = c.get_by_role("button", name="Load more")
    await more.click()
    await expect(rows).to_have_count(SHOWN + 5)
    await expect(more).to_be_hidden()
    await expect(rows.last).to_have_attribute("data-action", "lock")

    await moderation(server.http, token, f"comments/{cid}/moderation", {"action": "restore"})
    await c.get_by_role("button", name="Refresh").click()
    await expect(rows).to_have_count(SHOWN + 6)
    await expect(rows.first).to_have_attribute("data-action", "restore")
    await expect(rows.nth(1)).to_have_attribute("data-action", "remove")
    assert page.errors == []
