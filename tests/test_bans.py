"""Bans, suspensions and shadow-bans (issue 16 item 4): real server on a free port, real
websockets for readers and the moderators' page, each reader at their own address (the
server trusts loopback's X-Forwarded-For, as behind a proxy)."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from server import events
from server.settings import Settings
from tests.support.clients import WAIT, Tokens, comment_json, decode_json, reader
from tests.support.moderation import moderating
from tests.support.server import Running, serve
from tests.support.waiting import eventually
from tests.test_sign_in import hs256, hs_site, new_post, set_sign_in, signed

THREAD = "article-1"
TROLL = "198.51.100.7"
READER = "203.0.113.20"


def mod(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def at(address: str, **more: str) -> dict[str, str]:
    """A request from `address` (through the trusted proxy)."""
    return {"X-Forwarded-For": address, **more}


def post_json(
    body: str, *, name: str = "Troll", email: str | None = None, thread: str = THREAD
) -> dict[str, Any]:
    data = comment_json(body, name=name, thread=thread)
    if email is not None:
        author = data["author"]
        assert isinstance(author, dict)
        author["email"] = email
    return data


async def post(
    http: httpx.AsyncClient, data: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    return await http.post("/api/v1/comments", json=data, headers=headers)


async def posted(http: httpx.AsyncClient, data: dict[str, Any], headers: dict[str, str]) -> str:
    answer = await post(http, data, headers)
    assert answer.status_code == 201, answer.text
    comment = decode_json(answer.content)["comment"]
    assert isinstance(comment, dict)
    return str(comment["id"])


async def ban(
    http: httpx.AsyncClient, token: str, status: int = 201, **body: Any
) -> dict[str, Any]:
    answer = await http.post("/api/v1/bans", json={"site": "news", **body}, headers=mod(token))
    assert answer.status_code == status, answer.text
    return decode_json(answer.content)


async def bans_of(http: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    answer = await http.get("/api/v1/bans?site=news", headers=mod(token))
    assert answer.status_code == 200, answer.text
    found = decode_json(answer.content)["bans"]
    assert isinstance(found, list)
    return found


async def count(http: httpx.AsyncClient, thread: str = THREAD) -> int:
    answer = await http.get(f"/api/v1/threads?site=news&thread={thread}")
    number = decode_json(answer.content)["count"]
    assert isinstance(number, int)
    return number


async def snapshot_ids(http: httpx.AsyncClient) -> set[str]:
    answer = await http.get(f"/api/v1/threads?site=news&thread={THREAD}")
    comments = decode_json(answer.content)["comments"]
    assert isinstance(comments, list)
    return {c["id"] for c in comments}


def client(running: Running) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=running.http, timeout=WAIT)


@pytest.mark.parametrize("key", ["account", "email", "address"])
async def test_a_banned_account_email_or_address_is_refused(
    settings: Settings, tokens: Tokens, key: str
) -> None:
    """A ban made from a comment on its author's account, email or address refuses that
    person's next post (403, code "banned", a clear message; nothing stored), while another
    reader posts as before."""
    await set_sign_in(settings, hs_site())
    troll: dict[str, str] = {}
    data = post_json("First", email="Troll@Example.org")
    if key == "account":
        troll = signed(hs256(sub="troll-1", name="Troll", email="troll@example.org"))
        data = new_post("First")
    async with serve(settings) as running, client(running) as http:
        first = await posted(http, data, at(TROLL, **troll))
        made = await ban(http, tokens.news, comment=first, key=key, reason="trolling")
        assert made["ban"]["key"] == key and made["ban"]["mode"] == "ban"
        assert made["ban"]["label"] == "Troll" and made["removed"] == 0
        before = await count(http)
        # The same person: by account from anywhere, by email from anywhere, by address.
        again_from = TROLL if key == "address" else "192.0.2.99"
        again = (
            new_post("Back") if key == "account" else post_json("Back", email="troll@example.org")
        )
        refused = await post(http, again, at(again_from, **troll))
        assert refused.status_code == 403, refused.text
        error = decode_json(refused.content)
        assert error["error"] == "banned"
        assert error["message"] == "You are banned from commenting here"
        assert await count(http) == before
        await posted(http, post_json("Hello", name="Reader", email="me@example.org"), at(READER))
        assert await count(http) == before + 1


async def test_a_suspended_author_posts_again_after_the_time(
    settings: Settings, tokens: Tokens
) -> None:
    """A suspension refuses posts until its end, saying until when; then the author posts."""
    async with serve(settings) as running, client(running) as http:
        first = await posted(http, post_json("First", email="t@example.org"), at(TROLL))
        end = time.time() + 1.5
        until = datetime.fromtimestamp(end, UTC).isoformat()
        await ban(http, tokens.news, comment=first, key="email", mode="suspend", until=until)
        refused = await post(http, post_json("Again", email="t@example.org"), at(READER))
        assert refused.status_code == 403
        message = decode_json(refused.content)
        assert message["error"] == "banned"
        expected = time.strftime("%-d %b %Y, %H:%M UTC", time.gmtime(end))
        assert message["message"] == f"You are suspended from commenting here until {expected}"
        accepted: list[float] = []

        async def posts_again() -> bool:
            answer = await post(http, post_json("I'm back", email="t@example.org"), at(READER))
            if answer.status_code == 201:
                accepted.append(time.time())
            return answer.status_code == 201

        await eventually(posts_again, within=WAIT, every=0.1)
        assert accepted[0] >= end
        assert await bans_of(http, tokens.news) == []


async def test_a_shadow_banned_authors_comment_reaches_only_their_own_socket(
    settings: Settings, tokens: Tokens
) -> None:
    """A shadow-banned author is answered as if published and their open socket gets it live
    (`comment.own`); no other socket, snapshot or count sees it; their page gets it again on
    reconnect, another reader's does not; moderators find it held in the queue."""
    async with (
        serve(settings) as running,
        client(running) as http,
        moderating(running.port, tokens.news) as queue,
    ):
        await ban(http, tokens.news, key="email", value="Shadow@Example.org", mode="shadow")
        await queue.expect(events.BansChanged)
        url = running.ws("news", THREAD) + "&mine=1"
        async with (
            reader(url, at(TROLL)) as own_page,
            reader(url, at(READER)) as other_page,
        ):
            answer = await post(http, post_json("Hidden", email="shadow@example.org"), at(TROLL))
            assert answer.status_code == 201, answer.text
            shown = decode_json(answer.content)["comment"]
            assert isinstance(shown, dict) and shown["status"] == "visible"
            own = await own_page.expect(events.OwnComment)
            assert own.comment.id == shown["id"] and own.comment.status == "visible"
            held = await queue.expect(events.QueueAdded)
            assert held.item.state == "pending" and held.item.reason == "shadow-banned author"
            # A published comment after it: the next thing either page gets.
            plain = await posted(http, post_json("Plain", name="Reader"), at(READER))
            for page in (own_page, other_page):
                created = await page.expect(events.CommentCreated)
                assert created.comment.id == plain
            assert await count(http) == 1
            assert await snapshot_ids(http) == {plain}
        async with (
            reader(url, at(TROLL)) as own_again,
            reader(url, at(READER)) as other_again,
        ):
            again = await own_again.expect(events.OwnComment)
            assert again.comment.id == shown["id"]
            later = await posted(http, post_json("Later", name="Reader"), at(READER))
            assert (await other_again.expect(events.CommentCreated)).comment.id == later
            assert (await own_again.expect(events.CommentCreated)).comment.id == later


