"""Single sign-on in the widget (issue 16): the publisher's page passes its reader's token in
`data-account-token`; the reader posts under their account, edits from another device, and
an expired or removed token leaves them anonymous. Real server, real HS256 tokens, chromium."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import jwt
from playwright.async_api import Browser, Locator, Page, Request, Route, expect

from server.accounts.ports import Policy, SignIn
from server.settings import Settings
from server.web.app import store_for
from tests.browser.conftest import Tab, open_tab
from tests.browser.demo_page import action, article_page, is_post, posted_id, set_origins
from tests.support.clients import WAIT, Tokens
from tests.support.server import Running, serve

SITE, THREAD = "news", "article-1"
SECRET = "s" * 40
AVATAR = "https://news.example/avatars/42.png"
# A 1x1 PNG, the avatar as `avatars_answered` serves it.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
SIGNED_IN = "Signed in as Ann Reader"
EXPIRED = "Your sign-in has expired: please sign in again."


def token(**changes: Any) -> str:
    """A token the publisher's backend would sign for its reader Ann, with `changes`."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "reader-42",
        "name": "Ann Reader",
        "email": "ann@example.com",
        "picture": AVATAR,
        "aud": SITE,
        "iat": now,
        "exp": now + 600,
    }
    claims.update(changes)
    return jwt.encode(claims, SECRET, algorithm="HS256")


@asynccontextmanager
async def signing_in(settings: Settings, policy: Policy = "both") -> AsyncIterator[Running]:
    """The server, with HS256 sign-in set for site "news" before it starts."""
    store = store_for(settings)
    await store.open()
    try:
        await store.sign_ins.put(SignIn(site=SITE, audience=SITE, secret=SECRET, policy=policy))
    finally:
        await store.close()
    async with serve(settings) as running:
        yield running


async def pages(stack: AsyncExitStack, server: Running, *tokens: str | None) -> list[str]:
    """One publisher page per token (None: no token), each on its own origin, all listed."""
    urls = []
    for value in tokens:
        extra = "" if value is None else f' data-account-token="{value}"'
        urls.append(
            await stack.enter_async_context(article_page(server.http, SITE, THREAD, extra=extra))
        )
    await set_origins(server.settings, SITE, *(url.rstrip("/") for url in urls))
    return urls


async def avatars_answered(tab: Tab) -> None:
    """The avatar host is not reachable from the test machine: the test answers for it."""

    async def avatar(route: Route) -> None:
        await route.fulfill(status=200, content_type="image/png", body=PIXEL)

    await tab.context.route("https://news.example/**", avatar)


async def open_article(tab: Tab, url: str, count: int) -> Page:
    """Open the page (avatars answered) and wait for the thread with `count` comments."""
    await avatars_answered(tab)
    await tab.page.goto(url)
    noun = "Comment" if count == 1 else "Comments"
    await expect(tab.page.locator("#lt-heading")).to_have_text(f"{count} {noun}")
    return tab.page


def form(page: Page) -> Locator:
    return page.get_by_role("form", name="Leave a reply", exact=True)


async def test_a_signed_in_reader_posts_and_edits_from_another_device(
    settings: Settings, tokens: Tokens, browser: Browser
) -> None:
    """With a token the reader posts with no name field shown and the comment carries their
    account's name and avatar; another device (a fresh token) edits it and the first page sees
    the edit live; an anonymous reader gets no edit controls on it."""
    async with (
        signing_in(settings) as server,
        AsyncExitStack() as stack,
        open_tab(browser) as first,
        open_tab(browser) as second,
        open_tab(browser) as anonymous,
    ):
        signed = token()
        urls = await pages(stack, server, signed, token(iat=int(time.time()) + 1), None)
        a = await open_article(first, urls[0], 0)
        await expect(form(a).get_by_text(SIGNED_IN)).to_be_visible()
        await expect(form(a).get_by_label("Name")).to_be_hidden()
        await expect(form(a).get_by_label("Email (optional, never shown)")).to_be_hidden()
        await form(a).get_by_label("Comment").fill("Posted as *my* account.")
        async with a.expect_response(is_post) as answer:
            await form(a).get_by_role("button", name="Post Comment").click()
        response = await answer.value
        sent: Request = response.request
        assert sent.headers["x-account-token"] == signed
        body = sent.post_data_json
        assert isinstance(body, dict) and "name" not in body["author"], body
        comment_id = await posted_id(response)
        mine = a.locator(f'li[data-id="{comment_id}"] > article')
        await expect(mine.locator(".lt-author")).to_have_text("Ann Reader")
        avatar = mine.locator("img.lt-avatar")
        await expect(avatar).to_have_attribute("src", AVATAR)
        for name, value in (("alt", ""), ("loading", "lazy"), ("referrerpolicy", "no-referrer")):
            await expect(avatar).to_have_attribute(name, value)
        await expect(action(a, comment_id, "edit")).to_be_visible()

        b = await open_article(second, urls[1], 1)
        await expect(action(b, comment_id, "delete")).to_be_visible()
        await action(b, comment_id, "edit").click()
        editor = b.locator(f'li[data-id="{comment_id}"] > article textarea')
        # The text as written (the server's source: Markdown kept), not as shown.
        await expect(editor).to_have_value("Posted as *my* account.")
        await editor.fill("Edited on my phone.")
        async with b.expect_response(lambda r: r.request.method == "PATCH") as edited:
            await b.get_by_role("button", name="Save").click()
        assert (await edited.value).status == 200
        assert "x-edit-token" not in (await edited.value).request.headers
        await expect(mine.locator(".lt-body")).to_have_text("Edited on my phone.")

        c = await open_article(anonymous, urls[2], 1)
        await expect(c.locator(f'li[data-id="{comment_id}"] .lt-body')).to_have_text(
            "Edited on my phone."
        )
        await expect(action(c, comment_id, "reply")).to_be_visible()
        await expect(action(c, comment_id, "edit")).to_have_count(0)
        await expect(action(c, comment_id, "delete")).to_have_count(0)
        await expect(form(c).get_by_label("Name")).to_be_visible()
        async with open_tab(browser) as moderator:
            await avatars_answered(moderator)
            m = moderator.page
            await m.goto(f"{server.http}/moderate?site={SITE}&thread={THREAD}")
            await m.get_by_label("Moderator token").fill(tokens.news)
            await m.get_by_role("button", name="Moderate").click()
            # Our own page's CSP lets the avatar in: it loads (a blocked one stays empty).
            shown = m.locator(f'li[data-id="{comment_id}"] > article img.lt-avatar')
            await m.wait_for_function(
                "img => img.complete && img.naturalWidth > 0", arg=await shown.element_handle()
            )
            assert moderator.errors == []
        for tab in (first, second, anonymous):
            assert tab.errors == []


