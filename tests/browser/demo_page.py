"""The demo article as the widget shows it, and the HTTP calls browser tests make on the side."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from playwright.async_api import Locator, Page, Response, expect
from starlette.types import Receive, Scope, Send

from server import demo
from server.model import Site
from server.settings import Settings
from server.web.app import store_for
from tests.browser.conftest import Tab
from tests.support.local_http import served

# The seed's visible comments: the heading's count when nothing has been posted.
SEED_COUNT = 24
HTTP_TIMEOUT = 10.0
# Longest wait for the widget to load its snapshot and draw the thread.
LOAD_TIMEOUT_MS = 10_000


def item(page: Page, comment_id: str) -> Locator:
    """A comment's `li` in the widget (the no-JS fallback's items have no data-id)."""
    return page.locator(f'li[data-id="{comment_id}"]')


def reply_under(page: Page, parent: str, comment_id: str) -> Locator:
    """A comment's `li` directly in the reply list of `parent`'s `li`."""
    return page.locator(f'li[data-id="{parent}"] > ol > li[data-id="{comment_id}"]')


def action(page: Page, comment_id: str, name: str) -> Locator:
    """One of a comment's own action buttons (reply, edit, delete, remove, …), not its replies'."""
    return page.locator(f'li[data-id="{comment_id}"] > article .lt-{name}')


def bottom_form(page: Page) -> Locator:
    """The form under the thread for a new top-level comment."""
    return page.get_by_role("form", name="Leave a reply", exact=True)


async def open_demo(tab: Tab, base: str, count: int = SEED_COUNT) -> None:
    """Open the demo article and wait until the widget shows the thread with `count` comments."""
    response = await tab.page.goto(f"{base}/")
    assert response is not None and response.ok, response
    # The widget starts only when it nears the viewport (on a narrow screen, far down the page).
    await tab.page.locator("#livethread").scroll_into_view_if_needed()
    heading = tab.page.locator("#lt-heading")
    await expect(heading).to_have_text(f"{count} Comments", timeout=LOAD_TIMEOUT_MS)


def is_post(response: Response) -> bool:
    return response.request.method == "POST" and response.url.endswith("/api/v1/comments")


async def submit(form: Locator, body: str, name: str = "Ann") -> Response:
    """Fill in a comment form (text and name) and send it; the answer to its POST."""
    await form.get_by_label("Comment").fill(body)
    await form.get_by_label("Name").fill(name)
    async with form.page.expect_response(is_post) as answer:
        await form.get_by_role("button", name="Post Comment").click()
    return await answer.value


async def posted_id(response: Response) -> str:
    """The id of the comment a `POST /api/v1/comments` answer created."""
    assert response.status == 201, await response.text()
    answer: dict[str, Any] = await response.json()
    comment_id = answer["comment"]["id"]
    assert isinstance(comment_id, str)
    return comment_id


async def moderator_token(settings: Settings) -> str:
    """A token for the demo's moderator, made on a store opened on the server's database."""
    store = store_for(settings)
    await store.open()
    try:
        return await demo.issue_moderator_token(store)
    finally:
        await store.close()


async def snapshot(base: str) -> dict[str, Any]:
    """The demo thread's snapshot, as any reader's HTTP client sees it."""
    async with httpx.AsyncClient(base_url=base, timeout=HTTP_TIMEOUT) as http:
        answer = await http.get(
            "/api/v1/threads", params={"site": demo.SITE, "thread": demo.THREAD}
        )
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()
    return data


async def post(base: str, body: str, name: str = "Visitor", parent: str | None = None) -> str:
    """Post a comment to the demo thread through the HTTP API; returns its id."""
    data: dict[str, object] = {
        "site": demo.SITE,
        "thread": demo.THREAD,
        "author": {"name": name},
        "body": body,
    }
    if parent is not None:
        data["parent"] = parent
    async with httpx.AsyncClient(base_url=base, timeout=HTTP_TIMEOUT) as http:
        answer = await http.post("/api/v1/comments", json=data)
    assert answer.status_code == 201, answer.text
    comment_id = answer.json()["comment"]["id"]
    assert isinstance(comment_id, str)
    return comment_id


async def lock(base: str, token: str) -> None:
    """Close the demo thread for comments, as its moderator."""
    async with httpx.AsyncClient(base_url=base, timeout=HTTP_TIMEOUT) as http:
        answer = await http.post(
            "/api/v1/threads/moderation",
            json={"site": demo.SITE, "thread": demo.THREAD, "action": "lock"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["locked"] is True


ARTICLE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>An article</title>
<link rel="icon" href="data:,"></head>
<body><h1>An article</h1>{before}
<div id="livethread" data-site="{site}" data-thread="{thread}"{extra}></div>
<script src="{livethread}/embed.js" async></script>
</body></html>"""


@asynccontextmanager
async def article_page(
    livethread: str, site: str, thread: str, *, before: str = "", extra: str = ""
) -> AsyncIterator[str]:
    """A publisher's page embedding `site`/`thread` (after the HTML `before`; `extra` goes into
    the widget's tag), served on another loopback origin; yields its URL. Pages the test fulfils
    itself will not do: chromium treats them as public and keeps their sockets off loopback."""
    html = ARTICLE.format(
        before=before, site=site, thread=thread, extra=extra, livethread=livethread
    )
    async with publisher_page(html) as url:
        yield url


@asynccontextmanager
async def publisher_page(html: str) -> AsyncIterator[str]:
    """`html` as a publisher's page at `/` (404 for anything else) on another loopback origin;
    yields its URL."""
    body = html.encode()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        found = scope["path"] == "/"
        headers = [(b"content-type", b"text/html; charset=utf-8")] if found else []
        await send(
            {"type": "http.response.start", "status": 200 if found else 404, "headers": headers}
        )
        await send({"type": "http.response.body", "body": body if found else b""})

    async with served(app) as url:
        yield f"{url}/"


async def set_origins(settings: Settings, site: str, *origins: str) -> None:
    """Make `origins` the ones `site` lists (post-moderation off)."""
    store = store_for(settings)
    await store.open()
    try:
        await store.sites.put(Site(name=site, origins=origins))
    finally:
        await store.close()
