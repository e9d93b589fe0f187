"""End to end: real uvicorn on port 0, websockets clients, SQLite store, in-process bus."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from server import events
from server.model import CommentRecord, Site, ThreadKey, public
from server.settings import Settings
from server.threads import history
from server.web.app import store_for
from tests.support.clients import WAIT, Tokens, comment_json, decode_json, provision, reader
from tests.support.server import Running, serve

SITE, THREAD = "news", "article-1"


def mod(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def post(http: httpx.AsyncClient, **kw: object) -> dict[str, object]:
    answer = await http.post("/api/v1/comments", json=comment_json(**kw))  # type: ignore[arg-type]
    assert answer.status_code == 201, answer.text
    return decode_json(answer.content)


def comment_id(answer: dict[str, object]) -> str:
    comment = answer["comment"]
    assert isinstance(comment, dict)
    value = comment["id"]
    assert isinstance(value, str)
    return value


async def snapshot(http: httpx.AsyncClient, thread: str = THREAD) -> dict[str, object]:
    answer = await http.get("/api/v1/threads", params={"site": SITE, "thread": thread})
    assert answer.status_code == 200, answer.text
    return decode_json(answer.content)


async def test_post_reaches_every_socket_with_next_seq(
    server: Running, http: httpx.AsyncClient
) -> None:
    """A post arrives on every socket of the thread as comment.created with the next seq."""
    async with reader(server.ws(SITE, THREAD)) as a, reader(server.ws(SITE, THREAD)) as b:
        first = await post(http, body="First!")
        await post(http, body="Second", parent=comment_id(first))
        for r in (a, b):
            got = await r.events(2)
            assert [type(e) for e in got] == [events.CommentCreated, events.CommentCreated]
            assert [e.seq for e in got] == [1, 2]
            created = got[1]
            assert isinstance(created, events.CommentCreated)
            assert created.comment.parent == comment_id(first)
            assert created.comment.html == "<p>Second</p>"


async def test_post_answer_and_events_never_carry_email(
    server: Running, http: httpx.AsyncClient
) -> None:
    """The email a commenter leaves is in no answer, snapshot or event readers receive."""
    async with reader(server.ws(SITE, THREAD)) as r:
        data = comment_json(body="Hi")
        data["author"] = {"name": "Ann", "email": "ann@example.com", "url": "https://ann.example"}
        answer = await http.post("/api/v1/comments", json=data)
        assert answer.status_code == 201
        frame = await r.ws.recv()
        assert "ann@example.com" not in answer.text
        assert "ann@example.com" not in str(frame)
        assert (
            "ann@example.com"
            not in (await http.get(f"/api/v1/threads?site={SITE}&thread={THREAD}")).text
        )
        assert "https://ann.example" in str(frame)


async def test_moderator_removal_reaches_readers_and_leaves_tombstone(
    server: Running, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    """A removal reaches every socket as comment.removed; the snapshot keeps only a tombstone."""
    parent = comment_id(await post(http, body="Secret parent text", name="Mallory"))
    await post(http, body="A reply that stays", parent=parent)
    async with reader(server.ws(SITE, THREAD)) as a, reader(server.ws(SITE, THREAD)) as b:
        answer = await http.post(
            f"/api/v1/comments/{parent}/moderation",
            json={"action": "remove", "reason": "spam"},
            headers=mod(tokens.news),
        )
        assert answer.status_code == 200, answer.text
        for r in (a, b):
            (removed,) = await r.events(1)
            assert removed == events.CommentRemoved(seq=3, id=parent)
    view = await snapshot(http)
    assert view["count"] == 1
    text = str(view)
    assert "Secret parent text" not in text
    assert "Mallory" not in text
    comments = view["comments"]
    assert isinstance(comments, list)
    assert comments[0]["status"] == "removed"
    assert comments[0]["author"] is None


async def test_since_replays_exactly_the_missed_events(
    server: Running, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    """A socket opened with since=N receives the events after N, in order, then live ones."""
    ids = [comment_id(await post(http, body=f"Comment {n}")) for n in range(4)]
    await http.post(
        f"/api/v1/comments/{ids[0]}/moderation", json={"action": "remove"}, headers=mod(tokens.news)
    )
    async with reader(server.ws(SITE, THREAD, since=2)) as r:
        replayed = await r.events(3)
        assert [e.seq for e in replayed] == [3, 4, 5]
        assert isinstance(replayed[2], events.CommentRemoved)
        await post(http, body="Live one")
        (live,) = await r.events(1)
        assert live.seq == 6


async def test_replay_never_shows_a_removed_body(
    server: Running, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    """Replaying from before a removal gives the comment's place but never its text again."""
    removed = comment_id(await post(http, body="Regrettable words", name="Troll"))
    await http.post(
        f"/api/v1/comments/{removed}/moderation",
        json={"action": "remove"},
        headers=mod(tokens.news),
    )
    async with reader(server.ws(SITE, THREAD, since=0)) as r:
        created, gone = await r.events(2)
        assert isinstance(created, events.CommentCreated)
        assert created.comment.html is None
        assert created.comment.author is None
        assert gone == events.CommentRemoved(seq=2, id=removed)


