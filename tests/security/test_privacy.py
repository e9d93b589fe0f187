"""Privacy (issue item 7): readers get an allowlist of fields, never an email, an IP or an
email hash; limit keys are keyed hashes that are forgotten; `livethread user export|delete`
cover all of a person's comments, and deletion removes them from open pages live."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import sys
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect

from server import demo, events
from server.limits import Concurrency, MemoryBuckets
from server.settings import Settings
from server.tokens import UNSUBSCRIBE_SECRET
from server.web.app import store_for
from server.web.guard import Guard
from tests.support.clients import WAIT, Tokens, provision, reader
from tests.support.follower import Follower
from tests.support.server import Running, serve
from tests.support.waiting import eventually
from workers.notifications.confirmations import address_key

# What uvicorn takes as the client's address: it trusts X-Forwarded-For from 127.0.0.1 (its
# default FORWARDED_ALLOW_IPS), so the server sees this documentation address (RFC 5737).
CLIENT_IP = "203.0.113.77"
VIA = {"X-Forwarded-For": CLIENT_IP}
LOOPBACK = "127.0.0.1"

COMMENT_KEYS = {"id", "parent", "status", "author", "html", "created", "edited", "pinned"}
# A signed-in author's avatar (the publisher's URL), their account's key (a keyed hash, never
# the account id) and their badges are public; anonymous authors have them null or empty.
AUTHOR_KEYS = {"name", "url", "avatar", "key", "badges"}
THREADS = (
    ("news", "article-1"),
    ("news", "article-2"),
    ("other", "article-1"),
    (demo.SITE, demo.THREAD),
)
# The tail check runs every 0.5 s by default; a live removal must arrive well within this.
LIVE_WITHIN = 2.0
CLI_TIMEOUT = 30.0


@pytest.fixture
async def http(server: Running) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.http, timeout=WAIT, headers=VIA) as client:
        yield client


def secrets_of(email: str) -> set[str]:
    """An email as typed and as stored, and the unsalted hashes anyone could look it up by."""
    forms = {email, email.strip().lower()}
    found = set(forms)
    for form in forms:
        for algorithm in ("md5", "sha1", "sha256"):
            found.add(hashlib.new(algorithm, form.encode()).hexdigest())
    return found


def assert_clean(text: str, needles: Iterable[str], where: str) -> None:
    lowered = text.lower()
    for needle in needles:
        assert needle.lower() not in lowered, f"{needle!r} leaked in {where}: {text[:300]}"


def assert_comment_shape(comment: Any, where: str) -> None:
    """A comment object has exactly the allowlisted keys (checked on the raw JSON)."""
    assert isinstance(comment, dict), where
    assert set(comment) == COMMENT_KEYS, f"{where}: {sorted(comment)}"
    author = comment["author"]
    assert author is None or set(author) == AUTHOR_KEYS, f"{where}: {author}"


def comment_payload(site: str, thread: str, body: str, **author: object) -> dict[str, object]:
    return {"site": site, "thread": thread, "author": author, "body": body}


async def post(http: httpx.AsyncClient, payload: dict[str, object]) -> dict[str, Any]:
    answer = await http.post("/api/v1/comments", json=payload)
    assert answer.status_code == 201, answer.text
    decoded = msgspec.json.decode(answer.content)
    assert isinstance(decoded, dict)
    decoded["_raw"] = answer.text
    return decoded


class RawReader:
    """A websocket on one thread whose frames are kept as raw JSON text (no typed decoding,
    which would silently drop fields the contract does not know)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def durable(self, count: int, within: float = WAIT) -> list[str]:
        """The next `count` frames that carry a seq other than hello's and resync's."""
        got: list[str] = []
        async with asyncio.timeout(within):
            while len(got) < count:
                raw = await self.ws.recv()
                assert isinstance(raw, str)
                frame = events.decode_frame(raw)
                if isinstance(frame, events.DurableEvent):
                    got.append(raw)
        return got


async def open_raw(url: str) -> RawReader:
    async with asyncio.timeout(WAIT):
        ws = await connect(url, open_timeout=WAIT, close_timeout=2, additional_headers=VIA)
        hello = events.decode_frame(await ws.recv())
    assert isinstance(hello, events.Hello)
    return RawReader(ws)


