"""The snapshot in pages (issue 17 item 3): real server on a free port, comments posted through
the API. Pages cover a thread exactly once in each order, replies travel with their top-level
comment, pinned ones come first, keyset cursors survive new posts, `around` finds a deep reply."""

from __future__ import annotations

import json
import secrets
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec

from server.composition import store_for
from server.model import PublicComment, Site, ThreadKey, ThreadSnapshot, thread_snapshot
from server.settings import Settings
from server.threads.pages import Tree
from server.threads.ranking import best
from tests.support.clients import Tokens, comment_json, decode_json

THREAD = "paged"
ORDER_JS = Path(__file__).resolve().parent.parent / "client-js" / "src" / "order.js"
NODE_TIMEOUT = 30


def mod(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def post(
    http: httpx.AsyncClient, body: str, parent: str | None = None, site: str = "news"
) -> str:
    sent = {**comment_json(body, parent=parent, thread=THREAD), "site": site}
    answer = await http.post("/api/v1/comments", json=sent)
    assert answer.status_code == 201, answer.text
    comment = decode_json(answer.content)["comment"]
    assert isinstance(comment, dict)
    return str(comment["id"])


async def act(http: httpx.AsyncClient, cid: str, action: str, token: str) -> None:
    answer = await http.post(
        f"/api/v1/comments/{cid}/moderation", json={"action": action}, headers=mod(token)
    )
    assert answer.status_code == 200, answer.text


async def premoderate(settings: Settings) -> None:
    """Site "other" holds every comment for a moderator from now on (asked before the server
    reads that site, which it may go on reading from a snapshot a while)."""
    store = store_for(settings)
    await store.open()
    try:
        await store.sites.put(Site(name="other", premoderate=True))
    finally:
        await store.close()


async def like(http: httpx.AsyncClient, cid: str, readers: int) -> None:
    for _ in range(readers):
        answer = await http.post(
            f"/api/v1/comments/{cid}/reactions",
            json={"kind": "like", "on": True},
            headers={"X-Reader-Key": secrets.token_urlsafe(24)},
        )
        assert answer.status_code == 200, answer.text


async def get(http: httpx.AsyncClient, status: int = 200, **query: str | int) -> dict[str, Any]:
    params: dict[str, str | int] = {"site": "news", "thread": THREAD, "page": 1, **query}
    answer = await http.get("/api/v1/threads", params=params)
    assert answer.status_code == status, answer.text
    return decode_json(answer.content)


async def whole(http: httpx.AsyncClient, site: str = "news") -> list[dict[str, Any]]:
    answer = await http.get("/api/v1/threads", params={"site": site, "thread": THREAD})
    comments = decode_json(answer.content)["comments"]
    assert isinstance(comments, list)
    return comments


async def every_page(http: httpx.AsyncClient, order: str, limit: int = 50) -> list[dict[str, Any]]:
    """Each page in turn, following `next` to the end."""
    pages = [await get(http, order=order, limit=limit)]
    while pages[-1]["next"] is not None:
        pages.append(await get(http, order=order, limit=limit, after=pages[-1]["next"]))
    return pages


def tops(page: dict[str, Any]) -> list[str]:
    return [c["id"] for c in page["comments"] if c["parent"] is None]


def assert_replies_follow_their_top(page: dict[str, Any]) -> None:
    parents = {c["id"]: c["parent"] for c in page["comments"]}
    seen: set[str] = set()
    for comment in page["comments"]:
        assert comment["parent"] is None or comment["parent"] in seen, comment
        seen.add(comment["id"])
    assert all(p is None or p in parents for p in parents.values())


async def test_pages_cover_the_thread_once_in_every_order(
    http: httpx.AsyncClient, tokens: Tokens
) -> None:
    """120 top-level comments with replies: pages of 50 hold each comment exactly once in
    oldest, newest and best, replies with their parent, the pinned one first, liked ones early."""
    roots = [await post(http, f"Top {n}") for n in range(120)]
    for n in range(0, 120, 10):
        reply = await post(http, f"Reply to {n}", parent=roots[n])
        await post(http, f"Reply to the reply to {n}", parent=reply)
    await act(http, roots[60], "pin", tokens.news)
    await like(http, roots[90], 3)
    await like(http, roots[30], 1)
    everything = await whole(http)
    for order in ("oldest", "newest", "best"):
        pages = await every_page(http, order)
        assert [len(tops(p)) for p in pages] == [50, 50, 20]
        every_page_ids = [c["id"] for p in pages for c in p["comments"]]
        assert sorted(every_page_ids) == sorted(c["id"] for c in everything), order
        assert all(p["top_level"] == 120 and p["order"] == order for p in pages)
        for p in pages:
            assert_replies_follow_their_top(p)
        order_of_tops = [t for p in pages for t in tops(p)]
        assert order_of_tops[0] == roots[60] and pages[0]["comments"][0]["pinned"]
        rest = [r for r in roots if r != roots[60]]
        if order == "oldest":
            assert order_of_tops[1:] == rest
        elif order == "newest":
            assert order_of_tops[1:] == rest[::-1]
        else:
            assert order_of_tops[1:3] == [roots[90], roots[30]]
        assert pages[-1]["next"] is None and pages[0]["prev"] is None


async def test_a_post_between_two_pages_neither_repeats_nor_skips_one(
    http: httpx.AsyncClient,
) -> None:
    """Keyset cursors: a comment posted after the first page was read changes nothing of what
    the next pages hold in oldest (it comes last) nor repeats one in newest."""
    roots = [await post(http, f"Top {n}") for n in range(7)]
    first = await get(http, order="oldest", limit=3)
    newest = await get(http, order="newest", limit=3)
    late = await post(http, "Posted meanwhile")
    seen = tops(first)
    after = first["next"]
    while after is not None:
        following = await get(http, order="oldest", limit=3, after=after)
        seen += tops(following)
        after = following["next"]
    assert seen == [*roots, late]
    seen = tops(newest)
    after = newest["next"]
    while after is not None:
        following = await get(http, order="newest", limit=3, after=after)
        seen += tops(following)
        after = following["next"]
    assert seen == roots[::-1]


async def test_prev_walks_back_from_the_last_page_over_the_same_pages(
    http: httpx.AsyncClient,
) -> None:
    """Every page but the first names the page before it: walking back with `prev` from the
    last page of each order gives the pages `next` gave, in reverse."""
    for n in range(11):
        await post(http, f"Top {n}")
    for order in ("oldest", "newest", "best"):
        forward = [await get(http, order=order, limit=4)]
        while forward[-1]["next"] is not None:
            forward.append(await get(http, order=order, limit=4, after=forward[-1]["next"]))
        back = [forward[-1]]
        while back[-1]["prev"] is not None:
            back.append(await get(http, order=order, limit=4, after=back[-1]["prev"]))
        assert [tops(p) for p in back] == [tops(p) for p in forward][::-1], order


async def test_around_a_deep_reply_gives_the_page_of_its_top_level_comment(
    http: httpx.AsyncClient,
) -> None:
    """A permalink's page: the one holding the reply's top-level ancestor, with `prev` and
    `next` leading to the pages either side, in oldest and in newest."""
    roots = [await post(http, f"Top {n}") for n in range(12)]
    deep = roots[7]
    for depth in range(3):
        deep = await post(http, f"Depth {depth}", parent=deep)
    shallow = await post(http, "A reply", parent=roots[4])
    page = await get(http, order="oldest", limit=5, around=deep)
    assert tops(page) == roots[5:10] and deep in [c["id"] for c in page["comments"]]
    assert tops(await get(http, order="oldest", limit=5, after=page["prev"])) == roots[:5]
    assert tops(await get(http, order="oldest", limit=5, after=page["next"])) == roots[10:]
    assert (await get(http, order="newest", limit=5, around=deep))["prev"] is None
    page = await get(http, order="newest", limit=5, around=shallow)
    assert tops(page) == roots[6:1:-1]
    assert tops(await get(http, order="newest", limit=5, after=page["prev"])) == roots[:6:-1]
    assert tops(await get(http, order="newest", limit=5, after=page["next"])) == roots[1::-1]
    first = await get(http, order="best", limit=5, around=roots[11])  # newest ranks first
    assert first["prev"] is None and first["next"] is not None


async def test_bad_page_requests_are_refused_plainly(
    http: httpx.AsyncClient, tokens: Tokens
) -> None:
    """A bad limit, order or cursor is refused with 422 naming the field; `around` naming a
    comment readers do not see gives the first page."""
    roots = [await post(http, f"Top {n}") for n in range(3)]
    hidden = await post(http, "Removed, nothing below it")
    await act(http, hidden, "remove", tokens.news)
    for limit in ("0", "201", "ten", "-1"):
        refused = await get(http, 422, limit=limit)
        assert "limit" in refused["fields"], refused
    assert "order" in (await get(http, 422, order="top"))["fields"]
    for cursor in ("garbage!", "bm90IGpzb24", "WyJvbGRlc3QiLDEsMl0"):
        refused = await get(http, 422, after=cursor)
        assert "after" in refused["fields"] and "after" in refused["message"], refused
    newest = await get(http, order="newest", limit=1)
    foreign = await get(http, 422, order="oldest", after=newest["next"])
    assert "newest" in foreign["fields"]["after"]
    first = tops(await get(http, limit=2))
    assert tops(await get(http, limit=2, around="no-such-comment")) == first
    assert tops(await get(http, limit=2, around=hidden)) == first
    assert "around" in (await get(http, 422, around=roots[0], after=newest["next"]))["fields"]


async def test_held_and_removed_comments_are_as_in_the_whole_snapshot(
    http: httpx.AsyncClient, tokens: Tokens, settings: Settings
) -> None:
    """A held comment is on no page; a removed one stays as a tombstone while a reply hangs
    below it, and goes when none does: a single page holds what the whole snapshot holds."""
    await premoderate(settings)
    kept = await post(http, "Removed, with a reply", site="other")
    await act(http, kept, "approve", tokens.other)  # a reply needs a parent readers see
    reply = await post(http, "The reply", parent=kept, site="other")
    gone = await post(http, "Removed, alone", site="other")
    hidden = await post(http, "Held", parent=kept, site="other")
    for cid in (reply, gone):
        await act(http, cid, "approve", tokens.other)
    for cid in (kept, gone):
        await act(http, cid, "remove", tokens.other)
    page = await get(http, site="other")
    assert page["comments"] == await whole(http, site="other")
    assert page["comments"][0]["status"] == "removed" and page["top_level"] == 1
    assert {gone, hidden}.isdisjoint(c["id"] for c in page["comments"])


async def test_without_page_the_answer_is_the_whole_snapshot_byte_for_byte(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    """Paging is additive: without `page` the answer is the encoded whole snapshot, as before;
    with it, gzip is still given to a client that accepts it."""
    parent = await post(http, "Parent")
    await post(http, "Reply", parent=parent)
    answer = await http.get("/api/v1/threads", params={"site": "news", "thread": THREAD})
    store = store_for(settings)
    await store.open()
    try:
        state, records = await store.comments.readable(ThreadKey("news", THREAD))
    finally:
        await store.close()
    built = thread_snapshot(
        "news", THREAD, state, records, edit_window=int(settings.edit_window_seconds)
    )
    assert answer.content == msgspec.json.encode(built)
    zipped = await http.get(
        "/api/v1/threads",
        params={"site": "news", "thread": THREAD, "page": 1},
        headers={"Accept-Encoding": "gzip"},
    )
    assert zipped.headers["content-encoding"] == "gzip"
    assert decode_json(zipped.content)["comments"] == decode_json(answer.content)["comments"]


def test_best_is_likes_per_hour_with_a_prior() -> None:
    """(likes + 1) / (hours + 2): a new comment with no likes scores 1/2; age divides."""
    assert best(0, 1000, 1000) == 0.5
    assert best(3, 0, 2 * 3_600_000) == 1.0
    assert best(0, 5000, 0) == 0.5  # posted "after" now (clocks apart): no negative age


def test_the_server_ranks_best_as_the_widget_does() -> None:
    """The same comments, likes and moment sorted by server/threads/pages.py and by the
    widget's client-js/src/order.js give the same order (ties, pins and ages included)."""
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    ages = [0.5, 3, 3, 10, 48, 1, 0.01, 200, 7, 7]
    likes = {"c0": 0, "c1": 2, "c2": 2, "c3": 9, "c4": 40, "c5": 0, "c6": 0, "c7": 300, "c8": 3}
    comments = [
        PublicComment(
            id=f"c{n}",
            parent=None,
            status="visible",
            author=None,
            html="<p>x</p>",
            created=now - timedelta(hours=age, microseconds=n * 7),
            pinned=n == 9,
        )
        for n, age in enumerate(ages)
    ]
    comments.sort(key=lambda c: (c.created, c.id))  # as snapshots hold them: oldest first
    snapshot = ThreadSnapshot(
        site="news", thread="t", seq=1, count=len(comments), locked=False, comments=comments
    )
    now_ms = int(now.timestamp() * 1000)
    ours = [r.id for r in Tree(snapshot).ordered("best", likes, now_ms)]
    script = (
        f"import {{ sorted }} from {json.dumps(ORDER_JS.as_uri())};"
        "const [comments, likes, now] = JSON.parse(process.argv[1]);"
        "const order = sorted(comments, 'best', (id) => likes[id] ?? 0, now);"
        "console.log(JSON.stringify(order.map((c) => c.id)));"
    )
    data = json.dumps([msgspec.to_builtins(comments), likes, now_ms])
    ran = subprocess.run(
        ["node", "--input-type=module", "-e", script, data],
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        check=True,
    )
    assert json.loads(ran.stdout) == ours
    assert ours[0] == "c9"  # pinned first