async def test_since_ahead_of_the_thread_gets_resync(
    server: Running, http: httpx.AsyncClient
) -> None:
    """A client claiming a seq the thread never reached is told to resync, then gets live events."""
    await post(http, body="one")
    async with reader(server.ws(SITE, THREAD, since=99)) as r:
        resync = await r.expect(events.Resync)
        assert resync.seq == 1
        await post(http, body="two")
        (live,) = await r.events(1)
        assert live.seq == 2


async def test_validation_errors_are_422_per_field_and_change_nothing(
    server: Running, http: httpx.AsyncClient
) -> None:
    """An empty form gets both of the seed's messages, field by field, and stores nothing."""
    async with reader(server.ws(SITE, THREAD)) as r:
        answer = await http.post("/api/v1/comments", json=comment_json(body=" ", name=""))
        assert answer.status_code == 422
        fields = decode_json(answer.content)["fields"]
        assert fields == {
            "author.name": "Please enter your name here",
            "body": "Please enter your comment!",
        }
        bad_parent = await http.post("/api/v1/comments", json=comment_json(parent="nope"))
        assert bad_parent.status_code == 422
        assert "parent" in str(decode_json(bad_parent.content)["fields"])
        assert (await http.post("/api/v1/comments", content=b"{not json")).status_code == 400
        view = await snapshot(http)
        assert view["seq"] == 0
        assert view["count"] == 0
        await post(http, body="the first real event")
        (first,) = await r.events(1)
        assert first.seq == 1


async def test_parent_must_be_in_the_same_thread(server: Running, http: httpx.AsyncClient) -> None:
    """Replying to a comment of another thread is refused."""
    elsewhere = comment_id(await post(http, body="elsewhere", thread="article-2"))
    answer = await http.post("/api/v1/comments", json=comment_json(parent=elsewhere))
    assert answer.status_code == 422


async def test_unknown_site_is_404(server: Running, http: httpx.AsyncClient) -> None:
    """Posting to or reading a site that was never added is 404."""
    data = comment_json()
    data["site"] = "nosuchsite"
    assert (await http.post("/api/v1/comments", json=data)).status_code == 404
    assert (await http.get("/api/v1/threads?site=nosuchsite&thread=a")).status_code == 404


