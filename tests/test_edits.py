"""Edits pass the rules a post passes, a held edit waits beside the approved text, and no
replay or later webhook delivery carries text an edit replaced. Real server, real sockets."""

from __future__ import annotations

import httpx

from server import events
from server.model import Moderator, Site, ThreadKey
from server.moderation.rules import Rules
from server.settings import Settings
from server.tokens import token_hash
from server.web.app import store_for
from tests.support.clients import WAIT, Tokens, comment_json, decode_json, reader
from tests.support.moderation import moderating, set_rules
from tests.support.parts import new_comment, use_cases
from tests.support.rows import stored_payloads
from tests.support.server import serve
from tests.test_webhooks import _hook, receiving
from workers.webhooks.worker import Webhooks

THREAD = "article-1"
SNAPSHOT = f"/api/v1/threads?site=news&thread={THREAD}"
OLD = "The first text, as approved"
LINKS = " ".join(f"https://shop{n}.example/deal" for n in range(4))


def mod(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def posted(http: httpx.AsyncClient, body: str = OLD) -> tuple[str, str]:
    """Post a comment; its id and edit token."""
    answer = await http.post("/api/v1/comments", json=comment_json(body, thread=THREAD))
    assert answer.status_code == 201, answer.text
    data = decode_json(answer.content)
    comment = data["comment"]
    assert isinstance(comment, dict)
    return str(comment["id"]), str(data["edit_token"])


async def edit(http: httpx.AsyncClient, cid: str, token: str, body: str) -> httpx.Response:
    return await http.patch(
        f"/api/v1/comments/{cid}", json={"body": body}, headers={"X-Edit-Token": token}
    )


async def decide(http: httpx.AsyncClient, cid: str, action: str, token: str) -> None:
    answer = await http.post(
        f"/api/v1/comments/{cid}/moderation", json={"action": action}, headers=mod(token)
    )
    assert answer.status_code == 200, answer.text


async def snapshot_text(http: httpx.AsyncClient) -> str:
    answer = await http.get(SNAPSHOT)
    assert answer.status_code == 200
    return answer.text


async def test_an_edit_with_a_banned_word_is_refused_and_the_old_text_stays(
    settings: Settings, tokens: Tokens
) -> None:
    """An author's edit carrying a banned word is a 422 naming `body`; nothing changes."""
    await set_rules(settings, "news", Rules(banned=("viagra",)))
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        cid, token = await posted(http)
        refused = await edit(http, cid, token, "Now buy V.I.A.G.R.A here")
        assert refused.status_code == 422
        fields = decode_json(refused.content)["fields"]
        assert isinstance(fields, dict) and fields["body"].startswith("Please remove: ")
        text = await snapshot_text(http)
        assert OLD in text and "VIAGRA" not in text.upper().replace(".", "")


async def test_a_held_edit_keeps_the_old_text_until_approved_then_goes_live(
    settings: Settings, tokens: Tokens
) -> None:
    """An edit with four links is held: readers' snapshot, replay and socket keep the old text,
    the author is told it awaits approval, the moderators' queue gets it as an edit; approving
    publishes the new text live as comment.edited."""
    await set_rules(settings, "news", Rules(links_max=3))
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
        moderating(running.port, tokens.news) as moderator,
        reader(running.ws("news", THREAD)) as live,
    ):
        cid, token = await posted(http)
        await live.events(1)
        answer = await edit(http, cid, token, LINKS)
        assert answer.status_code == 200, answer.text
        mine = decode_json(answer.content)["comment"]
        assert isinstance(mine, dict) and mine["pending_edit"] is True
        assert "shop3.example" in str(mine["html"])

        added = await moderator.expect(events.QueueAdded)
        assert (added.item.comment.id, added.item.state, added.item.edit) == (cid, "pending", True)
        assert added.item.reason is not None and added.item.reason.startswith("edit held: 4 links")
        assert added.item.comment.html is not None and "shop3.example" in added.item.comment.html

        text = await snapshot_text(http)
        assert OLD in text and "shop3.example" not in text
        async with reader(running.ws("news", THREAD, since=0)) as late:
            (replayed,) = await late.events(1)
        assert isinstance(replayed, events.CommentCreated) and OLD in str(replayed.comment.html)
        marker, _ = await posted(http, "A later comment")
        (next_live,) = await live.events(1)
        assert isinstance(next_live, events.CommentCreated) and next_live.comment.id == marker

        await decide(http, cid, "approve", tokens.news)
        (published,) = await live.events(1)
        assert isinstance(published, events.CommentEdited) and published.comment.id == cid
        assert "shop3.example" in str(published.comment.html)
        assert await moderator.expect(events.QueueRemoved) == events.QueueRemoved(id=cid)
        assert "shop3.example" in await snapshot_text(http)


