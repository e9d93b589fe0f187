"""The browser harness works: chromium opens the real server's demo article."""

from __future__ import annotations

from pathlib import Path

from server.demo import TITLE
from tests.browser.conftest import Tab
from tests.support.server import Running


async def test_demo_article_opens_in_chromium(server: Running, page: Tab, artifacts: Path) -> None:
    """GET / renders the demo article in chromium, with no console errors; screenshot saved."""
    response = await page.page.goto(f"{server.http}/")
    assert response is not None and response.ok, response
    assert "NATO" in await page.page.title()
    assert TITLE in await page.page.title()
    await page.page.screenshot(path=artifacts / "smoke.png", full_page=True)
    assert page.errors == []