async def test_a_ban_removes_the_authors_comments_in_the_thread_or_the_site_live(
    settings: Settings, tokens: Tokens
) -> None:
    """At ban time, "thread" removes the author's comments in that thread (live, on open
    pages), others untouched; a second ban with "site" removes the rest of the site's."""
    async with (
        serve(settings) as running,
        client(running) as http,
        reader(running.ws("news", THREAD)) as first_page,
        reader(running.ws("news", "article-2")) as second_page,
    ):
        troll = post_json("One", email="t@example.org")
        one = await posted(http, troll, at(TROLL))
        two = await posted(http, post_json("Two", email="t@example.org"), at(TROLL))
        elsewhere = await posted(
            http, post_json("Three", email="t@example.org", thread="article-2"), at(TROLL)
        )
        kept = await posted(http, post_json("Kind words", name="Reader"), at(READER))
        await first_page.events(3)
        await second_page.events(1)
        made = await ban(http, tokens.news, comment=one, key="email", remove="thread")
        assert made["removed"] == 2
        removed = await first_page.events(2)
        assert {e.id for e in removed if isinstance(e, events.CommentRemoved)} == {one, two}
        assert await count(http) == 1 and await count(http, "article-2") == 1
        assert kept in await snapshot_ids(http)
        made = await ban(http, tokens.news, comment=one, key="email", remove="site")
        assert made["removed"] == 1
        gone = await second_page.expect(events.CommentRemoved)
        assert gone.id == elsewhere
        assert len(await bans_of(http, tokens.news)) == 1  # one ban per person, replaced


