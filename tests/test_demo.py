"""The demo article: the seed's thread loads with its structure and is served at `/`."""

from __future__ import annotations

import httpx
import msgspec

from server import demo
from server.model import ThreadSnapshot
from tests.support.server import Running


async def _snapshot(server: Running) -> ThreadSnapshot:
    async with httpx.AsyncClient(base_url=server.http) as http:
        answer = await http.get(
            "/api/v1/threads", params={"site": demo.SITE, "thread": demo.THREAD}
        )
    assert answer.status_code == 200
    return msgspec.json.decode(answer.content, type=ThreadSnapshot)


async def test_demo_thread_has_the_seed_structure(server: Running) -> None:
    """24 visible comments, 3 tombstones kept for their replies, the deepest reply at depth 4."""
    view = await _snapshot(server)
    assert view.count == 24
    tombstones = [c for c in view.comments if c.status == "removed"]
    assert sorted(c.id for c in tombstones) == ["r1", "r2", "r3"]
    assert all(c.author is None and c.html is None for c in tombstones)
    parents = {c.id: c.parent for c in view.comments}

    def depth(cid: str) -> int:
        parent = parents[cid]
        return 0 if parent is None else 1 + depth(parent)

    assert max(depth(c) for c in parents) == 4
    assert parents["c6"] == "r3" and parents["r3"] == "r2"


async def test_demo_names_are_the_seeds_or_anonymous(server: Running) -> None:
    """Authors are named where the seed names them and "Anonymous" otherwise."""
    view = await _snapshot(server)
    names = {c.id: c.author.name for c in view.comments if c.author is not None}
    assert names["c1"] == "Mike" and names["c16"] == "Martin" and names["c2"] == "Anonymous"


async def test_demo_bodies_keep_paragraphs_and_lists(server: Running) -> None:
    """The seed's blank-line paragraphs and '- ' items render as <p> and <li>."""
    view = await _snapshot(server)
    c5 = next(c for c in view.comments if c.id == "c5")
    assert c5.html is not None
    assert c5.html.count("<li>") == 2 and c5.html.count("<p>") >= 5


async def test_article_page_shows_the_thread(server: Running) -> None:
    """`GET /` serves the article, its byline, the count and the nested thread with tombstones."""
    async with httpx.AsyncClient(base_url=server.http) as http:
        page = await http.get("/")
    assert page.status_code == 200
    assert "Jens Stoltenberg visited Kyiv" in page.text
    assert "Lisa West" in page.text
    assert "24 Comments" in page.text
    assert page.text.count("This comment was removed") == 3
    assert 'id="comment-c6"' in page.text


async def test_installing_twice_changes_nothing(server: Running) -> None:
    """Starting again with --demo leaves an existing demo thread as it is."""
    before = await _snapshot(server)
    app_store = server.settings
    from server.web.app import store_for

    store = store_for(app_store)
    await store.open()
    try:
        await demo.install(store)
    finally:
        await store.close()
    after = await _snapshot(server)
    assert after == before
