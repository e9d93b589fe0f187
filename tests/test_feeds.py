"""Feeds (issue 17 item 7): a site's and a thread's recent comments as Atom and RSS 2.0, with
the thread's title and article link, and never a held or removed comment. Real server on a free
port; posts and moderation through the API; the feeds parsed as XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx

from server.moderation.rules import Rules
from server.settings import Settings
from tests.support.clients import WAIT, Tokens, comment_json, decode_json
from tests.support.moderation import set_rules
from tests.support.server import serve

ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
THREAD = "article-1"
ARTICLE = "https://news.example/2026/feeds"


def mod(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def posted(
    http: httpx.AsyncClient, body: str, name: str = "Reader", thread: str = THREAD
) -> dict[str, object]:
    """Post as `name`, leaving an email, which no feed may show."""
    sent = comment_json(body, name, thread=thread)
    sent["author"] = {"name": name, "email": f"{name.lower()}@mail.example"}
    answer = await http.post("/api/v1/comments", json=sent)
    assert answer.status_code == 201, answer.text
    comment = decode_json(answer.content)["comment"]
    assert isinstance(comment, dict)
    return comment


async def retitle(http: httpx.AsyncClient, token: str, thread: str, title: str, url: str) -> None:
    answer = await http.post(
        "/api/v1/threads/moderation",
        json={"site": "news", "thread": thread, "action": "retitle", "title": title, "url": url},
        headers=mod(token),
    )
    assert answer.status_code == 200, answer.text


async def remove(http: httpx.AsyncClient, token: str, comment_id: object) -> None:
    answer = await http.post(
        f"/api/v1/comments/{comment_id}/moderation", json={"action": "remove"}, headers=mod(token)
    )
    assert answer.status_code == 200, answer.text


async def atom(http: httpx.AsyncClient, path: str) -> ET.Element:
    """The Atom feed at `path`, parsed, after checking its answer's headers."""
    answer = await http.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert answer.headers["cache-control"] == "public, max-age=60"
    root = ET.fromstring(answer.content)
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{required}") is not None, required
    for entry in root.iter(f"{ATOM}entry"):
        for required in ("id", "title", "updated", "author", "content", "link", "published"):
            assert entry.find(f"{ATOM}{required}") is not None, required
    return root


async def rss(http: httpx.AsyncClient, path: str) -> ET.Element:
    """The RSS channel at `path`, parsed, after checking its answer's headers."""
    answer = await http.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/rss+xml; charset=utf-8"
    root = ET.fromstring(answer.content)
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel is not None
    for required in ("title", "link", "description"):
        assert channel.findtext(required), required
    for item in channel.iter("item"):
        for required in ("title", "link", "guid", "description", "pubDate", f"{DC}creator"):
            assert item.find(required) is not None, required
    return channel


def atom_entries(root: ET.Element) -> list[dict[str, str]]:
    return [
        {
            "id": entry.findtext(f"{ATOM}id", ""),
            "title": entry.findtext(f"{ATOM}title", ""),
            "link": next(entry.iter(f"{ATOM}link")).get("href", ""),
            "author": entry.findtext(f"{ATOM}author/{ATOM}name", ""),
            "content": entry.findtext(f"{ATOM}content", ""),
        }
        for entry in root.iter(f"{ATOM}entry")
    ]


async def test_a_threads_feeds_name_the_article_and_show_only_visible_comments_newest_first(
    settings: Settings, tokens: Tokens
) -> None:
    """A thread's Atom and RSS feeds carry its title and article link, its visible comments
    newest first with links to them; a removed and a held comment never appear, and one
    removed after it appeared is gone from the next fetch."""
    await set_rules(settings, "news", Rules(links_max=0))
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        await retitle(http, tokens.news, THREAD, "Feeds arrive", ARTICLE)
        first = await posted(http, "The first word", "Ann")
        gone = await posted(http, "Soon removed", "Bob")
        held = await posted(http, "Held for its link https://spam.example", "Cy")
        assert held["status"] == "pending"
        last = await posted(http, "The last word", "Dee")
        await remove(http, tokens.news, gone["id"])
        path = f"/feeds/news/{THREAD}"
        root = await atom(http, f"{path}.atom")
        assert root.findtext(f"{ATOM}title") == "Comments on Feeds arrive"
        links = {link.get("rel"): link.get("href") for link in root.iter(f"{ATOM}link")}
        assert links["alternate"] == ARTICLE
        assert links["self"] == f"{running.http}{path}.atom"
        entries = atom_entries(root)
        assert [(e["author"], e["title"]) for e in entries] == [
            ("Dee", "Dee on Feeds arrive"),
            ("Ann", "Ann on Feeds arrive"),
        ]
        assert entries[0]["link"] == f"{ARTICLE}#comment-{last['id']}"
        assert entries[1]["content"] == "<p>The first word</p>"
        assert entries[1]["id"] == f"urn:livethread:comment:news:{first['id']}"
        channel = await rss(http, f"{path}.rss")
        assert channel.findtext("title") == "Comments on Feeds arrive"
        assert channel.findtext("link") == ARTICLE
        items = list(channel.iter("item"))
        assert [i.findtext("title") for i in items] == [
            "Dee on Feeds arrive",
            "Ann on Feeds arrive",
        ]
        assert items[0].findtext("link") == f"{ARTICLE}#comment-{last['id']}"
        assert items[1].findtext("description") == "<p>The first word</p>"
        assert [i.findtext(f"{DC}creator") for i in items] == ["Dee", "Ann"]
        for feed in (f"{path}.atom", f"{path}.rss"):
            text = (await http.get(feed)).text
            assert "Soon removed" not in text and "spam.example" not in text
            assert "mail.example" not in text and "@" not in text  # never an email
        await remove(http, tokens.news, last["id"])
        again = atom_entries(await atom(http, f"{path}.atom"))
        assert [e["author"] for e in again] == ["Ann"]


