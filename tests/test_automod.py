"""Auto-moderation end to end: rules at post time, the moderators' live channel, real sockets."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from server import events
from server.adapters.memory_store import memory_storage
from server.adapters.redis_buckets import RedisBuckets
from server.errors import Throttled
from server.limits import Addresses
from server.model import Site, ThreadKey
from server.moderation.automod import Automod, Poster
from server.moderation.rules import Rules
from server.settings import Settings
from server.validation import CleanComment
from server.web.app import store_for
from tests.support.clients import WAIT, Tokens, comment_json, decode_json, reader
from tests.support.moderation import moderating, moderation_url, set_rules
from tests.support.redis_server import RedisServer
from tests.support.server import Running, serve

SPAM = "Great deals on watches, visit my shop today for the best prices!"


@asynccontextmanager
async def started(
    settings: Settings, rules: Rules
) -> AsyncIterator[tuple[Running, httpx.AsyncClient]]:
    """A server whose site "news" has these rules, and an HTTP client for it."""
    await set_rules(settings, "news", rules)
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        yield running, http


def mod(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def stored_bodies(settings: Settings, thread: str) -> list[str]:
    store = store_for(settings)
    await store.open()
    try:
        _, records = await store.comments.of_thread(ThreadKey("news", thread))
        return [r.body_source for r in records]
    finally:
        await store.close()


async def test_a_spam_burst_is_held_and_reaches_moderators_live(
    settings: Settings, tokens: Tokens
) -> None:
    """The same text into several threads, and a comment full of links, are held: moderators
    see them arrive live with the reason; readers of those threads never see them."""
    async with (
        started(settings, Rules(links_max=2)) as (running, http),
        moderating(running.port, tokens.news) as moderator,
        reader(running.ws("news", "article-2")) as second,
    ):
        assert moderator.first.items == []
        first = await http.post("/api/v1/comments", json=comment_json(SPAM, thread="article-1"))
        assert first.status_code == 201
        assert decode_json(first.content)["comment"]["status"] == "visible"  # type: ignore[index]
        held = await http.post("/api/v1/comments", json=comment_json(SPAM, thread="article-2"))
        assert held.status_code == 201
        held_comment = decode_json(held.content)["comment"]
        assert held_comment["status"] == "pending"  # type: ignore[index]
        added = await moderator.expect(events.QueueAdded)
        assert added.item.comment.id == held_comment["id"]  # type: ignore[index]
        assert (added.item.state, added.item.thread) == ("pending", "article-2")
        assert added.item.by == "automod:repeat"
        assert added.item.reason is not None and "another thread" in added.item.reason

        links = " ".join(f"https://shop{n}.example/deal" for n in range(3))
        linked = await http.post("/api/v1/comments", json=comment_json(links, thread="article-2"))
        assert decode_json(linked.content)["comment"]["status"] == "pending"  # type: ignore[index]
        added = await moderator.expect(events.QueueAdded)
        assert added.item.by == "automod:links"
        assert added.item.reason == "3 links: comments with more than 2 wait for review"

        # The first event this reader gets is the next visible comment: nothing came before.
        marker = await http.post("/api/v1/comments", json=comment_json("ok", thread="article-2"))
        (created,) = await second.events(1)
        assert isinstance(created, events.CommentCreated) and created.seq == 1
        assert created.comment.id == decode_json(marker.content)["comment"]["id"]  # type: ignore[index]
        snapshot = decode_json(
            (await http.get("/api/v1/threads?site=news&thread=article-2")).content
        )
        comments = snapshot["comments"]
        assert isinstance(comments, list)
        shown = [c["id"] for c in comments]
        assert held_comment["id"] not in shown  # type: ignore[index]
        assert snapshot["count"] == 1

    # A moderator connecting later is sent the whole queue, reasons included.
    async with serve(settings) as again, moderating(again.port, tokens.news) as late:
        assert [i.by for i in late.first.items] == ["automod:repeat", "automod:links"]


async def test_a_banned_word_is_refused_with_422_and_nothing_is_stored(
    settings: Settings, tokens: Tokens
) -> None:
    """A banned word, however disguised (case, look-alike letters, dots), is a 422 naming
    `body`, and the comment is not stored anywhere."""
    async with started(settings, Rules(banned=("viagra", "cheap pills"))) as (_, http):
        for body in (
            "Buy VIAGRA now",
            "buy v.i.a.g.r.a now",
            "buy vi\u0430gra now",  # a Cyrillic a
            "CHEAP   Pills!",
        ):
            answer = await http.post("/api/v1/comments", json=comment_json(body))
            assert answer.status_code == 422, body
            error = decode_json(answer.content)
            assert error["message"] == "Your comment contains words this site does not allow"
            assert error["fields"]["body"].startswith("Please remove: ")  # type: ignore[index]
        fine = await http.post("/api/v1/comments", json=comment_json("Viagrafalls is a town"))
        assert fine.status_code == 201
    assert await stored_bodies(settings, "article-1") == ["Viagrafalls is a town"]


async def test_a_suspect_word_is_published_and_flagged_for_moderators(
    settings: Settings, tokens: Tokens
) -> None:
    """A suspect word: readers see the comment live; moderators get it flagged with the
    reason; approving it clears the flag and leaves it published."""
    async with (
        started(settings, Rules(suspect=("crypto",))) as (running, http),
        moderating(running.port, tokens.news) as moderator,
        reader(running.ws("news", "article-1")) as thread,
    ):
        posted = await http.post("/api/v1/comments", json=comment_json("Try Crypto today"))
        assert posted.status_code == 201
        (created,) = await thread.events(1)
        assert isinstance(created, events.CommentCreated)
        added = await moderator.expect(events.QueueAdded)
        assert added.item.comment.id == created.comment.id
        assert (added.item.state, added.item.by) == ("flagged", "automod:suspect")
        assert added.item.reason == "suspect words: crypto"

        approved = await http.post(
            f"/api/v1/comments/{created.comment.id}/moderation",
            json={"action": "approve"},
            headers=mod(tokens.news),
        )
        assert approved.status_code == 200
        removed = await moderator.expect(events.QueueRemoved)
        assert removed.id == created.comment.id
        snapshot = decode_json(
            (await http.get("/api/v1/threads?site=news&thread=article-1")).content
        )
        assert snapshot["count"] == 1


async def test_posting_too_fast_is_429_with_retry_after(settings: Settings, tokens: Tokens) -> None:
    """Over a site's per-author rate: 429, a Retry-After, and a message saying why; another
    author from elsewhere is not affected until the per-address rate is spent too."""
    limited = settings.replace(
        rate_limit=True,
        post_rate_address="1000/60",
        post_rate_thread="1000/60",
        post_rate_site="1000/60",
    )
    rules = Rules(velocity_author="2/60", velocity_address="3/60")
    async with started(limited, rules) as (_, http):
        for n in range(2):
            ok = await http.post("/api/v1/comments", json=comment_json(f"Reply {n}", name="Ann"))
            assert ok.status_code == 201
        refused = await http.post("/api/v1/comments", json=comment_json("again", name="ANN"))
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        error = decode_json(refused.content)
        assert error["error"] == "rate_limited"
        assert str(error["message"]).startswith("You are posting too fast under this name")
        other = await http.post("/api/v1/comments", json=comment_json("hello", name="Bob"))
        assert other.status_code == 201  # the address's third
        spent = await http.post("/api/v1/comments", json=comment_json("hi", name="Cy"))
        assert spent.status_code == 429
        assert "from your address" in str(decode_json(spent.content)["message"])
    assert len(await stored_bodies(limited, "article-1")) == 3


async def test_the_moderation_socket_refuses_bad_or_foreign_tokens(
    settings: Settings, tokens: Tokens, server: Running
) -> None:
    """An unknown token, another site's moderator, a first message that is not `auth`: an
    error frame, then close 1008. The site's moderator gets the queue."""
    for first, code in (
        ('{"type":"auth","token":"not-a-token"}', "unauthorized"),
        (f'{{"type":"auth","token":"{tokens.other}"}}', "forbidden"),
        ('{"token":"x"}', "unauthorized"),
    ):
        async with connect(moderation_url(server.port), open_timeout=WAIT) as ws:
            await ws.send(first)
            frame = events.decode_moderation(await asyncio.wait_for(ws.recv(), WAIT))
            assert isinstance(frame, events.Error) and frame.code == code, first
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), WAIT)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    async with connect(moderation_url(server.port, "nosuchsite"), open_timeout=WAIT) as ws:
        frame = events.decode_moderation(await asyncio.wait_for(ws.recv(), WAIT))
        assert isinstance(frame, events.Error) and frame.code == "not_found"
    async with moderating(server.port, tokens.news) as moderator:
        assert moderator.first.site == "news"


