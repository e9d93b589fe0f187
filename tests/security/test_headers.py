"""`X-Content-Type-Options: nosniff` (issue 13 item 9) over real HTTP: on every JSON answer
(success and refusal), on every static file and on the widget script, so no browser reads a
comment's text in them as HTML or script."""

from __future__ import annotations

import httpx
import pytest

from tests.support.clients import Tokens, comment_json


def _nosniff(answer: httpx.Response) -> None:
    assert answer.headers.get("X-Content-Type-Options") == "nosniff", (
        answer.request.url,
        answer.status_code,
        dict(answer.headers),
    )


async def test_every_json_answer_says_nosniff(http: httpx.AsyncClient, tokens: Tokens) -> None:
    """Snapshot, counts, a post (201), a refused post (422, 400, 404), a moderation without a
    token (401), /healthz and /readyz all answer JSON with nosniff."""
    posted = await http.post("/api/v1/comments", json=comment_json())
    assert posted.status_code == 201
    comment_id = posted.json()["comment"]["id"]
    answers = [
        posted,
        await http.get("/api/v1/threads", params={"site": "news", "thread": "article-1"}),
        await http.get(
            "/api/v1/threads",
            params={"site": "news", "thread": "article-1"},
            headers={"Accept-Encoding": "gzip"},
        ),
        await http.get("/api/v1/counts", params={"site": "news", "thread": "article-1"}),
        await http.post("/api/v1/comments", json={**comment_json(), "body": ""}),
        await http.post("/api/v1/comments", content=b"{not json"),
        await http.post("/api/v1/comments", json={**comment_json(), "site": "nowhere"}),
        await http.post(f"/api/v1/comments/{comment_id}/moderation", json={"action": "pin"}),
        await http.post(
            f"/api/v1/comments/{comment_id}/moderation",
            json={"action": "pin"},
            headers={"Authorization": f"Bearer {tokens.news}"},
        ),
        await http.get("/healthz"),
        await http.get("/readyz"),
    ]
    assert [a.status_code for a in answers[:8]] == [201, 200, 200, 200, 422, 400, 404, 401]
    for answer in answers:
        assert answer.headers["content-type"].startswith("application/json")
        _nosniff(answer)


@pytest.mark.parametrize("path", ["/static/demo.css", "/static/embed.js"])
async def test_static_files_say_nosniff(http: httpx.AsyncClient, path: str) -> None:
    """Each static file, and its 304 to a conditional request, carries nosniff."""
    first = await http.get(path)
    assert first.status_code == 200
    _nosniff(first)
    again = await http.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    _nosniff(again)


async def test_the_widget_script_says_nosniff(http: httpx.AsyncClient) -> None:
    """The widget script publishers embed carries nosniff (server/web/script.py)."""
    answer = await http.get("/embed.js")
    assert answer.status_code == 200
    _nosniff(answer)