async def test_a_rejected_edit_leaves_the_approved_text(settings: Settings, tokens: Tokens) -> None:
    """Rejecting a held edit discards its text: no event, readers keep the approved text."""
    await set_rules(settings, "news", Rules(links_max=3))
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
        moderating(running.port, tokens.news) as moderator,
        reader(running.ws("news", THREAD)) as live,
    ):
        cid, token = await posted(http)
        await live.events(1)
        assert (await edit(http, cid, token, LINKS)).status_code == 200
        await moderator.expect(events.QueueAdded)
        await decide(http, cid, "reject", tokens.news)
        assert await moderator.expect(events.QueueRemoved) == events.QueueRemoved(id=cid)
        marker, _ = await posted(http, "A later comment")
        (next_live,) = await live.events(1)
        assert isinstance(next_live, events.CommentCreated) and next_live.comment.id == marker
        text = await snapshot_text(http)
        assert OLD in text and "shop3.example" not in text
    store = store_for(settings)
    await store.open()
    try:
        kept = await store.comments.get(cid)
    finally:
        await store.close()
    assert kept is not None and kept.body_source == OLD and kept.pending_body_source is None


async def test_on_a_premoderated_site_an_approved_comments_edit_is_held(
    settings: Settings, tokens: Tokens
) -> None:
    """Pre-moderation holds an approved comment's later edit, however clean, until approved."""
    store = store_for(settings)
    await store.open()
    try:
        await store.sites.put(
            Site(name="news", origins=("https://news.example",), premoderate=True)
        )
    finally:
        await store.close()
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
        moderating(running.port, tokens.news) as moderator,
        reader(running.ws("news", THREAD)) as live,
    ):
        cid, token = await posted(http)
        await moderator.expect(events.QueueAdded)
        await decide(http, cid, "approve", tokens.news)
        await moderator.expect(events.QueueRemoved)
        (approved,) = await live.events(1)
        assert isinstance(approved, events.CommentApproved)
        answer = await edit(http, cid, token, "A quiet, clean change of mind")
        assert decode_json(answer.content)["comment"]["pending_edit"] is True  # type: ignore[index]
        added = await moderator.expect(events.QueueAdded)
        assert added.item.edit and added.item.reason is not None
        assert added.item.reason.startswith("edit held: ")
        text = await snapshot_text(http)
        assert OLD in text and "change of mind" not in text
        await decide(http, cid, "approve", tokens.news)
        (published,) = await live.events(1)
        assert isinstance(published, events.CommentEdited)
        assert "change of mind" in str(published.comment.html)


async def test_after_an_edit_a_replay_from_zero_holds_only_the_current_text(
    settings: Settings, tokens: Tokens
) -> None:
    """A moderator edits a phone number out: a replay from seq 0 (socket and store), and every
    row of the events table, carry only the new text."""
    phone = "call me on 555-0142"
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        cid, _ = await posted(http, f"Great article, {phone}")
        answer = await http.patch(
            f"/api/v1/comments/{cid}",
            json={"body": "Great article, [number removed]"},
            headers=mod(tokens.news),
        )
        assert answer.status_code == 200, answer.text
        async with reader(running.ws("news", THREAD, since=0)) as late:
            replayed = await late.events(2)
        assert [events.event_type(e) for e in replayed] == ["comment.created", "comment.edited"]
        for event in replayed:
            assert isinstance(event, events.CommentCreated | events.CommentEdited)
            assert "[number removed]" in str(event.comment.html)
            assert "555-0142" not in str(event.comment.html)
    store = store_for(settings)
    await store.open()
    try:
        stored = await store.log.events_after(ThreadKey("news", THREAD), 0, 100)
    finally:
        await store.close()
    assert stored and all(b"555-0142" not in e.payload for e in stored)
    rows = await stored_payloads(settings.database)
    assert rows and all(b"555-0142" not in row for row in rows)