async def test_velocity_is_counted_once_for_every_process_on_one_redis() -> None:
    """Two processes' auto-moderation on one Redis (RedisBuckets, one shared secret): a site's
    2-a-minute author rule refuses the third post whichever process takes it, and Redis holds
    the author only as a keyed hash (no email, no plain hash of it)."""
    store = memory_storage()
    await store.open()  # nothing to close: the memory store holds no connection
    await store.sites.put(Site(name="news"))
    await store.rules.put("news", Rules(velocity_author="2/60"))
    secret = b"the deployment's secret, from the store".ljust(32)
    with RedisServer() as server:
        prefix = f"test-{uuid.uuid4().hex}:"
        holders = [RedisBuckets.on_server(server.url, prefix) for _ in range(2)]
        one, other = (
            Automod(store.rules, buckets=buckets, addresses=Addresses(secret))
            for buckets in holders
        )
        try:
            for automod, body in ((one, "first"), (other, "second")):
                await automod.screen(new_comment(body), Poster())
            with pytest.raises(Throttled, match="too fast under this name"):
                await one.screen(new_comment("third"), Poster())
            with pytest.raises(Throttled, match="too fast under this name"):
                await other.screen(new_comment("fourth"), Poster())
            probe = aioredis.Redis.from_url(server.url)
            try:
                names = b"\n".join([name async for name in probe.scan_iter(match=prefix + "*")])
            finally:
                await probe.aclose()
        finally:
            for buckets in holders:
                await buckets.aclose()
    plain = hashlib.sha256(b"news\nemail:ann@example.com").hexdigest()[:32].encode()
    assert names and b"ann" not in names.lower() and plain not in names


def new_comment(body: str) -> CleanComment:
    return CleanComment(
        site="news",
        thread="article-1",
        parent=None,
        name="Ann",
        email="Ann@Example.com",
        url=None,
        body=body,
        notify=False,
    )
