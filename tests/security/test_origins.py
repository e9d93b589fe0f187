"""Cross-site websocket hijacking and CSRF: a page on a foreign origin can neither open a reader
socket nor write, even when the request carries a valid token, and is told so when it reads the
thread; non-browser callers (no Origin), the site's listed origins and the server's own origin
(default ports written or not) can. Refusals are logged, boundedly."""

from __future__ import annotations

import asyncio
import logging
from typing import cast

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import HTTPConnection
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from server import events
from server.model import Site, ThreadKey
from server.settings import Settings
from server.threads.hub import Hub
from server.web.guard import Guard, OriginRefused, RefusalLog
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
    assert hub.readers(ThreadKey(SITE, THREAD)) == 0
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


async def test_foreign_origin_snapshot_is_refused_with_a_readable_answer(
    server: Running, http: httpx.AsyncClient
) -> None:
    """GET /api/v1/threads from a foreign Origin is 403 origin_refused, with the CORS header that
    lets the page's widget read why; listed, own and absent origins read the thread."""
    params = {"site": SITE, "thread": THREAD}
    for origin in FOREIGN:
        answer = await http.get("/api/v1/threads", params=params, headers={"Origin": origin})
        assert_refused(answer)
        assert answer.headers["access-control-allow-origin"] == "*", origin
    other = {"site": "other", "thread": THREAD}
    assert_refused(await http.get("/api/v1/threads", params=other, headers={"Origin": LISTED}))
    own = f"http://127.0.0.1:{server.port}"
    for allowed in ({"Origin": LISTED}, {"Origin": own}, {}):
        answer = await http.get("/api/v1/threads", params=params, headers=allowed)
        assert answer.status_code == 200, (allowed, answer.text)
        assert decode_json(answer.content)["thread"] == THREAD
    answer = await http.get("/api/v1/threads", params=other, headers={"Origin": own})
    assert answer.status_code == 200, answer.text


def connection(scheme: str, host: str, origin: str) -> HTTPConnection:
    """A request as the guard sees it: its scheme, Host header and Origin header."""
    kind = "websocket" if scheme.startswith("ws") else "http"
    headers = [(b"origin", origin.encode())]
    if host:
        headers.append((b"host", host.encode()))
    return HTTPConnection(
        {"type": kind, "scheme": scheme, "path": "/", "query_string": b"", "headers": headers}
    )


@pytest.mark.parametrize(
    ("scheme", "host", "origin"),
    [
        ("https", "example.com:443", "https://example.com"),
        ("https", "example.com", "https://example.com:443"),
        ("wss", "Example.com:443", "https://example.com"),
        ("http", "example.com:80", "http://example.com"),
        ("ws", "example.com", "http://example.com:80"),
        ("http", "example.com", "https://example.com"),  # no port either side: hosts compared
        ("http", "127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http", "[::1]:8000", "http://[::1]:8000"),
        ("https", "[::1]", "https://[::1]:443"),
    ],
)
def test_own_origin_allows_default_ports_written_or_not(
    scheme: str, host: str, origin: str
) -> None:
    """The server's own origin matches whether a default port is in Host or in Origin (the
    request's scheme, http/ws or https/wss, says which port is the default)."""
    Guard(Settings()).check_origin(connection(scheme, host, origin), Site(name=SITE))


@pytest.mark.parametrize(
    ("scheme", "host", "origin"),
    [
        ("https", "example.com:443", "https://example.com:8443"),
        ("http", "example.com:8080", "http://example.com"),
        ("https", "example.com:80", "https://example.com"),
        ("https", "example.com", "https://example.com:80"),
        ("http", "example.com", "http://example.com.evil.example"),
        ("https", "example.com:443", "https://evil.example"),
        ("http", "example.com:x", "http://example.com"),
        ("http", "example.com", "http://example.com:x"),
        ("http", "", "http://example.com"),
        ("http", "example.com", "null"),
    ],
)
def test_own_origin_is_not_stretched_to_other_ports_or_hosts(
    scheme: str, host: str, origin: str
) -> None:
    """Another port (explicit, or the default of the other scheme), another host, a malformed
    port or no Host at all is not the server's own origin."""
    with pytest.raises(OriginRefused):
        Guard(Settings()).check_origin(connection(scheme, host, origin), Site(name=SITE))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "server.web.guard" and r.levelno == logging.WARNING
    ]


def test_refusals_are_logged_once_per_origin_and_site_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each (origin, site) pair is logged once a minute, naming both and the command that
    lists the origin; a pair seen again within the minute adds nothing."""
    clock = Clock()
    refusals = RefusalLog(clock)
    with caplog.at_level(logging.WARNING, logger="server.web.guard"):
        for _ in range(5):
            refusals.refused("https://x.example", "news")
        refusals.refused("https://x.example", "other")
        refusals.refused("null", "news")
        refusals.refused("https://x.example$(reboot)", "news")
        clock.now += 59
        refusals.refused("https://x.example", "news")
        assert warnings(caplog) == [
            "origin 'https://x.example' refused for site 'news' "
            "(not in its origins; livethread site set news --add-origin https://x.example)",
            "origin 'https://x.example' refused for site 'other' "
            "(not in its origins; livethread site set other --add-origin https://x.example)",
            "origin 'null' refused for site 'news' (not a web page's origin)",
            # No command to paste for what is not a plain origin.
            "origin 'https://x.example$(reboot)' refused for site 'news' (not a web page's origin)",
        ]
        clock.now += 1
        refusals.refused("https://x.example", "news")
        assert len(warnings(caplog)) == 5
        assert len(refusals) == 1


def test_a_flood_of_origins_is_logged_boundedly(caplog: pytest.LogCaptureFixture) -> None:
    """Past the remembered pairs a minute, new origins are not logged one by one: one line says
    so, memory stays bounded, and a minute later logging resumes."""
    clock = Clock()
    refusals = RefusalLog(clock, remembered=3)
    with caplog.at_level(logging.WARNING, logger="server.web.guard"):
        for n in range(100):
            refusals.refused(f"https://x{n}.example\nforged line", "news")
            assert len(refusals) <= 3
        logged = warnings(caplog)
        assert len(logged) == 4
        assert logged[3] == "more than 3 origins refused within 60 s: not logging each"
        # The origin is quoted: a newline in it cannot start a forged log line.
        assert all("\n" not in line for line in logged)
        clock.now += 60
        refusals.refused("https://x99.example", "news")
        assert len(warnings(caplog)) == 5


async def test_refused_requests_of_every_kind_log_one_line(
    server: Running, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Snapshots, posts and websocket handshakes refused for one origin and site leave exactly
    one warning naming both."""
    origin = "https://unlisted.example"
    with caplog.at_level(logging.WARNING, logger="server.web.guard"):
        for _ in range(3):
            params = {"site": SITE, "thread": THREAD}
            refused = await http.get("/api/v1/threads", params=params, headers={"Origin": origin})
            assert_refused(refused)
            refused = await http.post(
                "/api/v1/comments", json=comment_json(), headers={"Origin": origin}
            )
            assert_refused(refused)
            with pytest.raises(InvalidStatus):
                await connect(server.ws(SITE, THREAD), origin=Origin(origin), open_timeout=WAIT)
    assert warnings(caplog) == [
        f"origin {origin!r} refused for site 'news' "
        f"(not in its origins; livethread site set news --add-origin {origin})"
    ]
