"""Reactions (issue 17 item 1): real server on a free port, real websockets for readers.
A like is no event (no seq), counts reach every open page as coalesced, versioned frames, and a
page that opens later is sent the counts right after hello."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx
import pytest

from server import events
from server.settings import Settings
from tests.support.clients import WAIT, Reader, Tokens, comment_json, decode_json, reader
from tests.support.server import Running, serve
from tests.test_sign_in import hs256, hs_site, set_sign_in, signed

THREAD = "article-1"


def browser() -> dict[str, str]:
    """A new browser's anonymous reader key, as the widget makes one."""
    return {"X-Reader-Key": secrets.token_urlsafe(24)}


async def posted(http: httpx.AsyncClient, body: str = "Worth a like") -> str:
    answer = await http.post("/api/v1/comments", json=comment_json(body, thread=THREAD))
    assert answer.status_code == 201, answer.text
    comment = decode_json(answer.content)["comment"]
    assert isinstance(comment, dict)
    return str(comment["id"])


async def react(
    http: httpx.AsyncClient,
    cid: str,
    headers: dict[str, str],
    kind: str = "like",
    on: bool = True,
    status: int = 200,
) -> dict[str, Any]:
    answer = await http.post(
        f"/api/v1/comments/{cid}/reactions", json={"kind": kind, "on": on}, headers=headers
    )
    assert answer.status_code == status, answer.text
    return decode_json(answer.content)


async def counts_seen(page: Reader, cid: str, wanted: dict[str, int]) -> int:
    """Read `page`'s frames until a `reactions` frame gives `cid` the `wanted` counts; how many
    `reactions` frames it read (events in between are skipped)."""
    frames = 0
    async with asyncio.timeout(WAIT):
        while True:
            frame = await page.frame()
            if isinstance(frame, events.Reactions):
                frames += 1
                for comment in frame.comments:
                    if comment.id == cid and comment.counts == wanted:
                        return frames


async def seq_of(http: httpx.AsyncClient) -> int:
    answer = await http.get(f"/api/v1/threads?site=news&thread={THREAD}")
    seq = decode_json(answer.content)["seq"]
    assert isinstance(seq, int)
    return seq


def client(running: Running) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=running.http, timeout=WAIT)


async def test_a_like_reaches_every_open_page_without_an_event(
    settings: Settings, tokens: Tokens
) -> None:
    """A reader's like is answered with the counts once durable and reaches both open pages as
    a `reactions` frame; the thread's seq does not move (no event, no snapshot invalidated)."""
    async with (
        serve(settings) as running,
        client(running) as http,
        reader(running.ws("news", THREAD)) as first,
        reader(running.ws("news", THREAD)) as second,
    ):
        cid = await posted(http)
        for page in (first, second):
            await page.expect(events.CommentCreated)
        seq = await seq_of(http)
        answer = await react(http, cid, browser())
        assert answer == {
            "id": cid,
            "version": 1,
            "counts": {"like": 1},
            "kind": "like",
            "on": True,
        }
        for page in (first, second):
            await counts_seen(page, cid, {"like": 1})
        assert await seq_of(http) == seq


async def test_one_reaction_per_reader_and_kind_toggles(settings: Settings, tokens: Tokens) -> None:
    """A repeat changes nothing (same version); clearing takes it back; kinds are separate;
    another reader adds theirs; each reader reads back only their own."""
    async with serve(settings) as running, client(running) as http:
        cid = await posted(http)
        ann, bob = browser(), browser()
        first = await react(http, cid, ann)
        again = await react(http, cid, ann)
        assert (again["counts"], again["version"]) == ({"like": 1}, first["version"])
        love = await react(http, cid, ann, kind="love")
        assert love["counts"] == {"like": 1, "love": 1}
        both = await react(http, cid, bob)
        assert both["counts"] == {"like": 2, "love": 1}
        cleared = await react(http, cid, ann, on=False)
        assert cleared["counts"] == {"like": 1, "love": 1}
        assert cleared["version"] > both["version"]
        mine = await http.get(f"/api/v1/reactions?site=news&thread={THREAD}", headers=ann)
        assert decode_json(mine.content)["mine"] == {cid: ["love"]}
        theirs = await http.get(f"/api/v1/reactions?site=news&thread={THREAD}", headers=bob)
        assert decode_json(theirs.content)["mine"] == {cid: ["like"]}


