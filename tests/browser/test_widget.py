"""The widget in chromium against a real server: live replies, moderation, restarts, forms."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Dialog, Page, Route, WebSocketRoute, expect

from server.settings import Settings
from tests.browser.conftest import Tab, open_tab
from tests.browser.demo_page import (
    SEED_COUNT,
    action,
    bottom_form,
    is_post,
    item,
    lock,
    moderator_token,
    open_demo,
    post,
    posted_id,
    reply_under,
    snapshot,
    submit,
)
from tests.support.server import Running, serve

# A removal must leave every open page within this many milliseconds of its HTTP answer.
REMOVAL_MS = 1000
# A short outage: the widget's backoff (full jitter, 0.5 s doubling) reconnects well within this.
RECONNECT_MS = 15_000


async def reply_in_page(page: Page, parent: str, label: str, body: str, name: str) -> str:
    """Open `parent`'s reply form, fill it in, post it; returns the new comment's id."""
    await action(page, parent, "reply").click()
    form = page.get_by_role("form", name=label, exact=True)
    return await posted_id(await submit(form, body, name))


async def test_live_reply_then_moderator_removal(
    server: Running, browser: Browser, page: Tab
) -> None:
    """A reply from page A is offered to page B as "1 new comment" and lands under its parent;
    a moderator's removal from /moderate then leaves both pages within a second."""
    async with open_tab(browser) as other:
        await open_demo(page, server.http)
        await open_demo(other, server.http)
        a, b = page.page, other.page

        new = await reply_in_page(a, "c23", "Reply to Anonymous", "Agreed, live.", "Ann")
        await expect(reply_under(a, "c23", new)).to_be_visible()

        fresh = b.locator(".lt-new")
        await expect(fresh).to_have_text("1 new comment")
        await expect(item(b, new)).to_have_count(0)
        await fresh.click()
        await expect(reply_under(b, "c23", new)).to_contain_text("Agreed, live.")
        await expect(fresh).to_be_hidden()
        await expect(b.locator("#lt-heading")).to_have_text(f"{SEED_COUNT + 1} Comments")

        async with open_tab(browser) as moderator:
            c = moderator.page
            await c.goto(f"{server.http}/moderate")
            await c.get_by_label("Moderator token").fill(await moderator_token(server.settings))
            await c.get_by_role("button", name="Moderate").click()
            await expect(c.locator(".lt-lock")).to_have_text("Close comments")
            async with c.expect_response(lambda r: r.url.endswith("/moderation")) as answer:
                await action(c, new, "remove").click()
            assert (await answer.value).status == 200
            await asyncio.gather(
                expect(item(a, new)).to_have_count(0, timeout=REMOVAL_MS),
                expect(item(b, new)).to_have_count(0, timeout=REMOVAL_MS),
            )
            await expect(action(c, new, "restore")).to_be_visible()
            assert moderator.errors == []
        await expect(b.locator("#lt-heading")).to_have_text(f"{SEED_COUNT} Comments")
        assert other.errors == []
    assert page.errors == []