async def test_reader_facing_data_carries_only_allowlisted_fields(
    server: Running, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    """Answers, snapshots, counts, live and replayed frames and the / page hold no email, no
    email hash, no IP, no edit token; comment objects have exactly the allowlisted keys."""
    email = "Ann.Example@Mail.Example"
    needles = secrets_of(email) | {LOOPBACK, CLIENT_IP}
    live = {key: await open_raw(server.ws(*key)) for key in THREADS}
    try:
        answers: list[dict[str, Any]] = []
        posted: dict[tuple[str, str], int] = {}
        for site, thread in THREADS:
            answers.append(
                await post(
                    http,
                    comment_payload(
                        site,
                        thread,
                        f"Hello from {site}/{thread}",
                        name="Ann Example",
                        email=email,
                        url="https://ann.example/about",
                        notify=True,
                    ),
                )
            )
            posted[(site, thread)] = 1
        first = answers[0]["comment"]["id"]
        # A reply, an edit (with the author's edit token), a removal and a restoration, so
        # every kind of comment-carrying frame is seen.
        answers.append(
            await post(
                http,
                {
                    **comment_payload("news", "article-1", "A reply", name="Ann", email=email),
                    "parent": first,
                },
            )
        )
        edited = await http.patch(
            f"/api/v1/comments/{first}",
            json={"body": "Edited text"},
            headers={"X-Edit-Token": answers[0]["edit_token"]},
        )
        assert edited.status_code == 200, edited.text
        moderator = {"Authorization": f"Bearer {tokens.news}"}
        for action in ("remove", "restore", "pin"):
            done = await http.post(
                f"/api/v1/comments/{first}/moderation", json={"action": action}, headers=moderator
            )
            assert done.status_code == 200, done.text
        posted[("news", "article-1")] += 5  # reply, edit, remove, restore, pin

        texts: dict[str, str] = {}
        for n, answer in enumerate(answers):
            texts[f"201 answer {n}"] = answer["_raw"]
            assert set(answer) - {"_raw"} == {"comment", "edit_token"}
            assert_comment_shape(answer["comment"], f"201 answer {n}")
        texts["edit answer"] = edited.text
        assert_comment_shape(edited.json()["comment"], "edit answer")

        frames: dict[str, list[str]] = {}
        for key, r in live.items():
            frames[f"live {key}"] = await r.durable(posted[key])
        for key in THREADS:
            replay = await open_raw(server.ws(*key, since=0))
            try:
                frames[f"replay {key}"] = await replay.durable(posted[key])
            finally:
                await replay.ws.close()
        kinds = set()
        for where, raws in frames.items():
            for n, raw in enumerate(raws):
                texts[f"{where} frame {n}"] = raw
                frame = msgspec.json.decode(raw)
                kinds.add(frame["type"])
                if "comment" in frame:
                    assert_comment_shape(frame["comment"], f"{where} frame {n}")
        assert {"comment.created", "comment.edited", "comment.removed"} <= kinds
        assert "comment.restored" in kinds

        for site, thread in THREADS:
            view = await http.get("/api/v1/threads", params={"site": site, "thread": thread})
            assert view.status_code == 200
            texts[f"snapshot {site}/{thread}"] = view.text
            for comment in view.json()["comments"]:
                assert_comment_shape(comment, f"snapshot {site}/{thread}")
        as_moderator = await http.get(
            "/api/v1/threads", params={"site": "news", "thread": "article-1"}, headers=moderator
        )
        assert as_moderator.json()["moderator"] is True
        texts["moderator snapshot"] = as_moderator.text
        for site, threads in (("news", ["article-1", "article-2"]), ("other", ["article-1"])):
            counts = await http.get("/api/v1/counts", params={"site": site, "thread": threads})
            assert counts.status_code == 200
            texts[f"counts {site}"] = counts.text
        page = await http.get("/")
        assert page.status_code == 200
        texts["/ page"] = page.text
        assert f"Hello from {demo.SITE}/{demo.THREAD}" in page.text  # the check is not vacuous

        edit_tokens = {a["edit_token"] for a in answers}
        for where, text in texts.items():
            assert_clean(text, needles, where)
            if not where.startswith("201 answer"):
                assert_clean(text, edit_tokens, where)
        # Not vacuous either: the website the commenter gave is public and is there.
        assert "https://ann.example/about" in texts["snapshot news/article-1"]
    finally:
        for r in live.values():
            await r.ws.close()


def guard_of(running: Running) -> Guard:
    assert isinstance(running.app, Starlette)
    guard = running.app.state.guard
    assert isinstance(guard, Guard)
    return guard


def limiters(guard: Guard) -> list[MemoryBuckets]:
    return [part for part in vars(guard).values() if isinstance(part, MemoryBuckets)]


def held_keys(guard: Guard) -> set[str]:
    """Every key the guard's limiters and socket counters hold right now."""
    keys: set[str] = set()
    for part in vars(guard).values():
        if isinstance(part, MemoryBuckets | Concurrency):
            for table in vars(part).values():
                if isinstance(table, dict):
                    # The same buckets hold auto-moderation's velocity (by author as well):
                    # not the guard's keys.
                    keys.update(key for key in table if not key.startswith("velocity:"))
    return keys


async def test_rate_limit_keys_are_keyed_hashes_and_refilled_ones_are_forgotten(
    tmp_path: Path,
) -> None:
    """With limits on, the running Guard holds no raw or plainly hashed address, and its
    limiters forget an address once its bucket has refilled (and its sockets once closed)."""
    settings = Settings(
        database=f"sqlite:///{tmp_path / 'limits.db'}",
        rate_limit=True,
        post_rate_address="3/1",
        post_rate_thread="60/1",
        post_rate_site="600/1",
        connect_rate_address="20/1",
    )
    await provision(settings)
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        guard = guard_of(running)
        statuses = []
        for n in range(10):
            answer = await http.post(
                "/api/v1/comments",
                json=comment_payload("news", "t", f"n{n}", name="Ann"),
                headers=VIA,
            )
            statuses.append(answer.status_code)
            if answer.status_code == 429:
                break
        assert statuses[-1] == 429, statuses  # the limits are on, so the keys are in use
        plain = await http.post(
            "/api/v1/comments", json=comment_payload("news", "t", "direct", name="Bo")
        )
        assert plain.status_code == 201, plain.text
        async with reader(running.ws("news", "t")):
            # Bucket keys name their limit ("post:address:HASH"); socket counts are bare.
            keys = {key.rpartition(":")[2] for key in held_keys(guard)}
        assert keys
        unkeyed = {
            hashlib.new(a, ip.encode()).hexdigest()[:32]
            for a in ("md5", "sha1", "sha256")
            for ip in (LOOPBACK, CLIENT_IP)
        }
        for key in keys:
            assert LOOPBACK not in key and CLIENT_IP not in key, key
            assert key not in unkeyed, f"{key} is a plain hash of an address"
        address_keys = keys - {"news", "news\nt"}
        assert len(address_keys) == 2  # one for each address, whatever it is
        assert all(len(k) == 32 and set(k) <= set("0123456789abcdef") for k in address_keys)

        # Sockets are released on close; buckets are forgotten once refilled (1 s here).
        def forgotten() -> bool:
            for limiter in limiters(guard):
                limiter.forget_idle()
            return not held_keys(guard)

        # Polled: buckets refill as time passes, which nothing signals.
        await eventually(forgotten, within=5.0, every=0.05)


async def livethread(*args: str) -> tuple[int, str, str]:
    """The real CLI, as a child process (the server keeps running in this event loop)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVETHREAD_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        async with asyncio.timeout(CLI_TIMEOUT):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def export(settings: Settings, email: str) -> list[dict[str, Any]]:
    code, out, err = await livethread("user", "export", email, "--database", settings.database)
    assert code == 0, err
    found = msgspec.json.decode(out)
    assert isinstance(found, list)
    return found


async def test_user_export_and_live_delete_cover_all_of_a_persons_comments(
    server: Running, http: httpx.AsyncClient, tokens: Tokens, settings: Settings
) -> None:
    """`user export` lists exactly one person's comments across threads and sites; `user
    delete` erases them while readers watch: each visible one is removed live within 2 s, the
    snapshots and replays lose their text and name, and other people's comments stay."""
    ann = {"name": "Ann Example", "email": "Ann@Example.com", "url": "https://ann.example"}
    bob = {"name": "Bob", "email": "bob@example.com"}
    keyed = {"Idempotency-Key": "ann-retry-1"}

    async def say(site: str, thread: str, body: str, who: dict[str, str], **extra: str) -> str:
        answer = await post(http, {**comment_payload(site, thread, body, **who), **extra})
        comment_id = answer["comment"]["id"]
        assert isinstance(comment_id, str)
        return comment_id

    a1 = await say("news", "article-1", "Ann's first, with a reply", ann)
    b1 = await say("news", "article-1", "Bob replies to Ann", bob, parent=a1)
    a2 = await say("news", "article-1", "Ann's second", ann)
    a5 = await say("news", "article-1", "Ann's removed one", ann)
    retried = comment_payload("news", "article-2", "Ann on another article", **ann)
    first_try = await http.post("/api/v1/comments", json=retried, headers=keyed)
    assert first_try.status_code == 201
    a3 = first_try.json()["comment"]["id"]
    c1 = await say("news", "article-2", "Carol, no email", {"name": "Carol"})
    a4 = await say("other", "article-1", "Ann on another site", ann)
    b2 = await say("other", "article-1", "Bob on another site", bob)
    removed = await http.post(
        f"/api/v1/comments/{a5}/moderation",
        json={"action": "remove"},
        headers={"Authorization": f"Bearer {tokens.news}"},
    )
    assert removed.status_code == 200
    ann_bodies = {
        a1: "Ann's first, with a reply",
        a2: "Ann's second",
        a3: "Ann on another article",
        a4: "Ann on another site",
        a5: "Ann's removed one",
    }

    exported = await export(settings, "ann@EXAMPLE.com")
    assert {c["id"]: c["body"] for c in exported} == ann_bodies
    assert {(c["site"], c["thread"]) for c in exported} == {
        ("news", "article-1"),
        ("news", "article-2"),
        ("other", "article-1"),
    }
    assert all(c["email"] == "ann@example.com" and c["name"] == "Ann Example" for c in exported)
    assert {c["status"] for c in exported} == {"visible", "removed"}
    bobs = await export(settings, "bob@example.com")
    assert {c["id"]: c["body"] for c in bobs} == {
        b1: "Bob replies to Ann",
        b2: "Bob on another site",
    }

    async def seq_of(site: str, thread: str) -> int:
        view = await http.get("/api/v1/threads", params={"site": site, "thread": thread})
        seq = view.json()["seq"]
        assert isinstance(seq, int)
        return seq

    before = await seq_of("news", "article-1")
    follower = Follower([server.http], "news", "article-1", last=before)
    follower.start()
    try:
        await follower.connected()
        async with (
            reader(server.ws("news", "article-2")) as on_article_2,
            reader(server.ws("other", "article-1")) as on_other,
        ):
            code, out, err = await livethread(
                "user", "delete", "ANN@example.com", "--database", settings.database
            )
            assert code == 0, err
            assert "erased 5 comment(s)" in out
            # The CLI has committed and exited; no bus reached this server: only the log's
            # tail check can bring the removals, and it must within LIVE_WITHIN.
            async with asyncio.timeout(LIVE_WITHIN):
                _, (gone_3,), (gone_4,) = await asyncio.gather(
                    follower.reach(before + 2, within=LIVE_WITHIN),
                    on_article_2.events(1),
                    on_other.events(1),
                )
        assert {e.id for e in follower.received if isinstance(e, events.CommentRemoved)} == {a1, a2}
        assert follower.shown[a1] is None and follower.shown[a2] is None
        assert follower.gaps == 0 and follower.resyncs == 0
        assert isinstance(gone_3, events.CommentRemoved) and gone_3.id == a3
        assert isinstance(gone_4, events.CommentRemoved) and gone_4.id == a4
    finally:
        await follower.stop()
    # Two removals only: the comment a moderator had already removed takes no event.
    assert await seq_of("news", "article-1") == before + 2

    ann_texts = [*ann_bodies.values(), "Ann Example", "ann.example", "ann@example.com"]
    moderator = {"Authorization": f"Bearer {tokens.news}"}
    for site, thread in THREADS[:3]:
        for headers in ({}, moderator) if site == "news" else ({},):
            view = await http.get(
                "/api/v1/threads", params={"site": site, "thread": thread}, headers=headers
            )
            assert_clean(view.text, ann_texts, f"snapshot {site}/{thread} {headers}")
        replay = await open_raw(server.ws(site, thread, since=0))
        try:
            frames = await replay.durable(await seq_of(site, thread))
        finally:
            await replay.ws.close()
        assert_clean("\n".join(frames), ann_texts, f"replay {site}/{thread}")

    view = (await http.get("/api/v1/threads?site=news&thread=article-1")).json()
    by_id = {c["id"]: c for c in view["comments"]}
    assert set(by_id) == {a1, b1}  # Ann's first stays as a tombstone: Bob's reply hangs below
    assert by_id[a1]["status"] == "removed" and by_id[a1]["author"] is None
    assert by_id[b1]["author"]["name"] == "Bob"
    assert by_id[b1]["html"] == "<p>Bob replies to Ann</p>"
    view = (await http.get("/api/v1/threads?site=news&thread=article-2")).json()
    assert [c["id"] for c in view["comments"]] == [c1]
    view = (await http.get("/api/v1/threads?site=other&thread=article-1")).json()
    assert [c["id"] for c in view["comments"]] == [b2]

    # A late retry of a keyed post gets the comment as it is now, not the stored first answer.
    retry = await http.post("/api/v1/comments", json=retried, headers=keyed)
    assert retry.status_code == 201
    assert retry.json()["comment"]["id"] == a3
    assert retry.json()["comment"]["status"] == "removed"
    assert_clean(retry.text, ann_texts, "a retried post's answer")

    assert await export(settings, "ann@example.com") == []
    assert await export(settings, "bob@example.com") == bobs


def every_stored_value(path: str) -> bytes:
    """Every value of every column of every table of a SQLite file, as bytes."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        tables = [
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        values = [
            value
            for table in tables
            for row in conn.execute(f'SELECT * FROM "{table}"')
            for value in row
        ]
    return b"\n".join(v if isinstance(v, bytes) else str(v).encode() for v in values)


async def test_no_table_or_wal_holds_an_edit_token_or_an_idempotency_key(
    settings: Settings, tokens: Tokens, http: httpx.AsyncClient
) -> None:
    """After keyed posts, neither any table nor the WAL (after a checkpoint) holds an edit token
    or a raw Idempotency-Key; a retry with the key gets the same token, which edits the comment;
    another key gets another comment, whose token does not."""
    path = settings.database.removeprefix("sqlite:///")
    body = comment_payload("news", "article-1", "Keyed, and private about it", name="Ann")
    posted: list[tuple[str, str, str]] = []
    for _ in range(3):
        key = f"widget-{uuid.uuid4()}"
        answer = await http.post("/api/v1/comments", json=body, headers={"Idempotency-Key": key})
        assert answer.status_code == 201, answer.text
        posted.append((key, answer.json()["comment"]["id"], answer.json()["edit_token"]))
    secrets = [s.encode() for key, _, token in posted for s in (key, token)]
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    stored = every_stored_value(path)
    files = [await asyncio.to_thread(Path(p).read_bytes) for p in (path, f"{path}-wal")]
    for secret in secrets:
        assert secret not in stored
        assert all(secret not in data for data in files)

    key, comment_id, token = posted[0]
    retry = await http.post("/api/v1/comments", json=body, headers={"Idempotency-Key": key})
    assert (retry.json()["comment"]["id"], retry.json()["edit_token"]) == (comment_id, token)
    edited = await http.patch(
        f"/api/v1/comments/{comment_id}",
        json={"body": "Changed by its author"},
        headers={"X-Edit-Token": retry.json()["edit_token"]},
    )
    assert edited.status_code == 200, edited.text
    other = await http.post("/api/v1/comments", json=body, headers={"Idempotency-Key": "another"})
    assert other.json()["comment"]["id"] != comment_id and other.json()["edit_token"] != token
    refused = await http.patch(
        f"/api/v1/comments/{comment_id}",
        json={"body": "Not yours"},
        headers={"X-Edit-Token": other.json()["edit_token"]},
    )
    assert refused.status_code == 403


async def test_user_delete_forgets_the_addresss_reply_mail_consent(settings: Settings) -> None:
    """`user delete EMAIL` also forgets that the address confirmed reply mail (kept as a keyed
    hash): a later comment with it would be asked to confirm again."""
    await provision(settings)
    store = store_for(settings)
    await store.open()
    try:
        secret = await store.secrets.get(UNSUBSCRIBE_SECRET)
        key = address_key(secret, "Ann@Example.com")
        assert await store.addresses.confirm(key, 1.0)
        kept = address_key(secret, "bob@example.com")
        assert await store.addresses.confirm(kept, 1.0)
    finally:
        await store.close()
    code, out, err = await livethread(
        "user", "delete", "ANN@example.com", "--database", settings.database
    )
    assert code == 0 and "erased 0 comment(s)" in out, err
    store = store_for(settings)
    await store.open()
    try:
        assert await store.addresses.get(key) is None
        assert await store.addresses.get(kept) is not None
    finally:
        await store.close()
