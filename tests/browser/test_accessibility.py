"""Accessibility in chromium (issue 17): axe-core, injected from client-js/node_modules (never
bundled), finds no serious or critical violation on the widget (the thread, reactions, the
sort box, the "new comments" button, the reply, edit, report and React forms; signed in too;
light and dark) or on the moderators' page (the queue with an item, a Ban… form, Bans, the
Decisions with their "Load more"); and a reader reacts, reports and shows new comments with
the keyboard alone (reading and replying by keyboard: test_widget.py::test_keyboard_only_reply;
a like by Enter: test_reactions.py). The readers' own "Load more" does not exist yet."""

from __future__ import annotations

import time
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from server import demo
from server.moderation.rules import Rules
from server.settings import Settings
from tests.browser.conftest import ROOT, Tab, open_tab
from tests.browser.demo_page import (
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
from tests.browser.test_bans import tab_to
from tests.browser.test_reports import SHOWN, THANKS, moderation, report_form
from tests.browser.test_sign_in import SIGNED_IN, form, open_article, pages, signing_in, token
from tests.support.clients import Tokens
from tests.support.moderation import set_rules
from tests.support.server import Running

AXE = ROOT / "client-js" / "node_modules" / "axe-core" / "axe.min.js"
# What the audit fails on: axe's two highest impacts of four.
FAILING = ("serious", "critical")
# Longest wait for something another client did to reach a page over its socket.
LIVE_MS = 5000


def axe_script() -> Path:
    """axe-core as npm installed it (a devDependency of client-js, never in a bundle)."""
    if not AXE.is_file():
        pytest.fail(
            f"{AXE} is missing: run `make node-deps` (or `make test`, which runs it)",
            pytrace=False,
        )
    return AXE


def audited_tab(browser: Browser, **options: Any) -> AbstractAsyncContextManager[Tab]:
    """A tab whose pages take axe: injecting it is an inline script, which the server's and the
    widget's Content-Security-Policy rightly refuse (test_csp.py proves they do)."""
    return open_tab(browser, bypass_csp=True, **options)


async def passes(page: Page, what: str) -> None:
    """axe finds no serious or critical violation on the page as it is now (the widget's open
    shadow root included); each one found is printed and named in the failure."""
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.add_script_tag(path=axe_script())
    result: dict[str, Any] = await page.evaluate("() => axe.run(document)")
    found = [
        f"{what}: {v['id']} ({v['impact']}): {v['help']}; first at {v['nodes'][0]['target']}"
        for v in result["violations"]
        if v["impact"] in FAILING
    ]
    for line in found:
        print(line)
    assert found == []


async def shows_focus(target: Locator) -> None:
    """`target` has the keyboard's focus, and an outline shows where it is."""
    await expect(target).to_be_focused()
    outline = await target.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none", outline


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_the_widget_and_its_forms_have_no_serious_violation(
    server: Running, browser: Browser, scheme: str
) -> None:
    """The thread (comments, reactions, sort box); the React picker; then a reaction chip, the
    "new comment" button, one's own comment being edited, a reply and a report form open, a
    report's thanks and the bottom form's errors: nothing serious or critical, light or dark."""
    async with audited_tab(browser, color_scheme=scheme) as tab:
        await open_demo(tab, server.http)
        p = tab.page
        await passes(p, "thread")

        more = action(p, "c1", "rx-more")
        await more.click()
        await expect(more).to_have_attribute("aria-expanded", "true")
        await passes(p, "React picker")
        await p.locator('li[data-id="c1"] > article .lt-rp-love').click()
        await expect(action(p, "c1", "rx-love")).to_be_visible()

        own = await posted_id(await submit(bottom_form(p), "My own words"))
        await action(p, own, "edit").click()
        await expect(item(p, own).get_by_role("textbox", name="Edit")).to_be_focused()
        await post(server.http, "Someone else's words.")
        await expect(p.locator(".lt-new")).to_have_text("1 new comment", timeout=LIVE_MS)
        await action(p, "c2", "reply").click()
        await expect(p.get_by_role("form", name="Reply to Anonymous", exact=True)).to_be_visible()
        await action(p, "c4", "report").click()
        await report_form(p, "c4").get_by_role("button", name="Send").click()
        await expect(item(p, "c4").get_by_role("status")).to_have_text(THANKS)
        await action(p, "c3", "report").click()
        await expect(report_form(p, "c3")).to_be_visible()
        await bottom_form(p).get_by_role("button", name="Post Comment").click()
        # The name is remembered from the post above: only the comment is missing.
        comment = bottom_form(p).get_by_label("Comment")
        await expect(comment).to_have_attribute("aria-invalid", "true")
        await passes(p, "forms open")
        assert tab.errors == []


async def test_the_signed_in_widget_has_no_serious_violation(
    settings: Settings, tokens: Tokens, browser: Browser
) -> None:
    """A signed-in reader's widget (their name instead of the name fields): nothing serious."""
    async with signing_in(settings) as server, AsyncExitStack() as stack:
        tab = await stack.enter_async_context(audited_tab(browser))
        (url,) = await pages(stack, server, token(iat=int(time.time())))
        p = await open_article(tab, url, 0)
        await expect(form(p).get_by_text(SIGNED_IN)).to_be_visible()
        await passes(p, "signed in")
        assert tab.errors == []


async def test_the_moderators_page_has_no_serious_violation(
    server: Running, settings: Settings, browser: Browser
) -> None:
    """/moderate before the token; with a flagged comment in the queue; with a Ban… form open;
    with a ban listed and the Decisions open, before and after "Load more" (pressed by
    keyboard): nothing serious or critical."""
    await set_rules(settings, demo.SITE, Rules(suspect=("crypto",)))
    moderator = await moderator_token(settings)
    # More decisions than the Decisions show at first, so that "Load more" is there.
    for n in range(SHOWN):
        body = {"site": demo.SITE, "thread": demo.THREAD, "action": ("lock", "unlock")[n % 2]}
        await moderation(server.http, moderator, "threads/moderation", body)
    async with audited_tab(browser) as tab:
        p = tab.page
        await p.goto(f"{server.http}/moderate")
        await passes(p, "token form")
        await p.get_by_label("Moderator token").fill(moderator)
        await p.get_by_role("button", name="Moderate").click()
        await expect(p.locator(".lt-review h3")).to_have_text("0 comments to review")
        flagged = await post(server.http, "Buy crypto now", name="Spammy")
        entry = p.locator(f'.lt-review li[data-id="{flagged}"]')
        await expect(entry).to_contain_text("suspect words: crypto", timeout=LIVE_MS)
        await passes(p, "queue")

        await entry.get_by_role("button", name="Ban…").click()
        ban = entry.get_by_role("form", name="Ban Spammy")
        await expect(ban.get_by_label("Ban", exact=True)).to_be_focused()
        await passes(p, "Ban… form")
        await ban.get_by_role("button", name="Apply").click()
        await expect(p.locator(".lt-bans li")).to_have_count(1, timeout=LIVE_MS)

        decisions = p.get_by_role("button", name="Decisions")
        await decisions.focus()
        await p.keyboard.press("Enter")
        rows = p.locator(".lt-audit li")
        await expect(rows).to_have_count(SHOWN)
        await passes(p, "bans and decisions")
        more = p.get_by_role("button", name="Load more")
        await tab_to(p, more)
        await shows_focus(more)
        await p.keyboard.press("Enter")
        # The thread's decisions, then the ban and the removal of Spammy's comment with it.
        await expect(rows).to_have_count(SHOWN + 2)
        await passes(p, "decisions, more loaded")
        assert tab.errors == []


async def test_react_report_and_new_comments_by_keyboard_alone(server: Running, page: Tab) -> None:
    """With keys only, each with its focus outline: React opens the picker on its first kind,
    Enter picks it and gives the focus back, Escape closes it; Report opens on "Spam", the
    arrows choose "Other", details are typed, Enter sends and the thanks take the focus; the
    "1 new comment" button shows the comment and moves the focus to it."""
    await open_demo(page, server.http)
    p = page.page
    keys = p.keyboard
    more = action(p, "c1", "rx-more")
    love = p.locator('li[data-id="c1"] > article .lt-rp-love')

    await item(p, "c1").locator(":scope > article").focus()
    await tab_to(p, more)
    await shows_focus(more)
    await keys.press("Enter")
    await expect(more).to_have_attribute("aria-expanded", "true")
    await shows_focus(love)
    await keys.press("Enter")
    chip = action(p, "c1", "rx-love")
    await expect(chip).to_have_attribute("aria-label", "Love, 1")
    await expect(chip).to_have_attribute("aria-pressed", "true")
    await expect(more).to_have_attribute("aria-expanded", "false")
    await shows_focus(more)
    await keys.press("Enter")
    await shows_focus(love)
    await keys.press("Escape")
    await expect(love).to_be_hidden()
    await shows_focus(more)

    report = action(p, "c1", "report")
    await tab_to(p, report)
    await shows_focus(report)
    await keys.press("Enter")
    sheet = report_form(p, "c1")
    await shows_focus(sheet.get_by_label("Spam", exact=True))
    for _ in range(3):  # Abuse, Off-topic, Other
        await keys.press("ArrowDown")
    await expect(sheet.get_by_label("Other", exact=True)).to_be_checked()
    await keys.press("Tab")
    await shows_focus(sheet.get_by_label("Details"))
    await keys.type("Typed without a mouse")
    await keys.press("Tab")
    await shows_focus(sheet.get_by_role("button", name="Send"))
    await keys.press("Enter")
    thanks = item(p, "c1").get_by_role("status")
    await expect(thanks).to_have_text(THANKS)
    await expect(thanks).to_be_focused()

    fresh = p.locator(".lt-new")
    new = await post(server.http, "Arrived while reading.")
    await expect(fresh).to_have_text("1 new comment", timeout=LIVE_MS)
    await p.get_by_label("Sort comments").focus()
    await keys.press("Tab")
    await shows_focus(fresh)
    await keys.press("Enter")
    await expect(item(p, new).locator(":scope > article")).to_be_focused()
    await expect(p.locator("#lt-heading")).to_have_text(f"{SEED_COUNT + 1} Comments")
    assert page.errors == []