async def test_bans_are_listed_lifted_announced_and_audited(
    settings: Settings, tokens: Tokens
) -> None:
    """Bans list newest first; lifting one lets its person post again; each change reaches
    the moderators' sockets (`bans.changed`); the audit log holds every decision in order."""
    async with (
        serve(settings) as running,
        client(running) as http,
        moderating(running.port, tokens.news) as page,
    ):
        first = await posted(http, post_json("Hi", email="a@example.org"), at(TROLL))
        by_email = await ban(http, tokens.news, comment=first, key="email")
        await page.expect(events.BansChanged)
        by_account = await ban(http, tokens.news, key="account", value="acct-9", mode="shadow")
        await page.expect(events.BansChanged)
        listed = await bans_of(http, tokens.news)
        assert [b["id"] for b in listed] == [by_account["ban"]["id"], by_email["ban"]["id"]]
        theirs = await http.get("/api/v1/bans?site=news", headers=mod(tokens.other))
        assert theirs.status_code == 403
        lifted = await http.delete(
            f"/api/v1/bans/{by_email['ban']['id']}?site=news", headers=mod(tokens.news)
        )
        assert lifted.status_code == 200, lifted.text
        await page.expect(events.BansChanged)
        await posted(http, post_json("Back", email="a@example.org"), at(TROLL))
        again = await http.delete(
            f"/api/v1/bans/{by_email['ban']['id']}?site=news", headers=mod(tokens.news)
        )
        assert again.status_code == 404
        audit = await http.get("/api/v1/audit?site=news", headers=mod(tokens.news))
        entries = decode_json(audit.content)["entries"]
        assert isinstance(entries, list)
        assert [(e["action"], e["subject"], e["by"]) for e in entries] == [
            ("ban", "email:a@example.org", "Lisa West"),
            ("shadow", "account:acct-9", "Lisa West"),
            ("lift", "email:a@example.org", "Lisa West"),
        ]
        assert entries[0]["comment_id"] == first


async def test_an_address_ban_lasts_no_longer_than_addresses_are_kept(
    settings: Settings, tokens: Tokens
) -> None:
    """A ban by address ends after the address retention (here 2 days), asked for longer or
    not; a ban by email lasts until lifted."""
    short = dataclasses.replace(settings, address_retention_days=2.0)
    async with serve(short) as running, client(running) as http:
        first = await posted(http, post_json("Hi", email="a@example.org"), at(TROLL))
        made = await ban(http, tokens.news, comment=first, key="address")
        until = made["ban"]["until"]
        assert isinstance(until, str)
        left = datetime.fromisoformat(until).timestamp() - time.time()
        assert 2 * 86400 - 60 < left <= 2 * 86400
        made = await ban(http, tokens.news, comment=first, key="email")
        assert made["ban"]["until"] is None


async def test_a_moderators_own_posts_are_never_screened(
    settings: Settings, tokens: Tokens
) -> None:
    """A moderator posting with their token from a banned address is not refused."""
    async with serve(settings) as running, client(running) as http:
        first = await posted(http, post_json("Hi"), at(TROLL))
        await ban(http, tokens.news, comment=first, key="address")
        assert (await post(http, post_json("Hi"), at(TROLL))).status_code == 403
        mine = post_json("Moderating here", name="Lisa West")
        assert (await post(http, mine, at(TROLL, **mod(tokens.news)))).status_code == 201