async def test_moderation_needs_the_right_token(
    server: Running, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    """No token is 401, an unknown token 401, another site's token 403; nothing changes."""
    target = comment_id(await post(http, body="keep me"))
    url = f"/api/v1/comments/{target}/moderation"
    body = {"action": "remove"}
    assert (await http.post(url, json=body)).status_code == 401
    assert (await http.post(url, json=body, headers=mod("forged"))).status_code == 401
    assert (await http.post(url, json=body, headers=mod(tokens.other))).status_code == 403
    lock = {"site": SITE, "thread": THREAD, "action": "lock"}
    wrong = await http.post("/api/v1/threads/moderation", json=lock, headers=mod(tokens.other))
    assert wrong.status_code == 403
    view = await snapshot(http)
    assert view["seq"] == 1
    assert view["count"] == 1
    assert view["locked"] is False


async def test_locked_thread_refuses_posts_with_409(
    server: Running, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    """Locking is broadcast, a post to a locked thread is 409, unlocking reopens it."""
    async with reader(server.ws(SITE, THREAD)) as r:
        lock = {"site": SITE, "thread": THREAD, "action": "lock"}
        answer = await http.post("/api/v1/threads/moderation", json=lock, headers=mod(tokens.news))
        assert answer.status_code == 200
        assert decode_json(answer.content)["locked"] is True
        refused = await http.post("/api/v1/comments", json=comment_json())
        assert refused.status_code == 409
        unlock = {"site": SITE, "thread": THREAD, "action": "unlock"}
        await http.post("/api/v1/threads/moderation", json=unlock, headers=mod(tokens.news))
        await post(http, body="open again")
        got = await r.events(3)
        assert [type(e) for e in got] == [
            events.ThreadLocked,
            events.ThreadUnlocked,
            events.CommentCreated,
        ]


async def test_author_edits_and_deletes_with_the_edit_token(
    server: Running, http: httpx.AsyncClient
) -> None:
    """The edit token lets the author edit (broadcast in place) and delete; others get 403."""
    first = await post(http, body="Typo hree")
    cid, token = comment_id(first), str(first["edit_token"])
    async with reader(server.ws(SITE, THREAD)) as r:
        url = f"/api/v1/comments/{cid}"
        denied = await http.patch(url, json={"body": "hijack"}, headers={"X-Edit-Token": "x"})
        assert denied.status_code == 403
        edited = await http.patch(url, json={"body": "Typo here"}, headers={"X-Edit-Token": token})
        assert edited.status_code == 200, edited.text
        (event,) = await r.events(1)
        assert isinstance(event, events.CommentEdited)
        assert event.comment.html == "<p>Typo here</p>"
        assert event.comment.edited is not None
        deleted = await http.delete(url, headers={"X-Edit-Token": token})
        assert deleted.status_code == 200
        (gone,) = await r.events(1)
        assert gone == events.CommentRemoved(seq=3, id=cid)
    assert (await snapshot(http))["count"] == 0


async def test_edit_window_closes(tmp_path: object, settings: Settings) -> None:
    """After the edit window the author's token no longer edits."""
    closed = settings.replace(edit_window_seconds=0.0)
    await provision(closed)
    async with serve(closed) as running, httpx.AsyncClient(base_url=running.http) as http:
        first = await post(http, body="Too late to fix")
        answer = await http.patch(
            f"/api/v1/comments/{comment_id(first)}",
            json={"body": "fixed"},
            headers={"X-Edit-Token": str(first["edit_token"])},
        )
        assert answer.status_code == 403
        assert "within 0 minutes" in answer.text


async def test_restore_and_counts(server: Running, http: httpx.AsyncClient, tokens: Tokens) -> None:
    """Counts follow removal and restore; restore brings the comment back to readers live."""
    cid = comment_id(await post(http, body="Back soon"))
    await post(http, body="Other thread", thread="article-2")
    url = f"/api/v1/comments/{cid}/moderation"

    async def counts() -> object:
        answer = await http.get(
            "/api/v1/counts", params=[("site", SITE), ("thread", THREAD), ("thread", "article-2")]
        )
        return decode_json(answer.content)["counts"]

    assert await counts() == {THREAD: 1, "article-2": 1}
    await http.post(url, json={"action": "remove"}, headers=mod(tokens.news))
    assert await counts() == {THREAD: 0, "article-2": 1}
    async with reader(server.ws(SITE, THREAD)) as r:
        await http.post(url, json={"action": "restore"}, headers=mod(tokens.news))
        (restored,) = await r.events(1)
        assert isinstance(restored, events.CommentRestored)
        assert restored.comment.html == "<p>Back soon</p>"
    assert await counts() == {THREAD: 1, "article-2": 1}


async def test_same_idempotency_key_posts_once(server: Running, http: httpx.AsyncClient) -> None:
    """A retry with the same Idempotency-Key gets the first answer; one comment is stored."""
    headers = {"Idempotency-Key": "retry-1"}
    first = await http.post("/api/v1/comments", json=comment_json(body="once"), headers=headers)
    again = await http.post("/api/v1/comments", json=comment_json(body="once"), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.content == again.content
    other = await http.post("/api/v1/comments", json=comment_json(body="twice"), headers=headers)
    assert other.status_code == 422
    assert (await snapshot(http))["count"] == 1


async def test_socket_with_bad_parameters_closes_with_1008(server: Running) -> None:
    """A socket for an unknown site, or with a bad since, gets an error frame and close 1008."""
    for url in (server.ws("nosuchsite", THREAD), server.ws(SITE, THREAD) + "&since=-1"):
        async with connect(url, open_timeout=WAIT) as ws:
            frame = events.decode_frame(await asyncio.wait_for(ws.recv(), WAIT))
            assert isinstance(frame, events.Error)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), WAIT)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1008


async def test_oversized_message_from_client_closes_with_1009(server: Running) -> None:
    """A client frame over the 64 KiB cap closes the socket with 1009."""
    async with connect(server.ws(SITE, THREAD), open_timeout=WAIT, max_size=None) as ws:
        await asyncio.wait_for(ws.recv(), WAIT)  # hello
        await ws.send("x" * (65536 + 1))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), WAIT)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009