async def test_an_expired_token_is_told_once_and_the_reader_is_anonymous(
    settings: Settings, tokens: Tokens, page: Tab
) -> None:
    """An expired token: the widget says so and shows the anonymous form; the page putting a
    fresh token in signs the reader in without a reload, and taking it out signs them out."""
    async with signing_in(settings) as server, AsyncExitStack() as stack:
        (url,) = await pages(stack, server, token(exp=int(time.time()) - 120))
        p = await open_article(page, url, 0)
        note = p.locator(".lt-note")
        await expect(note).to_have_text(EXPIRED)
        await expect(form(p).get_by_label("Name")).to_be_visible()
        await expect(form(p).get_by_text(SIGNED_IN)).to_be_hidden()

        host = p.locator("#livethread")
        async with p.expect_response(lambda r: "/api/v1/account?" in r.url) as asked:
            await host.evaluate("(el, t) => el.setAttribute('data-account-token', t)", token())
        assert (await asked.value).status == 200
        await expect(form(p).get_by_text(SIGNED_IN)).to_be_visible()
        await expect(form(p).get_by_label("Name")).to_be_hidden()
        await expect(note).to_be_hidden()

        await host.evaluate("el => el.removeAttribute('data-account-token')")
        await expect(form(p).get_by_label("Name")).to_be_visible()
        await expect(form(p).get_by_text(SIGNED_IN)).to_be_hidden()

        # Expired again, then taken out by the page: signed out, the notice goes too.
        stale = token(exp=int(time.time()) - 120)
        await host.evaluate("(el, t) => el.setAttribute('data-account-token', t)", stale)
        await expect(note).to_have_text(EXPIRED)
        await host.evaluate("el => el.removeAttribute('data-account-token')")
        await expect(note).to_be_hidden()
        # Chromium logs the refused account call (401) as a failed resource load.
        assert [e for e in page.errors if "status of 401" not in e] == []


async def test_on_a_site_for_accounts_only_an_anonymous_post_gives_way_to_a_note(
    settings: Settings, tokens: Tokens, page: Tab
) -> None:
    """With the policy "accounts", an anonymous reader's post is refused and the form is
    replaced by "Sign in to comment."; nothing is posted."""
    async with signing_in(settings, policy="accounts") as server, AsyncExitStack() as stack:
        (url,) = await pages(stack, server, None)
        p = await open_article(page, url, 0)
        await form(p).get_by_label("Comment").fill("Anonymous here.")
        await form(p).get_by_label("Name").fill("Bo")
        async with p.expect_response(is_post) as answer:
            await form(p).get_by_role("button", name="Post Comment").click()
        assert (await answer.value).status == 401
        await expect(p.locator(".lt-note")).to_have_text("Sign in to comment.")
        await expect(form(p)).to_be_hidden()
        await expect(p.locator("#lt-heading")).to_have_text("0 Comments")
        # Closed by a moderator: "Locked" says it all, no invitation to sign in.
        async with httpx.AsyncClient(base_url=server.http, timeout=WAIT) as http:
            locked = await http.post(
                "/api/v1/threads/moderation",
                json={"site": SITE, "thread": THREAD, "action": "lock"},
                headers={"Authorization": f"Bearer {tokens.news}"},
            )
        assert locked.status_code == 200, locked.text
        await expect(p.locator(".lt-closed")).to_be_visible()
        await expect(p.locator(".lt-note")).to_be_hidden()
        assert [e for e in page.errors if "status of 401" not in e] == []
