"""The widget's details in chromium: the reply-mails checkbox row, the loading and empty states,
the moderator toolbar's spacing, Escape on a reply form, the lazy start, and rate limits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, Request, Route, expect

from server import demo
from server.settings import Settings
from tests.browser.conftest import Tab, open_tab
from tests.browser.demo_page import (
    HTTP_TIMEOUT,
    LOAD_TIMEOUT_MS,
    SEED_COUNT,
    action,
    article_page,
    bottom_form,
    item,
    moderator_token,
    open_demo,
    posted_id,
    set_origins,
    submit,
)
from tests.support.server import Running, serve

# How long a test holds the snapshot's answer back (it is released well before this).
HOLD_TIMEOUT = 10.0
# Far below the fold: the distance seen on a real article page.
FAR_BELOW_PX = 6700
# The widget starts this far before it scrolls into view (visibility.js MARGIN).
MARGIN_PX = 800

CHECKBOX_ROW = """(label) => {
  const box = label.querySelector("input").getBoundingClientRect();
  const text = [...label.childNodes].find((n) => n.nodeType === 3 && n.textContent.trim());
  const range = document.createRange();
  range.selectNodeContents(text);
  const line = range.getClientRects()[0];
  const row = label.getBoundingClientRect();
  return {
    row: row.left, boxLeft: box.left, boxRight: box.right, boxWidth: box.width,
    boxMiddle: (box.top + box.bottom) / 2, textLeft: line.left, textTop: line.top,
    textBottom: line.bottom,
  };
}"""


@pytest.mark.parametrize("width", [1024, 360])
async def test_notify_checkbox_sits_at_the_start_of_its_row_beside_its_label(
    server: Running, browser: Browser, artifacts: Path, width: int
) -> None:
    """At 1024 and 360 px the reply-mails checkbox is small, at the start of its row, and its
    label's text follows right beside it on the same line."""
    async with open_tab(browser, viewport={"width": width, "height": 800}) as tab:
        await open_demo(tab, server.http)
        row = bottom_form(tab.page).locator("label.lt-check")
        await expect(row.get_by_role("checkbox")).to_be_visible()
        found: dict[str, float] = await row.evaluate(CHECKBOX_ROW)
        assert found["boxWidth"] < 30, found
        assert abs(found["boxLeft"] - found["row"]) <= 1, found
        assert 0 <= found["textLeft"] - found["boxRight"] <= 16, found
        assert found["textTop"] <= found["boxMiddle"] <= found["textBottom"], found
        await bottom_form(tab.page).screenshot(path=artifacts / f"widget-form-{width}.png")
        assert tab.errors == []


def snapshot_url(url: str) -> bool:
    return "/api/v1/threads?" in url


def is_snapshot(request: Request) -> bool:
    return snapshot_url(request.url) and request.method == "GET"


async def test_loading_state_until_the_thread_arrives(
    server: Running, page: Tab, artifacts: Path
) -> None:
    """While the snapshot loads the widget says it is loading and shows no form; once it has
    loaded, the heading counts the comments and the form appears."""
    p = page.page
    release = asyncio.Event()
    held = asyncio.Event()

    async def hold(route: Route) -> None:
        held.set()
        async with asyncio.timeout(HOLD_TIMEOUT):
            await release.wait()
        await route.continue_()

    await p.route(snapshot_url, hold)
    await p.goto(f"{server.http}/")
    await p.locator("#livethread").scroll_into_view_if_needed()
    async with asyncio.timeout(HOLD_TIMEOUT):
        await held.wait()
    heading = p.locator("#lt-heading")
    await expect(heading).to_have_text("Loading comments…")
    await expect(heading).to_be_visible()
    await expect(p.locator("form.lt-form")).to_be_hidden()
    await p.locator("#livethread").screenshot(path=artifacts / "widget-loading.png")

    release.set()
    await expect(heading).to_have_text(f"{SEED_COUNT} Comments", timeout=LOAD_TIMEOUT_MS)
    await expect(bottom_form(p)).to_be_visible()
    await expect(p.locator(".lt-empty")).to_be_hidden()
    assert page.errors == []


@asynccontextmanager
async def listed_page(
    server: Running, thread: str, *, before: str = "", extra: str = ""
) -> AsyncIterator[str]:
    """An article page on another origin, which the demo site lists, embedding `thread`."""
    async with article_page(server.http, demo.SITE, thread, before=before, extra=extra) as url:
        await set_origins(server.settings, demo.SITE, url.rstrip("/"))
        yield url