async def test_own_reply_shows_at_once_and_replies_to_a_tombstone(
    server: Running, page: Tab
) -> None:
    """The reader's own reply is placed at once (never held as "new"), survives a reload, and a
    reply to a tombstone (r1, a removed parent) lands under it."""
    await open_demo(page, server.http)
    p = page.page
    fresh = p.locator(".lt-new")

    mine = await reply_in_page(p, "c24", "Reply to Anonymous", "My own reply.", "Ann")
    await expect(reply_under(p, "c24", mine)).to_contain_text("My own reply.")
    await expect(p.locator("#lt-heading")).to_have_text(f"{SEED_COUNT + 1} Comments")
    # Someone's reply to it is shown at once (it answers the reader); once it is, the echo of
    # ours (an earlier seq) has been applied too, and ours was not offered as new.
    theirs = await post(server.http, "A reply to your reply.", parent=mine)
    await expect(reply_under(p, mine, theirs)).to_be_visible()
    await expect(fresh).to_be_hidden()
    await expect(item(p, mine)).to_have_count(1)

    await p.reload()
    await expect(p.locator("#lt-heading")).to_have_text(f"{SEED_COUNT + 2} Comments")
    await expect(reply_under(p, "c24", mine)).to_contain_text("My own reply.")
    await expect(action(p, mine, "edit")).to_be_visible()
    await expect(fresh).to_be_hidden()

    await expect(p.locator('li[data-id="r1"] > article')).to_have_text(
        "This comment was removedReply"
    )
    under_tomb = await reply_in_page(p, "r1", "Reply", "Replying to a removed comment.", "Ann")
    await expect(reply_under(p, "r1", under_tomb)).to_contain_text("Replying to a removed")
    await expect(reply_under(p, "r1", "c3")).to_be_visible()
    assert [
        c["parent"] for c in (await snapshot(server.http))["comments"] if c["id"] == under_tomb
    ] == ["r1"]
    assert page.errors == []


def _failed_socket(error: str) -> bool:
    """Chromium's own log line for a websocket it could not open (the server being down), or
    for the snapshot request the widget sends after three such failures to ask why."""
    socket = error.startswith("console.error: WebSocket connection to") and "failed" in error
    return socket or "net::ERR_CONNECTION_REFUSED" in error


async def test_server_restart_reconnects_and_catches_up(settings: Settings, page: Tab) -> None:
    """With the server stopped the widget shows it is reconnecting; a new server on the same port
    and database gets it back, and comments posted meanwhile show once each."""
    p = page.page
    status = p.locator(".lt-status")
    async with serve(settings) as first:
        await open_demo(page, first.http)
        await expect(status).to_have_text("")
        port = first.port
    await expect(status).to_have_text("Reconnecting…")

    async with serve(settings, port=port) as second:
        ids = [
            await post(second.http, "Posted while you were away."),
            await post(second.http, "And another one.", parent="c1"),
        ]
        fresh = p.locator(".lt-new")
        await expect(fresh).to_have_text("2 new comments", timeout=RECONNECT_MS)
        await expect(status).to_have_text("")
        await fresh.click()
        for comment_id in ids:
            await expect(item(p, comment_id)).to_have_count(1)
        await expect(reply_under(p, "c1", ids[1])).to_be_visible()
        await expect(p.locator("#lt-heading")).to_have_text(f"{SEED_COUNT + 2} Comments")
    assert [e for e in page.errors if not _failed_socket(e)] == []


async def test_empty_form_shows_the_seed_messages_and_posts_nothing(
    server: Running, page: Tab
) -> None:
    """Posting the bottom form with no name and no text shows the seed's two messages, marks both
    inputs invalid, and sends nothing."""
    await open_demo(page, server.http)
    p = page.page
    before = await snapshot(server.http)
    posts: list[str] = []
    p.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)

    form = bottom_form(p)
    body, name = form.get_by_label("Comment"), form.get_by_label("Name")
    await expect(name).to_have_value("")
    await form.get_by_role("button", name="Post Comment").click()

    await expect(form.locator(".lt-error:visible")).to_have_text(
        ["Please enter your comment!", "Please enter your name here"]
    )
    await expect(body).to_have_attribute("aria-invalid", "true")
    await expect(name).to_have_attribute("aria-invalid", "true")
    await expect(body).to_have_accessible_description("Please enter your comment!")
    await expect(name).to_have_accessible_description("Please enter your name here")
    # The message is the input's description only; its name stays the label's caption.
    await expect(body).to_have_accessible_name("Comment")
    await expect(name).to_have_accessible_name("Name")
    await expect(body).to_be_focused()
    assert await snapshot(server.http) == before
    assert before["count"] == SEED_COUNT
    assert posts == []

    await body.fill("Now with text.")
    await form.get_by_role("button", name="Post Comment").click()
    await expect(body).not_to_have_attribute("aria-invalid", "true")
    await expect(name).to_have_attribute("aria-invalid", "true")
    await expect(form.locator(".lt-error:visible")).to_have_text(["Please enter your name here"])
    assert posts == []
    assert page.errors == []