async def test_a_thread_without_a_name_links_to_this_servers_page(
    settings: Settings, tokens: Tokens
) -> None:
    """A thread with no title or URL is named by its id and linked to this server's page."""
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        comment = await posted(http, "Unnamed so far", thread="plain")
        channel = await rss(http, "/feeds/news/plain.rss")
        page = f"{running.http}/threads/news/plain"
        assert channel.findtext("title") == "Comments on plain"
        assert channel.findtext("link") == page
        item = channel.find("item")
        assert item is not None
        assert item.findtext("link") == f"{page}#comment-{comment['id']}"
        assert item.findtext("title") == "Reader on plain"


async def test_a_sites_feed_spans_its_threads_and_no_other_site(
    settings: Settings, tokens: Tokens
) -> None:
    """The site's feeds hold every thread's visible comments, newest first, each entry naming
    its own thread's title and linking to its article; another site's comments never."""
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        await retitle(http, tokens.news, "one", "Thread One", f"{ARTICLE}/one")
        await retitle(http, tokens.news, "two", "Thread Two", f"{ARTICLE}/two")
        a = await posted(http, "On one", "Ann", thread="one")
        b = await posted(http, "On two", "Bob", thread="two")
        other = comment_json("Elsewhere", "Otto", thread="one") | {"site": "other"}
        assert (await http.post("/api/v1/comments", json=other)).status_code == 201
        root = await atom(http, "/feeds/news.atom")
        assert root.findtext(f"{ATOM}title") == "Recent comments on news"
        assert [(e["title"], e["link"]) for e in atom_entries(root)] == [
            ("Bob on Thread Two", f"{ARTICLE}/two#comment-{b['id']}"),
            ("Ann on Thread One", f"{ARTICLE}/one#comment-{a['id']}"),
        ]
        channel = await rss(http, "/feeds/news.rss")
        assert channel.findtext("link") == "https://news.example"
        assert [i.findtext("title") for i in channel.iter("item")] == [
            "Bob on Thread Two",
            "Ann on Thread One",
        ]
        assert "Elsewhere" not in (await http.get("/feeds/news.rss")).text


async def test_a_comments_html_in_a_feed_is_the_sanitised_html(
    settings: Settings, tokens: Tokens
) -> None:
    """An entry's content is the comment's cleaned HTML: a <script> in its body is text, never
    markup, in both formats."""
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        comment = await posted(http, 'Hi <script>alert("x")</script> **bold**')
        entries = atom_entries(await atom(http, f"/feeds/news/{THREAD}.atom"))
        channel = await rss(http, f"/feeds/news/{THREAD}.rss")
        described = [item.findtext("description", "") for item in channel.iter("item")]
        assert [e["content"] for e in entries] == described == [comment["html"]]
        assert "<strong>bold</strong>" in described[0]
        for html in described:
            assert "<script" not in html.lower() and "&lt;script&gt;" in html
        for path in (f"/feeds/news/{THREAD}.atom", f"/feeds/news/{THREAD}.rss"):
            assert "<script" not in (await http.get(path)).text.lower()


async def test_feeds_refuse_bad_ids_and_unknown_sites_and_revalidate_by_etag(
    settings: Settings, tokens: Tokens
) -> None:
    """Bad ids answer 422, an unknown site 404; an unchanged feed answers 304 to its ETag, and
    a new comment or a removal changes the ETag."""
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        for path in ("/feeds/b%20d.atom", "/feeds/news/b%20d.rss", "/feeds/news/b%21d.atom"):
            assert (await http.get(path)).status_code == 422, path
        for path in ("/feeds/nowhere.rss", "/feeds/nowhere/t.atom"):
            assert (await http.get(path)).status_code == 404, path
        path = f"/feeds/news/{THREAD}.atom"
        older = await posted(http, "Older")
        await posted(http, "Newer")
        tag = (await http.get(path)).headers["etag"]
        unchanged = await http.get(path, headers={"If-None-Match": tag})
        assert (unchanged.status_code, unchanged.content) == (304, b"")
        assert unchanged.headers["etag"] == tag
        weak = await http.get(path, headers={"If-None-Match": f'"x", W/{tag}'})
        assert weak.status_code == 304
        await remove(http, tokens.news, older["id"])  # not the newest entry: still a change
        changed = await http.get(path, headers={"If-None-Match": tag})
        assert changed.status_code == 200 and changed.headers["etag"] != tag
        rss_tag = (await http.get(f"/feeds/news/{THREAD}.rss")).headers["etag"]
        assert rss_tag != changed.headers["etag"]
