"""First-time commenters pre-moderated (issue 16 item 5): on a site with `first_time_hold`, an
account's or email's comments wait for a moderator until one of them is approved; after that
they publish at once. Real server on a free port, a real reader and the moderators' queue."""

from __future__ import annotations

import httpx

from server import events
from server.moderation.automod import FIRST_TIME
from server.moderation.rules import Rules
from server.settings import Settings
from tests.support.clients import WAIT, Tokens, comment_json, decode_json, reader
from tests.support.moderation import moderating, set_rules
from tests.support.server import serve
from tests.test_sign_in import hs256, hs_site, new_post, set_sign_in, signed

THREAD = "article-1"


async def post(
    http: httpx.AsyncClient, data: dict[str, object], headers: dict[str, str] | None = None
) -> tuple[str, str]:
    """Post; the new comment's id and status."""
    answer = await http.post("/api/v1/comments", json=data, headers=headers or {})
    assert answer.status_code == 201, answer.text
    comment = decode_json(answer.content)["comment"]
    assert isinstance(comment, dict)
    return str(comment["id"]), str(comment["status"])


def by_email(body: str, email: str = "ann@mail.example") -> dict[str, object]:
    data = comment_json(body, name="Ann", thread=THREAD)
    data["author"] = {"name": "Ann", "email": email}
    return data


async def test_a_new_email_waits_until_a_moderator_approves_one_of_its_comments(
    settings: Settings, tokens: Tokens
) -> None:
    """Ann's first two comments are held (queue: automod:first_time, readers see nothing);
    once one is approved her next comment is published at once, while an author without an
    email stays new every time and a moderator is never held."""
    await set_rules(settings, "news", Rules(first_time_hold=True))
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
        reader(running.ws("news", THREAD)) as live,
        moderating(running.port, tokens.news) as queue,
    ):
        first, status = await post(http, by_email("Hello, first time here"))
        assert status == "pending"
        held = await queue.expect(events.QueueAdded)
        assert (held.item.comment.id, held.item.reason) == (first, FIRST_TIME)
        assert held.item.by == "automod:first_time"
        _, status = await post(http, by_email("And again", email="ANN@mail.example"))
        assert status == "pending"
        await queue.expect(events.QueueAdded)

        approved = await http.post(
            f"/api/v1/comments/{first}/moderation",
            json={"action": "approve"},
            headers={"Authorization": f"Bearer {tokens.news}"},
        )
        assert approved.status_code == 200, approved.text
        shown = await live.expect(events.CommentApproved)
        assert shown.comment.id == first
        third, status = await post(http, by_email("Now I am known"))
        assert status == "visible"
        created = await live.expect(events.CommentCreated)
        assert created.comment.id == third

        _, status = await post(http, comment_json("No email", name="Bo", thread=THREAD))
        assert status == "pending"
        mine, status = await post(
            http,
            comment_json("From the desk", name="Lisa West", thread=THREAD),
            {"Authorization": f"Bearer {tokens.news}"},
        )
        assert status == "visible"
        assert (await live.expect(events.CommentCreated)).comment.id == mine


async def test_a_new_account_waits_until_one_of_its_comments_is_approved(
    settings: Settings, tokens: Tokens
) -> None:
    """A signed-in reader's first comment is held; after its approval, the account's next
    comment (from another device, a fresh token) is published at once; another account's
    first is still held."""
    await set_rules(settings, "news", Rules(first_time_hold=True))
    await set_sign_in(settings, hs_site())
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        first, status = await post(http, new_post("Signed in, first"), signed(hs256()))
        assert status == "pending"
        approved = await http.post(
            f"/api/v1/comments/{first}/moderation",
            json={"action": "approve"},
            headers={"Authorization": f"Bearer {tokens.news}"},
        )
        assert approved.status_code == 200
        _, status = await post(http, new_post("Known now"), signed(hs256(iat=1)))
        assert status == "visible"
        _, status = await post(
            http, new_post("Someone else"), signed(hs256(sub="reader-9", name="Cy"))
        )
        assert status == "pending"
