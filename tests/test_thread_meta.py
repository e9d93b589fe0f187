"""Threads' titles and article URLs: named by the first page, changed by moderators, in mails."""

from __future__ import annotations

import re

import httpx
import pytest

from server.model import ThreadKey
from server.settings import Settings
from server.web.app import store_for
from tests.support.clients import WAIT, Tokens, provision
from tests.support.command import livethread
from tests.support.mail import smtp_server, text_of
from tests.support.redis_server import free_port
from tests.support.server import Running, serve
from tests.test_notifications import ANN, CY, _http_post, confirmed_in

NEWS = "https://news.example"
ARTICLE = f"{NEWS}/2026/budget"


def _snapshot(
    http: httpx.AsyncClient,
    thread: str = "article-1",
    *,
    origin: str | None = NEWS,
    **meta: str,
) -> httpx.Request:
    headers = {} if origin is None else {"Origin": origin}
    return http.build_request(
        "GET",
        "/api/v1/threads",
        params={"site": "news", "thread": thread, **meta},
        headers=headers,
    )


async def _load(
    http: httpx.AsyncClient, thread: str = "article-1", *, origin: str | None = NEWS, **meta: str
) -> dict[str, object]:
    """A page's snapshot request, as the widget sends it; the answer's JSON."""
    answer = await http.send(_snapshot(http, thread, origin=origin, **meta))
    assert answer.status_code == 200, answer.text
    found: dict[str, object] = answer.json()
    return found


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _retitle(http: httpx.AsyncClient, token: str, **meta: object) -> httpx.Response:
    body = {"site": "news", "thread": "article-1", "action": "retitle", **meta}
    return await http.post("/api/v1/threads/moderation", json=body, headers=_bearer(token))


async def test_the_first_page_names_the_thread_and_later_pages_cannot(
    http: httpx.AsyncClient,
) -> None:
    """A listed page's title and URL are kept and carried by its own snapshot; a second page
    with others changes nothing (first writer wins)."""
    first = await _load(http, title="  Budget  day ", url=f"{ARTICLE}?utm=x#top")
    assert (first["title"], first["url"]) == ("Budget day", f"{ARTICLE}?utm=x")
    later = await _load(http, title="Something else", url=f"{NEWS}/elsewhere")
    assert (later["title"], later["url"]) == ("Budget day", f"{ARTICLE}?utm=x")


async def test_a_snapshot_without_a_title_carries_empty_fields(http: httpx.AsyncClient) -> None:
    """A thread nobody named answers title and url "" (additive fields, never missing)."""
    answer = await _load(http)
    assert (answer["title"], answer["url"]) == ("", "")


async def test_a_url_off_the_sites_origins_is_ignored_and_the_title_kept(
    http: httpx.AsyncClient,
) -> None:
    """An article URL on another origin is dropped without failing the load; the valid title
    is kept, and a later page may still give the URL."""
    answer = await _load(http, title="Budget", url="https://evil.example/phish")
    assert (answer["title"], answer["url"]) == ("Budget", "")
    answer = await _load(http, title="Other", url=ARTICLE)
    assert (answer["title"], answer["url"]) == ("Budget", ARTICLE)


@pytest.mark.parametrize(
    "meta",
    [
        {"title": "x" * 201, "url": "javascript:alert(1)"},
        {"title": "\u200b", "url": "not a url"},
        {"url": "https://user@news.example/a"},
    ],
)
async def test_invalid_values_are_ignored_and_the_load_answers(
    http: httpx.AsyncClient, meta: dict[str, str]
) -> None:
    """Too long a title, a non-http URL, a URL with user info: the snapshot still answers 200
    and nothing is kept."""
    answer = await _load(http, **meta)
    assert (answer["title"], answer["url"]) == ("", "")


@pytest.mark.parametrize("origin", ["https://unlisted.example", None])
async def test_only_a_page_the_site_lists_can_name_a_thread(
    http: httpx.AsyncClient, server: Running, origin: str | None
) -> None:
    """An unlisted page is refused outright; a request without Origin (not a page: curl, or
    this server's own pages) is answered but names nothing."""
    request = _snapshot(http, origin=origin, title="Forged", url=ARTICLE)
    answer = await http.send(request)
    assert answer.status_code == (200 if origin is None else 403)
    assert (await _load(http, origin=None))["title"] == ""
    own = await _load(http, origin=server.http, title="Own page", url=ARTICLE)
    assert own["title"] == ""


