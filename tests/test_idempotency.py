"""Idempotency answers expire, and erasing a person's comments erases the answers kept for them."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from server.adapters.memory_bus import MemoryBus
from server.adapters.sqlite_migrations import MIGRATIONS
from server.adapters.sqlite_store import sqlite_storage
from server.composition import comments_for
from server.model import Site, ThreadKey
from server.settings import Settings
from server.storage import Storage
from server.threads.idempotency import fingerprint, key_hash
from server.threads.ports import ERASED
from server.tokens import token_hash
from server.web.app import store_for
from tests.security.test_privacy import livethread
from tests.support.clients import WAIT, Tokens
from tests.support.parts import new_comment
from tests.support.server import serve

TTL = 60.0
TEXT = "Something I would rather take back"


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Storage]:
    """The test's store with site "news"."""
    opened = store_for(Settings(database=database_url))
    await opened.open()
    await opened.sites.put(Site(name="news"))
    try:
        yield opened
    finally:
        await opened.close()


async def recall(store: Storage, key: str) -> bytes | None:
    async with store.threads.transaction(ThreadKey("news", "t")) as tx:
        answer = await tx.recall(key_hash(key))
    return None if answer is None else answer.body


async def test_an_expired_answer_is_forgotten_and_its_key_then_posts_anew(
    store: Storage,
) -> None:
    """Within the expiry a retry gets the first answer; past it the next keyed post prunes the
    answer, and a retry with the old key posts a new comment (as after Stripe's 24 hours)."""
    bus = MemoryBus()
    await bus.start()
    clock = [1_700_000_000.0]
    comments = comments_for(store, bus, clock=lambda: clock[0], idempotency_ttl=TTL)
    try:
        first = await comments.post(new_comment(TEXT), "k1")
        clock[0] += TTL - 1
        assert (await comments.post(new_comment(TEXT), "k1")).comment.id == first.comment.id
        clock[0] += 2  # now TTL + 1 after the first post
        await comments.post(new_comment("Another post, with its own key"), "k2")
        assert await recall(store, "k1") is None
        assert await recall(store, "k2") is not None
        late = await comments.post(new_comment(TEXT), "k1")
        assert late.comment.id != first.comment.id
        _, records = await store.comments.of_thread(ThreadKey("news", "t"))
        assert [r.body_source for r in records].count(TEXT) == 2
    finally:
        await bus.close()


async def test_the_expiry_setting_reaches_the_server(settings: Settings, tokens: Tokens) -> None:
    """LIVETHREAD_IDEMPOTENCY_TTL_SECONDS is the server's expiry: with a microsecond, a retry
    one round trip later is a new post."""
    short = settings.replace(idempotency_ttl_seconds=1e-6)
    body = {"site": "news", "thread": "article-1", "author": {"name": "Ann"}, "body": TEXT}
    keyed = {"Idempotency-Key": "quick"}
    async with (
        serve(short) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        first = await http.post("/api/v1/comments", json=body, headers=keyed)
        again = await http.post("/api/v1/comments", json=body, headers=keyed)
        assert first.status_code == again.status_code == 201
        assert first.json()["comment"]["id"] != again.json()["comment"]["id"]


async def test_after_user_delete_a_retry_gets_no_text_and_posts_nothing(
    settings: Settings, tokens: Tokens
) -> None:
    """`livethread user delete` erases the answer kept for a keyed post: the stored answer
    holds no text, name or fingerprint, and a retry with the old key (same body or not) gets
    the erased comment, with no text, and stores no new comment."""
    ann = {"name": "Ann Example", "email": "ann@example.com", "url": "https://ann.example"}
    body = {"site": "news", "thread": "article-1", "author": ann, "body": TEXT}
    keyed = {"Idempotency-Key": "ann-1"}
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        first = await http.post("/api/v1/comments", json=body, headers=keyed)
        assert first.status_code == 201
        comment_id = first.json()["comment"]["id"]
        code, out, err = await livethread(
            "user", "delete", "ann@example.com", "--database", settings.database
        )
        assert code == 0, err
        assert "erased 1 comment(s)" in out
        for retried in (body, {**body, "body": "A different text"}):
            retry = await http.post("/api/v1/comments", json=retried, headers=keyed)
            assert retry.status_code == 201
            assert retry.json()["comment"]["id"] == comment_id
            for needle in (TEXT, "Ann Example", "ann.example"):
                assert needle not in retry.text
        view = await http.get("/api/v1/threads", params={"site": "news", "thread": "article-1"})
        assert TEXT not in view.text
    store = store_for(settings)
    await store.open()
    try:
        async with store.threads.transaction(ThreadKey("news", "article-1")) as tx:
            kept = await tx.recall(key_hash("ann-1"))
        assert kept is not None and kept.fingerprint == ERASED
        for text in (TEXT, "Ann Example", "ann.example"):
            assert text.encode() not in kept.body
        _, records = await store.comments.of_thread(ThreadKey("news", "article-1"))
        assert [r.id for r in records] == [comment_id]
    finally:
        await store.close()


@pytest.mark.sqlite_only
async def test_a_retry_of_an_answer_kept_before_migration_10_gets_its_comment_without_a_token(
    tmp_path: Path,
) -> None:
    """Migration 10 hashes the keys of answers kept before it and strips their edit tokens: a
    retry with such a key still gets its comment (no second one is stored), with no token."""
    path = tmp_path / "nine.db"
    new = new_comment(TEXT)
    token = "the-old-plain-token"
    with closing(sqlite3.connect(path)) as conn:
        for migration in MIGRATIONS[:9]:
            for statement in migration:
                conn.execute(statement)
        conn.execute("INSERT INTO sites (name) VALUES ('news')")
        conn.execute(
            "INSERT INTO comments (id, site, thread, parent, author_name, body_source, "
            "body_html, status, created_at, edit_token_hash) "
            "VALUES ('c1', 'news', 't', NULL, 'Ann', ?, ?, 'visible', ?, ?)",
            (TEXT, f"<p>{TEXT}</p>", time.time(), token_hash(token)),
        )
        old = b'{"comment":{"id":"c1","parent":null,"status":"visible","author":{"name":"Ann"},'
        old += b'"html":"x","created":"2026-01-01T00:00:00Z"},"edit_token":"%s"}' % token.encode()
        conn.execute(
            "INSERT INTO idempotency (site, key, fingerprint, status, body, created_at, "
            "comment_id) VALUES ('news', 'old-key', ?, 201, ?, ?, 'c1')",
            (fingerprint(new), old, time.time()),
        )
        conn.execute("PRAGMA user_version = 9")
        conn.commit()
    store = sqlite_storage(str(path))
    await store.open()
    bus = MemoryBus()
    await bus.start()
    try:
        retry = await comments_for(store, bus).post(new, "old-key")
        assert (retry.comment.id, retry.edit_token) == ("c1", "")
        _, records = await store.comments.of_thread(ThreadKey("news", "t"))
        assert [r.id for r in records] == ["c1"]
    finally:
        await bus.close()
        await store.close()