async def remove(base: str, token: str, comment_id: str) -> None:
    """Remove a comment as the demo site's moderator."""
    async with httpx.AsyncClient(base_url=base, timeout=HTTP_TIMEOUT) as http:
        answer = await http.post(
            f"/api/v1/comments/{comment_id}/moderation",
            json={"action": "remove"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 200, answer.text


async def post_to(base: str, thread: str, body: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=HTTP_TIMEOUT) as http:
        answer = await http.post(
            "/api/v1/comments",
            json={"site": demo.SITE, "thread": thread, "author": {"name": "Ann"}, "body": body},
        )
    assert answer.status_code == 201, answer.text
    comment_id: str = answer.json()["comment"]["id"]
    return comment_id


async def test_empty_state_comes_and_goes(server: Running, page: Tab, artifacts: Path) -> None:
    """A thread with no comments invites the first one; the invitation goes when a comment
    arrives live, comes back when the last one is removed, and goes again when the reader
    posts."""
    p = page.page
    thread = "an-empty-article"
    async with listed_page(server, thread) as url:
        await p.goto(url)
        await empty_state_comes_and_goes(server, p, thread, artifacts)
    assert page.errors == []


async def empty_state_comes_and_goes(
    server: Running, p: Page, thread: str, artifacts: Path
) -> None:
    empty = p.locator(".lt-empty")
    await expect(p.locator("#lt-heading")).to_have_text("0 Comments", timeout=LOAD_TIMEOUT_MS)
    await expect(empty).to_have_text("No comments yet. Be the first to comment.")
    await expect(empty).to_be_visible()
    await expect(bottom_form(p)).to_be_visible()
    await expect(p.locator(".lt-status")).to_have_text("")
    await p.locator("#livethread").screenshot(path=artifacts / "widget-empty.png")

    theirs = await post_to(server.http, thread, "Someone else was first.")
    await expect(p.locator(".lt-new")).to_have_text("1 new comment")
    await expect(empty).to_be_hidden()
    await p.locator(".lt-new").click()
    await expect(item(p, theirs)).to_contain_text("Someone else was first.")
    await expect(empty).to_be_hidden()

    await remove(server.http, await moderator_token(server.settings), theirs)
    await expect(item(p, theirs)).to_have_count(0)
    await expect(empty).to_be_visible()
    await expect(p.locator("#lt-heading")).to_have_text("0 Comments")

    mine = await posted_id(await submit(bottom_form(p), "Then me.", "Bo"))
    await expect(item(p, mine)).to_contain_text("Then me.")
    await expect(empty).to_be_hidden()


async def test_moderator_toolbar_buttons_are_spaced(
    server: Running, page: Tab, artifacts: Path
) -> None:
    """The moderator's "Close comments" and "Forget token" sit apart on one line, not run
    together as "Close commentsForget token"."""
    p = page.page
    await p.goto(f"{server.http}/moderate")
    await p.get_by_label("Moderator token").fill(await moderator_token(server.settings))
    await p.get_by_role("button", name="Moderate").click()
    lock = p.get_by_role("button", name="Close comments")
    forget = p.get_by_role("button", name="Forget token")
    await expect(lock).to_be_visible()
    await expect(forget).to_be_visible()
    first, second = await lock.bounding_box(), await forget.bounding_box()
    assert first is not None and second is not None
    assert second["x"] - (first["x"] + first["width"]) >= 8, (first, second)
    assert abs(second["y"] - first["y"]) < 2, (first, second)
    await p.locator(".lt-head").screenshot(path=artifacts / "widget-moderator-toolbar.png")
    assert page.errors == []


async def test_escape_closes_a_reply_form_but_not_the_bottom_form(
    server: Running, page: Tab
) -> None:
    """Escape in a reply form closes it and gives the focus back to that comment's Reply
    button; Escape in the bottom form leaves it, and what was typed, in place."""
    await open_demo(page, server.http)
    p = page.page
    reply = action(p, "c1", "reply")
    await reply.click()
    form = p.get_by_role("form", name="Reply to Mike", exact=True)
    await expect(form.get_by_label("Comment")).to_be_focused()
    await p.keyboard.type("Never mind.")
    await form.get_by_label("Name").focus()
    await p.keyboard.press("Escape")
    await expect(form).to_have_count(0)
    await expect(reply).to_be_focused()

    bottom = bottom_form(p)
    await bottom.get_by_label("Comment").fill("Still here.")
    await bottom.get_by_label("Comment").focus()
    await p.keyboard.press("Escape")
    await expect(bottom).to_be_visible()
    await expect(bottom.get_by_label("Comment")).to_have_value("Still here.")
    await expect(bottom.get_by_label("Comment")).to_be_focused()
    assert page.errors == []


# Resolves after two animation frames: by then an IntersectionObserver created before the call
# has delivered its first notification.
FRAMES = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
SPACER = f'<div style="height:{FAR_BELOW_PX}px">The article\'s long text.</div>'


class Traffic:
    """The snapshot requests and websockets a page has made."""

    def __init__(self, p: Page) -> None:
        self.snapshots: list[str] = []
        self.sockets: list[str] = []
        p.on("request", lambda r: self.snapshots.append(r.url) if is_snapshot(r) else None)
        p.on("websocket", lambda ws: self.sockets.append(ws.url))


async def started(p: Page) -> None:
    """The embed script has run: the widget's shadow root shows its loading heading."""
    await expect(p.locator("#lt-heading")).to_have_text("Loading comments…")
    await p.evaluate(FRAMES)


async def test_a_widget_far_below_the_fold_loads_only_when_scrolled_near(
    server: Running, page: Tab
) -> None:
    """6,700 px below the fold the widget neither asks for its thread nor opens a socket;
    scrolled to within 800 px of the viewport (still out of sight) it loads and goes live."""
    p = page.page
    traffic = Traffic(p)
    async with listed_page(server, demo.THREAD, before=SPACER) as url:
        await p.goto(url)
        await loads_only_when_near(p, traffic)
    assert page.errors == []


async def loads_only_when_near(p: Page, traffic: Traffic) -> None:
    await started(p)
    host = p.locator("#livethread")
    await expect(host).not_to_be_in_viewport()
    # Halfway down: still well over 800 px above the widget.
    await p.evaluate(f"window.scrollTo(0, {FAR_BELOW_PX // 2})")
    await p.evaluate(FRAMES)
    assert traffic.snapshots == []
    assert traffic.sockets == []

    near = f"""() => {{
      const top = document.getElementById("livethread").getBoundingClientRect().top + scrollY;
      scrollTo(0, top - innerHeight - {MARGIN_PX // 2});
    }}"""
    async with p.expect_websocket() as socket:
        await p.evaluate(near)
    assert "/ws/v1/threads?" in (await socket.value).url
    await expect(host).not_to_be_in_viewport()
    await expect(p.locator("#lt-heading")).to_have_text(f"{SEED_COUNT} Comments")
    assert len(traffic.snapshots) == 1


NO_OBSERVER = "delete window.IntersectionObserver;"


@pytest.mark.parametrize("why", ["permalink", "moderate", "no-observer"])
async def test_a_widget_far_below_the_fold_starts_at_once_when_it_must(
    server: Running, page: Tab, why: str
) -> None:
    """A `#comment-ID` link, data-moderate, or a browser without IntersectionObserver starts
    the widget at once, however far below the fold it sits."""
    p = page.page
    traffic = Traffic(p)
    extra = " data-moderate" if why == "moderate" else ""
    if why == "no-observer":
        await p.add_init_script(NO_OBSERVER)
    async with listed_page(server, demo.THREAD, before=SPACER, extra=extra) as url:
        await p.goto(f"{url}#comment-c5" if why == "permalink" else url)
        if why == "moderate":
            # The moderators' page starts by asking for the token (nothing to load without one).
            await expect(p.get_by_label("Moderator token")).to_be_attached()
            assert traffic.snapshots == []
        else:
            await expect(p.locator("#lt-heading")).to_have_text(f"{SEED_COUNT} Comments")
            assert len(traffic.snapshots) == 1
        if why == "permalink":
            target = p.locator('li[data-id="c5"]')
            await expect(target).to_have_class("lt-target")
            await expect(target).to_be_in_viewport()
    assert page.errors == []


def chromium_refused(message: str, status: int) -> bool:
    """Chromium's own console line for an answer with this error status."""
    return f"the server responded with a status of {status}" in message


PROXY_BODY = json.dumps({"error": "rate_limited", "message": "Slow down: one comment a minute."})
TOO_FAST = "You are commenting too fast. Please wait a moment and try again."
FAILED = "Your comment could not be sent. Check your connection and try again."


async def test_rate_limits_reach_the_reader_as_a_rate_limit_message(
    settings: Settings, page: Tab
) -> None:
    """A post answered 429 shows a rate-limit message, never the "check your connection" one:
    the server's own message, a proxy's JSON message, or, for a body that is not JSON, the
    widget's own."""
    limited = settings.replace(rate_limit=True, post_rate_address="1/60")
    async with serve(limited) as server:
        await open_demo(page, server.http)
        p = page.page
        form = bottom_form(p)
        alert = form.get_by_role("alert")
        assert (await submit(form, "My first comment.")).status == 201
        assert (await submit(form, "And another one, too soon.")).status == 429
        await expect(alert).to_have_text("Too many comments from your address; try again shortly")
        await expect(form.get_by_label("Comment")).to_have_value("And another one, too soon.")

        answers: list[dict[str, Any]] = [
            {"body": PROXY_BODY, "content_type": "application/json"},
            {
                "body": "<html><body>429 Too Many Requests</body></html>",
                "content_type": "text/html",
            },
        ]

        async def proxy(route: Route) -> None:
            headers = {"Access-Control-Allow-Origin": "*", "Retry-After": "60"}
            await route.fulfill(status=429, headers=headers, **answers.pop(0))

        await p.route("**/api/v1/comments", proxy)
        assert (await submit(form, "Through the proxy.")).status == 429
        await expect(alert).to_have_text("Slow down: one comment a minute.")
        assert (await submit(form, "Through the proxy, again.")).status == 429
        await expect(alert).to_have_text(TOO_FAST)
        await expect(form).not_to_contain_text(FAILED)
        # Checked while the server runs: once it stops, the page's socket fails, as it should.
        assert [e for e in page.errors if not chromium_refused(e, 429)] == []