async def test_a_moderator_retitles_a_thread(http: httpx.AsyncClient, tokens: Tokens) -> None:
    """`retitle` replaces what a page set, keeps an omitted field, clears with "", and the
    snapshot and the thread page carry the result."""
    await _load(http, title="Page title", url=ARTICLE)
    answer = await _retitle(http, tokens.news, title="Budget <b>day</b>")
    assert answer.status_code == 200, answer.text
    assert (answer.json()["title"], answer.json()["url"]) == ("Budget <b>day</b>", ARTICLE)
    snapshot = await _load(http)
    assert (snapshot["title"], snapshot["url"]) == ("Budget <b>day</b>", ARTICLE)
    page = await http.get("/threads/news/article-1")
    assert "<title>Budget &lt;b&gt;day&lt;/b&gt;</title>" in page.text
    cleared = await _retitle(http, tokens.news, url="")
    assert (cleared.json()["title"], cleared.json()["url"]) == ("Budget <b>day</b>", "")


@pytest.mark.parametrize(
    ("meta", "field"),
    [
        ({"title": "x" * 201}, "title"),
        ({"url": "ftp://news.example/a"}, "url"),
        ({"url": "https://evil.example/a"}, "url"),
        ({}, "title"),
    ],
)
async def test_a_bad_title_or_url_is_422_naming_the_field(
    http: httpx.AsyncClient, tokens: Tokens, meta: dict[str, object], field: str
) -> None:
    """A title over 200 characters, a URL that is not http(s) or not on the site's origins, or
    neither given: 422 naming the field, and nothing changes."""
    answer = await _retitle(http, tokens.news, **meta)
    assert answer.status_code == 422, answer.text
    assert list(answer.json()["fields"]) == [field]
    assert (await _load(http, origin=None))["title"] == ""


async def test_retitle_needs_the_sites_moderator(http: httpx.AsyncClient, tokens: Tokens) -> None:
    """No token 401, an unknown token 401, another site's moderator 403; nothing changes."""
    body = {"site": "news", "thread": "article-1", "action": "retitle", "title": "X"}
    assert (await http.post("/api/v1/threads/moderation", json=body)).status_code == 401
    unknown = await http.post("/api/v1/threads/moderation", json=body, headers=_bearer("nope"))
    assert unknown.status_code == 401
    assert (await _retitle(http, tokens.other, title="X")).status_code == 403
    assert (await _load(http, origin=None))["title"] == ""


async def test_the_cli_sets_and_shows_a_thread(settings: Settings) -> None:
    """`thread set` sets the title and URL (checked against the site's origins, exit 2 naming
    the option otherwise) and `thread show` prints them."""
    await provision(settings)
    db = ("--database", settings.database)
    bad = livethread("thread", "set", "news", "a-1", "--url", "https://evil.example/", *db)
    assert bad.returncode == 2 and "--url" in bad.stderr, bad.stderr
    done = livethread("thread", "set", "news", "a-1", "--title", "Budget", "--url", ARTICLE, *db)
    assert done.returncode == 0, done.stderr
    shown = livethread("thread", "show", "news", "a-1", *db)
    assert "title: Budget" in shown.stdout and f"url: {ARTICLE}" in shown.stdout
    store = store_for(settings)
    await store.open()
    try:
        meta = await store.threads.meta(ThreadKey("news", "a-1"))
    finally:
        await store.close()
    assert (meta.title, meta.url) == ("Budget", ARTICLE)


async def test_a_reply_mail_names_the_title_and_links_to_the_article(settings: Settings) -> None:
    """With a title and URL, the subject is "New reply on TITLE" and the link URL#comment-ID."""
    web = free_port()
    async with smtp_server() as (box, port):
        settings = settings.replace(smtp_port=port, public_url=f"http://127.0.0.1:{web}")
        await provision(settings)
        await confirmed_in(settings, ANN)
        async with (
            serve(settings, port=web) as server,
            httpx.AsyncClient(base_url=server.http, timeout=WAIT) as http,
        ):
            await _load(http, title="Budget day", url=ARTICLE)
            first = await _http_post(http, "Subscribed", email=ANN, notify=True)
            reply = await _http_post(http, "A reply", parent=first, email=CY)
            await box.until(lambda: len(box.accepted) == 1)
    (mail,) = box.accepted
    assert mail["Subject"] == "New reply on Budget day"
    found = re.search(r"Read it: (\S+)", text_of(mail))
    assert found is not None and found.group(1) == f"{ARTICLE}#comment-{reply}"