async def test_keyboard_only_reply(server: Running, page: Tab) -> None:
    """A reply made with Tab, Shift+Tab, typing and Enter only; focus ends on the new comment."""
    await open_demo(page, server.http)
    p = page.page
    keys = p.keyboard
    first_link = p.locator('li[data-id="c1"] > article a.lt-time')
    reply = action(p, "c1", "reply")

    await keys.press("Tab")
    await expect(p.get_by_label("Sort comments")).to_be_focused()
    await keys.press("Tab")
    await expect(first_link).to_be_focused()
    await keys.press("Tab")
    await expect(action(p, "c1", "rx-like")).to_be_focused()
    await keys.press("Tab")
    await expect(action(p, "c1", "rx-more")).to_be_focused()
    await keys.press("Tab")
    await expect(reply).to_be_focused()
    await keys.press("Tab")
    await expect(action(p, "c1", "report")).to_be_focused()
    await keys.press("Tab")
    await expect(p.locator('li[data-id="c2"] > article a.lt-time')).to_be_focused()
    await keys.press("Shift+Tab")
    await expect(action(p, "c1", "report")).to_be_focused()
    await keys.press("Shift+Tab")
    await expect(reply).to_be_focused()
    await expect(first_link).not_to_be_focused()
    await keys.press("Enter")

    form = p.get_by_role("form", name="Reply to Mike", exact=True)
    await expect(form.get_by_label("Comment")).to_be_focused()
    await keys.type("Typed without a mouse.")
    await keys.press("Tab")
    await expect(form.get_by_label("Name")).to_be_focused()
    await keys.type("Kim")
    for _ in range(3):  # Email, Website, then the reply-mails checkbox
        await keys.press("Tab")
    await expect(form.get_by_label("Notify me of replies by email")).to_be_focused()
    await keys.press("Tab")
    submit = form.get_by_role("button", name="Post Comment")
    await expect(submit).to_be_focused()
    async with p.expect_response(is_post) as answer:
        await keys.press("Enter")
    new = await posted_id(await answer.value)

    mine = reply_under(p, "c1", new)
    await expect(mine).to_contain_text("Typed without a mouse.")
    await expect(mine).to_contain_text("Kim")
    await expect(mine.locator("> article")).to_be_focused()
    await expect(form).to_have_count(0)
    assert page.errors == []


async def test_server_messages_by_field_and_a_live_lock(server: Running, page: Tab) -> None:
    """The server's 422 messages show next to their fields; a lock by the moderator closes the
    thread in the open page (the closed message shows, the form and Reply buttons go)."""
    await open_demo(page, server.http)
    p = page.page
    form = bottom_form(p)
    name, email = form.get_by_label("Name"), form.get_by_label("Email (optional, never shown)")
    await form.get_by_label("Comment").fill("A fine comment.")
    # Past the input's maxlength, as a script (or an old browser) could send it.
    await name.evaluate("(el, value) => { el.value = value; }", "N" * 51)
    await email.fill("not-an-email")
    async with p.expect_response(is_post) as answer:
        await form.get_by_role("button", name="Post Comment").click()
    assert (await answer.value).status == 422

    await expect(name).to_have_accessible_description(
        "Your name is too long (50 characters at most)"
    )
    await expect(email).to_have_accessible_description("Please enter a valid email address")
    await expect(email).to_have_accessible_name("Email (optional, never shown)")
    await expect(name).to_have_attribute("aria-invalid", "true")
    await expect(email).to_have_attribute("aria-invalid", "true")
    await expect(form.get_by_label("Comment")).not_to_have_attribute("aria-invalid", "true")
    await expect(form.locator(".lt-error:visible")).to_have_count(2)
    await expect(name).to_be_focused()
    assert (await snapshot(server.http))["count"] == SEED_COUNT

    closed = p.locator(".lt-closed")
    await expect(closed).to_be_hidden()
    await lock(server.http, await moderator_token(server.settings))
    await expect(closed).to_have_text("Comments are closed on this article.")
    await expect(closed).to_be_visible()
    await expect(form).to_be_hidden()
    await expect(p.locator(".lt-reply")).to_have_count(0)
    # Chromium itself logs every 4xx answer to fetch; the 422 was the point of this test.
    refused = "console.error: Failed to load resource: the server responded with a status of 422"
    assert [
        e for e in page.errors if not (e.startswith(refused) and "/api/v1/comments'" in e)
    ] == []
    assert len(page.errors) == 1


