"""/admin in chromium, by keyboard: a site admin signs in, adds a moderator and sees the token
once, revokes it (it fails at once), saves rules, adds a site; axe finds nothing serious on its
pages."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Browser, expect

from server.settings import Settings
from server.tokens import token_hash
from tests.browser.test_accessibility import audited_tab, passes
from tests.browser.test_bans import tab_to
from tests.support.admin import admin_token, in_store
from tests.support.clients import WAIT, Tokens
from tests.support.server import Running


async def bans_answer(base: str, token: str) -> int:
    """The status of a moderator's call made with `token` (200 while it works, 401 once not)."""
    async with httpx.AsyncClient(base_url=base, timeout=WAIT) as http:
        answer = await http.get(
            "/api/v1/bans", params={"site": "news"}, headers={"Authorization": f"Bearer {token}"}
        )
        return answer.status_code


async def test_an_admin_runs_their_site_by_keyboard(
    server: Running, browser: Browser, settings: Settings, tokens: Tokens, artifacts: Path
) -> None:
    """Sign in with the admin token (Enter), add a moderator (the token is shown once and
    works), revoke it (it fails at once), save a banned word, add a site (its admin token shown
    once); axe passes on each page."""
    token = await admin_token(settings)
    async with audited_tab(browser) as tab:
        page = tab.page
        await page.goto(f"{server.http}/admin")
        await passes(page, "admin sign-in")
        field = page.get_by_label("Admin token")
        await tab_to(page, field)
        await page.keyboard.type(tokens.news)
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("alert")).to_contain_text("not a site admin")
        await tab_to(page, field)
        await page.keyboard.type(token)
        await page.keyboard.press("Enter")
        await expect(page.get_by_text("Signed in as")).to_be_visible()
        await passes(page, "admin page")

        await tab_to(page, page.get_by_label("Name", exact=True))
        await page.keyboard.type("Mia")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("status")).to_contain_text("Mia's token")
        shown = await page.get_by_label("Mia's token").input_value()
        assert await bans_answer(server.http, shown) == 200
        await passes(page, "admin page with a token shown")
        await page.screenshot(path=artifacts / "admin.png", full_page=True)

        revoke = page.get_by_role("button", name="Revoke the token of Mia")
        await tab_to(page, revoke)
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("status")).to_have_text("Revoked Mia's token.")
        assert await bans_answer(server.http, shown) == 401
        await expect(page.get_by_label("Mia's token")).to_have_count(0)

        await tab_to(page, page.get_by_label("Banned words (refused), one a line"))
        await page.keyboard.type("scam")
        save = page.get_by_role("button", name="Save rules")
        await tab_to(page, save)
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("status")).to_have_text("Rules saved.")
        rules = await in_store(settings, lambda store: store.rules.get("news"))
        assert rules is not None and rules.banned == ("scam",)

        await tab_to(page, page.get_by_label("Site name"))
        await page.keyboard.type("sport")
        await tab_to(page, page.get_by_label("Its origins, one a line"))
        await page.keyboard.type("https://sport.example")
        add_site = page.get_by_role("button", name="Add site")
        await tab_to(page, add_site)
        await page.keyboard.press("Enter")
        label = "Your admin token for the new site sport"
        await expect(page.get_by_role("status")).to_contain_text(label)
        sport = await page.get_by_label(label).input_value()
        found = await in_store(settings, lambda store: store.moderators.by_token(token_hash(sport)))
        assert found is not None and (found.site, found.role) == ("sport", "admin")
        await passes(page, "admin page after adding a site")
        # The refused moderator's token is answered 403, which chromium logs; nothing else.
        refused = f"status of 403 (Forbidden) ({{'url': '{server.http}/admin/sign-in'"
        assert [e for e in tab.errors if refused not in e] == []