async def test_a_signed_in_reader_counts_once_from_any_browser(
    settings: Settings, tokens: Tokens
) -> None:
    """Signed in, a reader is their account: a like from a second browser is the same like."""
    await set_sign_in(settings, hs_site())
    account = signed(hs256(sub="reader-1", name="Reader One"))
    async with serve(settings) as running, client(running) as http:
        cid = await posted(http)
        await react(http, cid, {**account, **browser()})
        answer = await react(http, cid, {**account, **browser()})
        assert answer["counts"] == {"like": 1}


async def test_a_page_that_opens_later_is_sent_the_counts_after_hello(
    settings: Settings, tokens: Tokens
) -> None:
    """Counts are state, not events: a new socket gets every comment's counts at once."""
    async with serve(settings) as running, client(running) as http:
        one, two = await posted(http), await posted(http, "Another")
        await react(http, one, browser())
        await react(http, two, browser(), kind="wow")
        async with reader(running.ws("news", THREAD)) as late:
            frame = await late.expect(events.Reactions)
            assert {c.id: c.counts for c in frame.comments} == {
                one: {"like": 1},
                two: {"wow": 1},
            }
        async with reader(running.ws("news", "article-2")) as empty:
            cid = await http.post(
                "/api/v1/comments", json=comment_json("First", thread="article-2")
            )
            assert cid.status_code == 201
            await empty.expect(events.CommentCreated)  # no counts frame came before it


async def test_a_burst_of_likes_is_coalesced_into_few_frames(
    settings: Settings, tokens: Tokens
) -> None:
    """Fifty readers like at once: every like counts, and pages get fewer frames than likes."""
    async with (
        serve(settings) as running,
        client(running) as http,
        reader(running.ws("news", THREAD)) as page,
    ):
        cid = await posted(http)
        await page.expect(events.CommentCreated)
        answers = await asyncio.gather(*(react(http, cid, browser()) for _ in range(50)))
        assert max(a["counts"]["like"] for a in answers) == 50
        assert sorted(a["version"] for a in answers)[-1] == 50
        frames = await counts_seen(page, cid, {"like": 50})
        assert frames < 50


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        ({"kind": "boo"}, None, 422),
        ({"kind": "like", "extra": 1}, None, 422),
        ({"kind": "like"}, {}, 422),
        ({"kind": "like"}, {"X-Reader-Key": "short"}, 422),
        ({"kind": "like"}, {"X-Reader-Key": "x" * 16 + "!"}, 422),
        ("not json", None, 400),
        ({"kind": "like", "pad": "x" * 400}, None, 413),
    ],
)
async def test_a_bad_reaction_is_refused_and_nothing_counts(
    settings: Settings,
    tokens: Tokens,
    body: object,
    headers: dict[str, str] | None,
    status: int,
) -> None:
    """An unknown kind, unknown fields, no or a malformed reader key, a body that is not JSON
    or one too large: refused with its status, and the comment has no reactions."""
    async with serve(settings) as running, client(running) as http:
        cid = await posted(http)
        sent = browser() if headers is None else headers
        if isinstance(body, str):
            answer = await http.post(
                f"/api/v1/comments/{cid}/reactions", content=body, headers=sent
            )
        else:
            answer = await http.post(f"/api/v1/comments/{cid}/reactions", json=body, headers=sent)
        assert answer.status_code == status, answer.text
        async with reader(running.ws("news", THREAD)) as page:
            await http.post("/api/v1/comments", json=comment_json("Next", thread=THREAD))
            await page.expect(events.CommentCreated)  # and no counts frame before it


async def test_only_published_comments_take_reactions(settings: Settings, tokens: Tokens) -> None:
    """A removed comment answers 409, an unknown one 404; a bad sign-in token 401."""
    await set_sign_in(settings, hs_site())
    async with serve(settings) as running, client(running) as http:
        cid = await posted(http)
        removed = await http.post(
            f"/api/v1/comments/{cid}/moderation",
            json={"action": "remove"},
            headers={"Authorization": f"Bearer {tokens.news}"},
        )
        assert removed.status_code == 200
        await react(http, cid, browser(), status=409)
        await react(http, "no-such-comment", browser(), status=404)
        other = await posted(http)
        await react(http, other, {"X-Account-Token": "not.a.token"}, status=401)