async def test_author_edits_and_deletes_within_the_window(
    server: Running, browser: Browser, page: Tab
) -> None:
    """The author sees Edit and Delete on their own comment only; an edit shows live in another
    page, and a delete (after the confirm) takes the comment off both pages."""
    await open_demo(page, server.http)
    a = page.page
    form = bottom_form(a)
    await form.get_by_label("Comment").fill("First thoughts.")
    await form.get_by_label("Name").fill("Ann")
    async with a.expect_response(is_post) as answer:
        await form.get_by_role("button", name="Post Comment").click()
    mine = await posted_id(await answer.value)
    await expect(item(a, mine)).to_contain_text("First thoughts.")
    await expect(action(a, mine, "edit")).to_be_visible()
    await expect(action(a, mine, "delete")).to_be_visible()
    await expect(a.locator(".lt-edit")).to_have_count(1)

    async with open_tab(browser) as other:
        b = other.page
        await open_demo(other, server.http, count=SEED_COUNT + 1)
        await expect(item(b, mine)).to_contain_text("First thoughts.")
        await expect(b.locator(".lt-edit, .lt-delete")).to_have_count(0)

        await action(a, mine, "edit").click()
        editor = item(a, mine).get_by_role("textbox", name="Edit")
        await expect(editor).to_have_value("First thoughts.")
        await editor.fill("Second thoughts.")
        async with a.expect_response(lambda r: r.request.method == "PATCH") as edited:
            await item(a, mine).get_by_role("button", name="Save").click()
        assert (await edited.value).status == 200
        for shown in (item(a, mine), item(b, mine)):
            await expect(shown.locator("> article .lt-body")).to_have_text("Second thoughts.")
            await expect(shown.locator("> article .lt-badge")).to_have_text("edited")

        asked: list[str] = []

        async def accept(dialog: Dialog) -> None:
            asked.append(f"{dialog.type}: {dialog.message}")
            await dialog.accept()

        a.on("dialog", accept)
        async with a.expect_response(lambda r: r.request.method == "DELETE") as deleted:
            await action(a, mine, "delete").click()
        assert (await deleted.value).status == 200
        assert asked == ["confirm: Delete your comment?"]
        await expect(item(a, mine)).to_have_count(0)
        await expect(item(b, mine)).to_have_count(0)
        for heading in (a.locator("#lt-heading"), b.locator("#lt-heading")):
            await expect(heading).to_have_text(f"{SEED_COUNT} Comments")
        assert other.errors == []
    assert (await snapshot(server.http))["count"] == SEED_COUNT
    assert page.errors == []


SCREENS = {"desktop": {"width": 1280, "height": 800}, "375": {"width": 375, "height": 812}}


async def test_screenshots_light_and_dark_desktop_and_narrow(
    server: Running, browser: Browser, artifacts: Path
) -> None:
    """The demo page renders in light and dark, 1280 and 375 px wide: four full-page screenshots."""
    for scheme in ("light", "dark"):
        for screen, viewport in SCREENS.items():
            async with open_tab(browser, viewport=viewport, color_scheme=scheme) as tab:
                await open_demo(tab, server.http)
                await expect(bottom_form(tab.page)).to_be_visible()
                path = artifacts / f"widget-{scheme}-{screen}.png"
                await tab.page.screenshot(path=path, full_page=True)
                assert path.stat().st_size > 0
                assert tab.errors == []