async def test_a_banned_authors_edit_is_refused(settings: Settings, tokens: Tokens) -> None:
    """An author banned after posting cannot edit their comment within the edit window."""
    async with serve(settings) as running, client(running) as http:
        answer = await post(http, post_json("Hi", email="a@example.org"), at(TROLL))
        body = decode_json(answer.content)
        comment, token = body["comment"], body["edit_token"]
        assert isinstance(comment, dict) and isinstance(token, str)
        await ban(http, tokens.news, comment=comment["id"], key="email")
        edited = await http.patch(
            f"/api/v1/comments/{comment['id']}",
            json={"body": "Changed"},
            headers=at(READER, **{"X-Edit-Token": token}),
        )
        assert edited.status_code == 403
        error = decode_json(edited.content)
        assert (error["error"], error["message"]) == (
            "banned",
            "You are banned from commenting here",
        )


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"key": "email", "value": "a@example.org", "mode": "suspend"}, 422, "until"),
        (
            {"key": "email", "value": "a@b.org", "mode": "suspend", "until": "2001-01-01T00:00Z"},
            422,
            "until",
        ),
        ({"key": "email", "value": "not-an-email", "mode": "ban"}, 422, "value"),
        ({"key": "address", "value": "300.1.1.1", "mode": "ban"}, 422, "value"),
        ({"key": "phone", "value": "123", "mode": "ban"}, 422, None),
        ({"key": "email", "mode": "ban"}, 422, "value"),
        ({"key": "email", "value": "a@b.org", "mode": "forever"}, 422, None),
        ({"key": "email", "value": "a@b.org", "mode": "ban", "reason": "x" * 501}, 422, "reason"),
        ({"key": "email", "value": "a@b.org", "mode": "ban", "remove": "thread"}, 422, "thread"),
        ({"key": "email", "value": "a@b.org", "mode": "ban", "extra": 1}, 422, None),
        ({"comment": "no-such-comment", "mode": "ban"}, 404, None),
        ({"key": "email", "value": "a@b.org", "mode": "ban", "reason": "x" * 5000}, 413, None),
    ],
)
async def test_a_bad_ban_is_refused_and_nothing_is_kept(
    settings: Settings, tokens: Tokens, body: dict[str, Any], status: int, field: str | None
) -> None:
    """A suspension without an end or ending in the past, a value that is not an email or an
    address, an unknown key or mode, an over-long reason, a thread removal naming no thread,
    unknown fields, an unknown comment or an oversized body: refused with its status and
    field, and no ban is kept."""
    async with serve(settings) as running, client(running) as http:
        answer = await http.post(
            "/api/v1/bans", json={"site": "news", **body}, headers=mod(tokens.news)
        )
        assert answer.status_code == status, answer.text
        if field is not None:
            fields = decode_json(answer.content)["fields"]
            assert isinstance(fields, dict) and field in fields
        assert await bans_of(http, tokens.news) == []


async def test_bans_need_the_sites_moderator(settings: Settings, tokens: Tokens) -> None:
    """No token: 401; another site's moderator: 403; a comment's missing key: 422 saying so;
    a lift of no ban: 404, of a non-number: 422. Nothing is kept."""
    async with serve(settings) as running, client(running) as http:
        cid = await posted(http, post_json("Hi"), at(TROLL))
        wanted = {"site": "news", "comment": cid, "mode": "ban"}
        assert (await http.post("/api/v1/bans", json=wanted)).status_code == 401
        other = await http.post("/api/v1/bans", json=wanted, headers=mod(tokens.other))
        assert other.status_code == 403
        no_account = await http.post(
            "/api/v1/bans", json={**wanted, "key": "account"}, headers=mod(tokens.news)
        )
        assert no_account.status_code == 422
        error = decode_json(no_account.content)
        assert error["message"] == "This comment's author has no account to ban"
        lift = await http.delete("/api/v1/bans/12345?site=news", headers=mod(tokens.news))
        assert lift.status_code == 404
        bad = await http.delete("/api/v1/bans/twelve?site=news", headers=mod(tokens.news))
        assert bad.status_code == 422
        assert await bans_of(http, tokens.news) == []


async def test_a_shadow_banned_author_may_reply_to_their_own_shadow_comment(
    settings: Settings, tokens: Tokens
) -> None:
    """Their own comment looks published to them, so a reply to it is taken (a shadow comment
    too, seen by nobody else); a reply to another's held comment is still refused."""
    async with serve(settings) as running, client(running) as http:
        await ban(http, tokens.news, key="address", value=TROLL, mode="shadow")
        first = await posted(http, post_json("Hidden"), at(TROLL))
        reply = post_json("Me again")
        reply["parent"] = first
        second = await posted(http, reply, at(TROLL))
        url = running.ws("news", THREAD) + "&mine=1"
        async with reader(url, at(TROLL)) as own_page:
            frames = [await own_page.expect(events.OwnComment) for _ in range(2)]
            assert [f.comment.id for f in frames] == [first, second]
            assert frames[1].comment.parent == first
        assert await count(http) == 0
        held_elsewhere = await http.post(
            "/api/v1/comments", json={**reply, "parent": first}, headers=at(READER)
        )
        assert held_elsewhere.status_code == 422
