"""Cross-site websocket hijacking and CSRF: a page on a foreign origin can neither open a reader
socket nor write, even when the request carries a valid token; non-browser callers (no Origin),
the site's listed origins and the server's own origin can."""

from __future__ import annotations

import asyncio
from typing import cast

import httpx
import pytest
from starlette.applications import Starlette
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from server import events
from server.hub import Hub
from tests.support.clients import (
    WAIT,
    Reader,
    Tokens,
    comment_json,
    decode_json,
    reader,
)
from tests.support.server import Running

SITE, THREAD = "news", "article-1"
LISTED = "https://news.example"
FOREIGN = (
    "https://evil.example",
    "http://news.example",  # the listed host, but another scheme
    "https://news.example.evil.example",
    "https://news.example:8443",
    "null",  # sandboxed iframes, data: and file: pages
    "http://[",  # malformed: was a 500 (urlsplit raised), now refused like any other
)


def hub_of(server: Running) -> Hub:
    hub = cast(Starlette, server.app).state.hub
    assert isinstance(hub, Hub)
    return hub


def as_origin(value: str | None) -> Origin | None:
    return None if value is None else Origin(value)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def post(http: httpx.AsyncClient, body: str, **headers: str) -> dict[str, object]:
    answer = await http.post("/api/v1/comments", json=comment_json(body=body), headers=headers)
    assert answer.status_code == 201, answer.text
    return decode_json(answer.content)


def comment_of(answer: dict[str, object]) -> tuple[str, str]:
    """(id, edit token) of a post's answer."""
    comment = answer["comment"]
    assert isinstance(comment, dict)
    return str(comment["id"]), str(answer["edit_token"])


async def seq(http: httpx.AsyncClient) -> int:
    answer = await http.get("/api/v1/threads", params={"site": SITE, "thread": THREAD})
    value = decode_json(answer.content)["seq"]
    assert isinstance(value, int)
    return value


async def next_is_sentinel(http: httpx.AsyncClient, r: Reader, expected_seq: int) -> None:
    """Nothing was broadcast before now: a fresh post is the reader's very next event."""
    cid, _ = comment_of(await post(http, "sentinel"))
    (event,) = await r.events(1)
    assert isinstance(event, events.CommentCreated)
    assert (event.seq, event.comment.id) == (expected_seq, cid)


def assert_refused(answer: httpx.Response) -> None:
    assert answer.status_code == 403, answer.text
    assert decode_json(answer.content)["error"] == "origin_refused"


async def test_foreign_origin_socket_is_refused_in_the_handshake(server: Running) -> None:
    """A websocket handshake from a foreign (or null, or malformed) Origin is HTTP 403."""
    hub = hub_of(server)
    for origin in FOREIGN:
        with pytest.raises(InvalidStatus) as refused:
            await connect(server.ws(SITE, THREAD), origin=as_origin(origin), open_timeout=WAIT)
        assert refused.value.response.status_code == 403, origin
    # The news page's origin may not read another site's threads either.
    with pytest.raises(InvalidStatus) as other:
        await connect(server.ws("other", THREAD), origin=Origin(LISTED), open_timeout=WAIT)
    assert other.value.response.status_code == 403
    assert hub.readers(SITE, THREAD) == 0
    assert hub.rooms() == 0


async def test_listed_own_and_absent_origins_may_open_sockets(server: Running) -> None:
    """The site's listed origin, the server's own origin and no Origin at all get a socket."""
    own = f"http://127.0.0.1:{server.port}"
    for origin in (LISTED, LISTED.upper() + "/", own, None):
        async with connect(
            server.ws(SITE, THREAD), origin=as_origin(origin), open_timeout=WAIT
        ) as ws:
            hello = events.decode_frame(await asyncio.wait_for(ws.recv(), WAIT))
            assert isinstance(hello, events.Hello), origin
    # The server's own origin serves the demo and /moderate for every site.
    async with connect(server.ws("other", THREAD), origin=Origin(own), open_timeout=WAIT) as ws:
        assert isinstance(
            events.decode_frame(await asyncio.wait_for(ws.recv(), WAIT)), events.Hello
        )


