"""Browser fixtures: Debian's chromium driven by Playwright, a page that records its errors."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

# Playwright's own waits (navigation, locators, expect) give up after this many milliseconds.
DEFAULT_TIMEOUT_MS = 10_000
# Starting or stopping the Playwright driver and the browser.
LIFECYCLE_TIMEOUT = 30.0

# The machine has no network beyond loopback: chromium must not try to reach Google's services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Debian's launcher adds this only when it can measure /dev/shm; containers often have 64 MB.
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    """Debian's chromium; `make browser-deps` (run by `make test`) installs it."""
    found = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(found).is_file():
        pytest.fail(
            "chromium is not installed (no /usr/bin/chromium): run `make browser-deps`, "
            "or `make test`, which installs it",
            pytrace=False,
        )
    return found


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A headless chromium with a fresh temporary profile, closed after the test."""
    executable = chromium_path()
    manager = async_playwright()
    async with asyncio.timeout(LIFECYCLE_TIMEOUT):
        playwright = await manager.start()
    try:
        async with asyncio.timeout(LIFECYCLE_TIMEOUT):
            launched = await playwright.chromium.launch(
                executable_path=executable,
                headless=True,
                args=CHROMIUM_ARGS,
                timeout=LIFECYCLE_TIMEOUT * 1000,
            )
        try:
            yield launched
        finally:
            async with asyncio.timeout(LIFECYCLE_TIMEOUT):
                await launched.close()
    finally:
        async with asyncio.timeout(LIFECYCLE_TIMEOUT):
            await playwright.stop()


@dataclass
class Tab:
    """A page in its own context, and every console error and uncaught exception it has shown."""

    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)


def _favicon_miss(message: ConsoleMessage) -> bool:
    """Chromium asks every origin for /favicon.ico and logs the server's 404 as an error."""
    url = str(message.location.get("url", ""))
    return url.endswith("/favicon.ico") and message.text.startswith("Failed to load resource")


@asynccontextmanager
async def open_tab(browser: Browser, **options: Any) -> AsyncIterator[Tab]:
    """A new context (`options` as for `browser.new_context`) and page, closed on exit.

    `tab.errors` collects the page's console errors and uncaught exceptions.
    """
    options.setdefault("viewport", {"width": 1024, "height": 800})
    async with asyncio.timeout(LIFECYCLE_TIMEOUT):
        context = await browser.new_context(**options)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
        opened = Tab(context=context, page=await context.new_page())

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not _favicon_miss(message):
            opened.errors.append(f"console.error: {message.text} ({message.location})")

    def on_page_error(error: Exception) -> None:
        opened.errors.append(f"uncaught: {error}")

    opened.page.on("console", on_console)
    opened.page.on("pageerror", on_page_error)
    try:
        yield opened
    finally:
        async with asyncio.timeout(LIFECYCLE_TIMEOUT):
            await context.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Tab]:
    """A new context and page; `tab.errors` collects console errors and page errors."""
    async with open_tab(browser) as opened:
        yield opened


@pytest.fixture
def artifacts() -> Path:
    """test-artifacts/ at the repository root (git-ignored): screenshots and the like."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
