"""A page on an origin the site does not list: the widget says once, plainly, that comments are
not set up for this address and stops (no socket, no retries), and the server logs the refused
origin and site once, however often the page asks."""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack

import pytest
from playwright.async_api import Page, expect

from server.settings import Settings
from tests.browser.conftest import Tab
from tests.browser.demo_page import article_page, set_origins
from tests.support.clients import Tokens
from tests.support.server import Running, serve

SITE, THREAD = "news", "article-1"
NOT_HERE = {
    "en": "Comments are not set up for this address.",
    "de": "Kommentare sind für diese Adresse nicht eingerichtet.",
}
# Time the page's fake clock is moved on after the refusal: far past every reconnect delay.
LATER_MS = 120_000
# Most turns of "move the clock on, wait for the next socket attempt" before the widget must
# have re-checked and stopped (it re-checks every third failed attempt).
TURNS = 12

# Counts the sockets the page creates, in the page itself (where no event can be missed).
COUNT_SOCKETS = """
window.__sockets = 0;
const Native = window.WebSocket;
window.WebSocket = class extends Native {
  constructor(...args) {
    super(...args);
    window.__sockets += 1;
  }
};
"""

NEXT_ATTEMPT_OR_REFUSAL = """(n) => window.__sockets > n
  || !!document.getElementById("livethread").shadowRoot.querySelector(".lt-refused")"""


async def sockets(p: Page) -> int:
    count: int = await p.evaluate("() => window.__sockets")
    return count


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "server.web.guard" and r.levelno == logging.WARNING
    ]


def logged_refusal(origin: str) -> str:
    return (
        f"origin {origin!r} refused for site {SITE!r} "
        f"(not in its origins; livethread site set {SITE} --add-origin {origin})"
    )


def expected_noise(error: str) -> bool:
    """Chromium's console lines for answers the test provokes: the refused snapshot (403), and
    while the server is down, failed sockets and the failed re-check."""
    return (
        "the server responded with a status of 403" in error
        or "ERR_CONNECTION_REFUSED" in error
        or (error.startswith("console.error: WebSocket connection to") and "failed" in error)
    )


@pytest.mark.parametrize("lang", ["en", "de"])
async def test_an_unlisted_origin_is_told_once_and_the_widget_stops(
    server: Running, page: Tab, caplog: pytest.LogCaptureFixture, lang: str
) -> None:
    """On an origin the site does not list, the widget shows one plain message in place of the
    thread, never "Reconnecting…", and opens no socket even long after; three page loads leave
    one log line naming the origin and the site."""
    p = page.page
    await p.clock.install()
    await p.add_init_script(COUNT_SOCKETS)
    notice = p.locator(".lt-refused")
    with caplog.at_level(logging.WARNING, logger="server.web.guard"):
        async with article_page(server.http, SITE, THREAD, extra=f' data-lang="{lang}"') as url:
            for _ in range(3):
                await p.goto(url)
                await expect(notice).to_have_text(NOT_HERE[lang])
                await expect(notice).to_be_visible()
            await p.clock.run_for(LATER_MS)
            await expect(notice).to_have_text(NOT_HERE[lang])
            assert await sockets(p) == 0
            await expect(p.locator("#lt-heading, .lt-status, form")).to_have_count(0)
            await expect(p.get_by_text("Reconnecting")).to_have_count(0)
            await expect(p.get_by_text("Verbindung wird")).to_have_count(0)
    assert refusals(caplog) == [logged_refusal(url.rstrip("/"))]
    assert page.errors and all(expected_noise(e) for e in page.errors), page.errors


async def test_an_origin_removed_while_the_page_is_open_stops_the_widget(
    settings: Settings, tokens: Tokens, page: Tab, caplog: pytest.LogCaptureFixture
) -> None:
    """When the page's origin is taken off the site while the page is open, the widget, whose
    socket now fails without a reason it can see, re-checks with a snapshot request, shows the
    message, and makes no further socket attempts."""
    p = page.page
    await p.clock.install()
    await p.add_init_script(COUNT_SOCKETS)
    notice = p.locator(".lt-refused")
    async with AsyncExitStack() as stack:
        first = AsyncExitStack()
        stack.push_async_callback(first.aclose)
        running = await first.enter_async_context(serve(settings))
        url = await stack.enter_async_context(article_page(running.http, SITE, THREAD))
        origin = url.rstrip("/")
        await set_origins(settings, SITE, origin)
        await p.goto(url)
        await expect(p.locator("#lt-heading")).to_have_text("0 Comments")
        await p.wait_for_function("() => window.__sockets === 1")
        await expect(p.locator(".lt-status")).to_have_text("")

        await first.aclose()
        await expect(p.locator(".lt-status")).to_have_text("Reconnecting…")
        await set_origins(settings, SITE)
        with caplog.at_level(logging.WARNING, logger="server.web.guard"):
            await stack.enter_async_context(serve(settings, port=running.port))
            for _ in range(TURNS):
                if await notice.count():
                    break
                before = await sockets(p)
                # The next reconnect, now; then wait for it (or for the refusal it led to).
                await p.clock.fast_forward(30_000)
                await p.wait_for_function(NEXT_ATTEMPT_OR_REFUSAL, arg=before)
            await expect(notice).to_have_text(NOT_HERE["en"])
            attempts = await sockets(p)
            await p.clock.run_for(LATER_MS)
            await expect(notice).to_be_visible()
            assert await sockets(p) == attempts
            await expect(p.get_by_text("Reconnecting")).to_have_count(0)
    assert refusals(caplog) == [logged_refusal(origin)]
    assert all(expected_noise(e) for e in page.errors), page.errors