async def test_foreign_origin_post_is_refused_and_changes_nothing(
    server: Running, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    """A post from a foreign Origin is 403 origin_refused, token or not; nothing stored or sent."""
    async with reader(server.ws(SITE, THREAD)) as r:
        for origin in FOREIGN:
            for headers in ({}, bearer(tokens.news)):
                answer = await http.post(
                    "/api/v1/comments",
                    json=comment_json(body="forged"),
                    headers={"Origin": origin, **headers},
                )
                assert_refused(answer)
        # A listed origin of one site does not open another site.
        other = comment_json(body="forged")
        other["site"] = "other"
        assert_refused(await http.post("/api/v1/comments", json=other, headers={"Origin": LISTED}))
        assert await seq(http) == 0
        await next_is_sentinel(http, r, 1)
        # The listed origin and no Origin both post.
        await post(http, "from the page", Origin=LISTED)
        await post(http, "from a script")
        assert [e.seq for e in await r.events(2)] == [2, 3]


async def test_foreign_origin_edit_and_delete_are_refused_even_with_the_edit_token(
    server: Running, http: httpx.AsyncClient
) -> None:
    """PATCH and DELETE from a foreign Origin are 403 even with the right edit token."""
    cid, token = comment_of(await post(http, "mine"))
    url = f"/api/v1/comments/{cid}"
    async with reader(server.ws(SITE, THREAD)) as r:
        for origin in FOREIGN:
            headers = {"Origin": origin, "X-Edit-Token": token}
            assert_refused(await http.patch(url, json={"body": "hijacked"}, headers=headers))
            assert_refused(await http.delete(url, headers=headers))
        assert await seq(http) == 1
        await next_is_sentinel(http, r, 2)
        # Without Origin (and from the listed origin) the author still edits and deletes.
        edited = await http.patch(
            url, json={"body": "mine, fixed"}, headers={"X-Edit-Token": token}
        )
        assert edited.status_code == 200, edited.text
        deleted = await http.delete(url, headers={"X-Edit-Token": token, "Origin": LISTED})
        assert deleted.status_code == 200, deleted.text
        edit, gone = await r.events(2)
        assert isinstance(edit, events.CommentEdited)
        assert gone == events.CommentRemoved(seq=4, id=cid)


async def test_foreign_origin_moderation_is_refused_even_with_a_moderator_token(
    server: Running, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    """Comment and thread moderation from a foreign Origin are 403 with a valid moderator token."""
    cid, _ = comment_of(await post(http, "target"))
    moderate = f"/api/v1/comments/{cid}/moderation"
    lock = {"site": SITE, "thread": THREAD, "action": "lock"}
    async with reader(server.ws(SITE, THREAD)) as r:
        for origin in FOREIGN:
            headers = {"Origin": origin, **bearer(tokens.news)}
            for action in ("remove", "pin"):
                answer = await http.post(moderate, json={"action": action}, headers=headers)
                assert_refused(answer)
            assert_refused(await http.delete(f"/api/v1/comments/{cid}", headers=headers))
            answer = await http.post("/api/v1/threads/moderation", json=lock, headers=headers)
            assert_refused(answer)
        view = decode_json(
            (await http.get("/api/v1/threads", params={"site": SITE, "thread": THREAD})).content
        )
        assert (view["seq"], view["count"], view["locked"]) == (1, 1, False)
        await next_is_sentinel(http, r, 2)
        # Without Origin the same token works.
        pinned = await http.post(moderate, json={"action": "pin"}, headers=bearer(tokens.news))
        assert pinned.status_code == 200, pinned.text
        locked = await http.post(
            "/api/v1/threads/moderation", json=lock, headers=bearer(tokens.news)
        )
        assert locked.status_code == 200, locked.text
        pin, closed = await r.events(2)
        assert isinstance(pin, events.CommentEdited) and pin.comment.id == cid
        assert closed == events.ThreadLocked(seq=4)