GERMAN = """
new MutationObserver((_, observer) => {
  const host = document.getElementById("livethread");
  if (host) {
    host.dataset.lang = "de";
    observer.disconnect();
  }
}).observe(document, { childList: true, subtree: true });
"""


async def test_german_strings_from_data_lang(server: Running, page: Tab) -> None:
    """With data-lang="de" on its element the widget speaks German."""
    p = page.page
    # The demo page has no German variant: mark the element as the parser inserts it, which is
    # before the (later, async) widget script can run.
    await p.add_init_script(GERMAN)
    await p.goto(f"{server.http}/")
    await expect(p.locator("#lt-heading")).to_have_text(f"{SEED_COUNT} Kommentare")
    form = p.get_by_role("form", name="Schreibe eine Antwort", exact=True)
    await form.get_by_role("button", name="Kommentar senden").click()
    await expect(form.locator(".lt-error:visible")).to_have_text(
        ["Bitte schreibe einen Kommentar!", "Bitte gib hier deinen Namen ein"]
    )
    await expect(action(p, "c1", "reply")).to_have_text("Antworten")
    assert page.errors == []


class EchoGate:
    """Sits on the widget's websocket: `comment.created` frames from the server wait while closed.

    `forwarded` is set each time such a frame has been passed on to the page.
    """

    def __init__(self) -> None:
        self.closed = False
        self.waiting: list[str | bytes] = []
        self.forwarded = asyncio.Event()
        self.page_side: WebSocketRoute | None = None

    def route(self, ws: WebSocketRoute) -> None:
        self.page_side = ws
        ws.connect_to_server().on_message(self.from_server)

    def from_server(self, message: str | bytes) -> None:
        created = '"comment.created"' in str(message)
        if created and self.closed:
            self.waiting.append(message)
            return
        assert self.page_side is not None
        self.page_side.send(message)
        if created:
            self.forwarded.set()

    def open(self) -> None:
        self.closed = False
        assert self.page_side is not None
        for message in self.waiting:
            self.page_side.send(message)
        self.waiting.clear()


@pytest.mark.parametrize("first", ["echo", "answer"])
async def test_own_post_and_its_echo_in_either_order(
    server: Running, page: Tab, first: str
) -> None:
    """Whether the websocket echo of one's post reaches the page before or after the HTTP answer,
    the comment shows once, is not offered as "new", and keeps the focus the post gave it."""
    p = page.page
    gate = EchoGate()
    gate.closed = first == "answer"
    await p.route_web_socket(re.compile(r"/ws/v1/threads\?"), gate.route)

    async def answer_after_echo(route: Route) -> None:
        response = await route.fetch()
        # The echo is held as someone else's comment until the answer says it is ours.
        async with asyncio.timeout(10):
            await gate.forwarded.wait()
        await expect(p.locator(".lt-new")).to_have_text("1 new comment")
        await route.fulfill(response=response)

    if first == "echo":
        await p.route("**/api/v1/comments", answer_after_echo)
    await open_demo(page, server.http)
    mine = await posted_id(await submit(bottom_form(p), "Mine, echoed."))
    article = item(p, mine).locator("> article")
    await expect(article).to_be_focused()
    gate.open()

    # Someone's reply to it is shown at once; once it is, the echo (an earlier seq) was applied.
    theirs = await post(server.http, "A reply to you.", parent=mine)
    await expect(reply_under(p, mine, theirs)).to_be_visible()
    await expect(p.locator(".lt-new")).to_be_hidden()
    await expect(item(p, mine)).to_have_count(1)
    await expect(article).to_be_focused()
    await expect(p.locator("#lt-heading")).to_have_text(f"{SEED_COUNT + 2} Comments")
    assert page.errors == []