async def test_a_webhook_delivery_sent_after_an_edit_carries_only_the_new_text(
    database_url: str,
) -> None:
    """A delivery queued before an edit and sent after it carries the edited text, not the old."""
    async with (
        use_cases(database_url, Site(name="news")) as (store, _, comments),
        receiving() as receiver,
    ):
        await _hook(store, receiver, "news", "news", ("comment.created",))
        await store.moderators.put(Moderator(name="Mo", site="news"), token_hash("mo-token"))
        first = await comments.post(new_comment("Ring 555-0199 for a deal"))
        hooks = Webhooks(
            store.webhooks, store.deliveries, store.cursors, allow_private=True, backoff=(0.05, 0.2)
        )
        try:
            for entry in await store.log.after(0, 10):
                await hooks.handle(entry)
            assert [d.payload for d in await store.deliveries.in_status("pending")]
            await comments.edit(
                first.comment.id,
                "Ring [removed] for a deal",
                moderator=Moderator(name="Mo", site="news"),
                edit_token=None,
            )
            assert await hooks.deliver_due() == 1
        finally:
            await hooks.aclose()
        (arrival,) = receiver.arrivals
        assert b"555-0199" not in arrival.body and b"Ring [removed]" in arrival.body


async def test_an_edit_with_a_suspect_word_is_published_flagged_and_not_rate_limited(
    settings: Settings, tokens: Tokens
) -> None:
    """Suspect words in an edit publish it and flag the comment for review; the velocity rule
    (one post per ten minutes here) does not count edits."""
    limited = settings.replace(rate_limit=True)
    await set_rules(limited, "news", Rules(suspect=("crypto",), velocity_author="1/600"))
    async with (
        serve(limited) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
        moderating(running.port, tokens.news) as moderator,
        reader(running.ws("news", THREAD)) as live,
    ):
        cid, token = await posted(http)
        await live.events(1)
        first = await edit(http, cid, token, "Now about crypto, after all")
        assert first.status_code == 200, first.text
        (edited,) = await live.events(1)
        assert isinstance(edited, events.CommentEdited) and "crypto" in str(edited.comment.html)
        added = await moderator.expect(events.QueueAdded)
        assert (added.item.state, added.item.by, added.item.edit) == (
            "flagged",
            "automod:suspect",
            False,
        )
        again = await edit(http, cid, token, "Now about crypto, after all, again")
        assert again.status_code == 200, again.text


async def test_an_author_deleting_a_comment_erases_its_held_edit_too(
    settings: Settings, tokens: Tokens
) -> None:
    """A held edit's text is personal data: the author's delete erases it with the rest."""
    await set_rules(settings, "news", Rules(links_max=3))
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        cid, token = await posted(http)
        assert (await edit(http, cid, token, LINKS)).status_code == 200
        gone = await http.delete(f"/api/v1/comments/{cid}", headers={"X-Edit-Token": token})
        assert gone.status_code == 200, gone.text
    store = store_for(settings)
    await store.open()
    try:
        kept = await store.comments.get(cid)
    finally:
        await store.close()
    assert kept is not None and kept.status == "deleted"
    assert kept.pending_body_source is None and kept.pending_body_html is None


async def test_an_edit_repeating_text_from_the_same_address_in_another_thread_is_held(
    settings: Settings, tokens: Tokens
) -> None:
    """The repeat rule sees an edit's client address, as a post's: text one author posted in
    another thread, put into another author's comment by an edit from the same address, is
    held (by author alone it would pass: the names differ)."""
    repeated = "Visit my shop for the best deals in town today"
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        first = await http.post(
            "/api/v1/comments", json=comment_json(repeated, name="Ann", thread="article-2")
        )
        assert first.status_code == 201, first.text
        answer = await http.post("/api/v1/comments", json=comment_json(OLD, name="Bob"))
        assert answer.status_code == 201, answer.text
        data = decode_json(answer.content)
        comment = data["comment"]
        assert isinstance(comment, dict)
        held = await edit(http, str(comment["id"]), str(data["edit_token"]), repeated)
        assert held.status_code == 200, held.text
        changed = decode_json(held.content)["comment"]
        assert isinstance(changed, dict) and changed.get("pending_edit") is True
        assert OLD in await snapshot_text(http)