async def test_request_body_over_limit_is_413(server: Running, http: httpx.AsyncClient) -> None:
    """An HTTP body over the limit is refused with 413 before it is read whole."""
    answer = await http.post("/api/v1/comments", content=b"{" + b" " * 70000 + b"}")
    assert answer.status_code == 413


async def test_unpublished_event_is_repaired_from_the_store(
    server: Running, http: httpx.AsyncClient, settings: Settings
) -> None:
    """An event committed elsewhere but never published reaches readers, in order, with the next."""
    async with reader(server.ws(SITE, THREAD)) as r:
        elsewhere = store_for(settings)
        await elsewhere.open()
        try:
            record = CommentRecord(
                id="lost1",
                site=SITE,
                thread=THREAD,
                parent=None,
                author_name="Ghost",
                body_source="committed, never published",
                body_html="<p>committed, never published</p>",
                created_at=time.time(),
            )
            async with elsewhere.threads.transaction(ThreadKey(SITE, THREAD)) as tx:
                await tx.insert_comment(record)
                await history.append(
                    tx, events.CommentCreated(seq=0, comment=public(record)), record.id
                )
        finally:
            await elsewhere.close()
        await post(http, body="the next one")
        got = await r.events(2)
        assert [e.seq for e in got] == [1, 2]
        first = got[0]
        assert isinstance(first, events.CommentCreated) and first.comment.id == "lost1"


async def test_premoderated_comment_waits_for_approval(
    settings: Settings, tokens: Tokens, server: Running, http: httpx.AsyncClient
) -> None:
    """On a pre-moderated site a post is held (no event, not in the snapshot) until approved."""
    store = store_for(settings)
    await store.open()
    try:
        await store.sites.put(Site(name=SITE, premoderate=True))
    finally:
        await store.close()
    async with reader(server.ws(SITE, THREAD)) as r:
        held = await post(http, body="Please approve me")
        assert held["comment"]["status"] == "pending"  # type: ignore[index]
        assert (await snapshot(http))["count"] == 0
        rejected = comment_id(await post(http, body="Reject me"))
        answer = await http.post(
            f"/api/v1/comments/{comment_id(held)}/moderation",
            json={"action": "approve"},
            headers=mod(tokens.news),
        )
        assert answer.status_code == 200
        (approved,) = await r.events(1)
        assert isinstance(approved, events.CommentApproved)
        assert approved.seq == 1 and approved.comment.html == "<p>Please approve me</p>"
        no = await http.post(
            f"/api/v1/comments/{rejected}/moderation",
            json={"action": "reject"},
            headers=mod(tokens.news),
        )
        assert no.status_code == 200
    view = await snapshot(http)
    assert view["count"] == 1 and view["seq"] == 1


async def test_health_reports_the_bus(http: httpx.AsyncClient) -> None:
    """`/healthz` answers 200, says whether the bus is connected and how far workers lag."""
    answer = await http.get("/healthz")
    assert answer.status_code == 200
    health = decode_json(answer.content)
    assert health["status"] == "ok"
    assert health["bus"] == "connected"
    assert health["workers"] == {
        "webhooks": {"events_behind": 0, "seconds_behind": 0.0},
        "notifications": {"events_behind": 0, "seconds_behind": 0.0},
        "automod": {"events_behind": 0, "seconds_behind": 0.0},
    }


async def test_moderation_reason_has_a_length_limit(
    server: Running, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    """A moderation reason over 500 characters is 422 naming `reason`; the comment stays."""
    target = comment_id(await post(http, body="still here"))
    answer = await http.post(
        f"/api/v1/comments/{target}/moderation",
        json={"action": "remove", "reason": "x" * 501},
        headers=mod(tokens.news),
    )
    assert answer.status_code == 422
    assert "reason" in decode_json(answer.content)["fields"]  # type: ignore[operator]
    assert (await snapshot(http))["count"] == 1
