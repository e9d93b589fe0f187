"""Live comment counts on an index page (issue 17 item 5): `/counts.js` in chromium fills 50
count elements in one request and keeps them live over one socket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from playwright.async_api import Request, WebSocket, expect

from server.settings import Settings
from tests.browser.conftest import Tab
from tests.browser.demo_page import publisher_page, set_origins
from tests.support.clients import WAIT, Tokens, comment_json
from tests.support.server import Running

SITE = "news"
THREADS = [f"story-{n:02d}" for n in range(50)]

INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Front page</title>
<link rel="icon" href="data:,"></head>
<body><h1>Today</h1><ul>{items}</ul>
<script src="{livethread}/counts.js" data-site="{site}" async></script>
</body></html>"""
ITEM = '<li><a href="/{thread}">{thread}</a> <span data-livethread-count="{thread}">…</span></li>'


@asynccontextmanager
async def index_page(livethread: str) -> AsyncIterator[str]:
    """A publisher's front page listing `THREADS` with a count each, on another loopback
    origin (chromium keeps a page the test fulfils itself off loopback sockets)."""
    items = "".join(ITEM.format(thread=thread) for thread in THREADS)
    async with publisher_page(INDEX.format(items=items, livethread=livethread, site=SITE)) as url:
        yield url


async def post(http: httpx.AsyncClient, thread: str) -> str:
    answer = await http.post("/api/v1/comments", json=comment_json(thread=thread))
    assert answer.status_code == 201, answer.text
    comment_id = answer.json()["comment"]["id"]
    assert isinstance(comment_id, str)
    return comment_id


async def test_an_index_page_with_50_counts_fills_them_and_follows_changes_live(
    settings: Settings, tokens: Tokens, server: Running, page: Tab, artifacts: Path
) -> None:
    """All 50 counts are filled by one request; posts to 3 threads and a removal on a fourth
    change those elements live, without a reload, over one socket; the others stay as they
    were."""
    p = page.page
    counts = p.locator("[data-livethread-count]")
    expected = dict.fromkeys(THREADS, 0)
    requests: list[str] = []
    sockets: list[WebSocket] = []

    def on_request(request: Request) -> None:
        if "/api/v1/counts" in request.url:
            requests.append(request.url)

    def on_socket(socket: WebSocket) -> None:
        sockets.append(socket)

    p.on("request", on_request)
    p.on("websocket", on_socket)
    async with (
        httpx.AsyncClient(base_url=server.http, timeout=WAIT) as http,
        index_page(server.http) as url,
    ):
        await set_origins(settings, SITE, url.rstrip("/"))
        doomed = await post(http, THREADS[0])
        await post(http, THREADS[0])
        expected[THREADS[0]] = 2
        async with p.expect_websocket() as opened:
            await p.goto(url)
        socket = await opened.value
        await socket.wait_for_event("framereceived")
        await expect(counts).to_have_text([str(n) for n in expected.values()])
        await p.evaluate("window.__sameLoad = true")

        for thread in (THREADS[3], THREADS[21], THREADS[49]):
            await post(http, thread)
            expected[thread] = 1
        answer = await http.post(
            f"/api/v1/comments/{doomed}/moderation",
            json={"action": "remove"},
            headers={"Authorization": f"Bearer {tokens.news}"},
        )
        assert answer.status_code == 200, answer.text
        expected[THREADS[0]] = 1
        await expect(counts).to_have_text([str(n) for n in expected.values()])
        await p.screenshot(path=artifacts / "counts-index.png")
        assert await p.evaluate("window.__sameLoad") is True
    assert len(requests) == 1 and len(sockets) == 1, (requests, [s.url for s in sockets])
    assert "/ws/v1/counts?site=news&thread=story-00&thread=story-01" in sockets[0].url
    assert page.errors == []
