"""Roles and badges (issue 16 item 2): a comment shows what its author was when they posted it:
a moderator token's role, the article's byline author, the roles an account's site trusts.
Real server on a free port, real readers; the command line as an operator uses it."""

from __future__ import annotations

import httpx

from server import demo, events
from server.accounts.ports import SignIn
from server.settings import Settings
from tests.browser.demo_page import moderator_token
from tests.support.clients import WAIT, Tokens, comment_json, decode_json, reader
from tests.support.command import livethread
from tests.support.server import serve
from tests.test_sign_in import SECRET, hs256, new_post, set_sign_in, signed

THREAD = "article-1"


def author_of(answer: httpx.Response) -> dict[str, object]:
    assert answer.status_code == 201, answer.text
    comment = decode_json(answer.content)["comment"]
    assert isinstance(comment, dict)
    author = comment["author"]
    assert isinstance(author, dict)
    return author


async def test_the_demo_byline_author_posts_with_both_badges(settings: Settings) -> None:
    """On the demo article, Lisa West's post with the demo's moderator token carries
    "moderator" and "author", live and in the snapshot; an anonymous post carries none."""
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
        reader(running.ws(demo.SITE, demo.THREAD)) as live,
    ):
        token = await moderator_token(settings)
        data = comment_json("From the desk", name="Lisa West", thread=demo.THREAD)
        data["site"] = demo.SITE
        answer = await http.post(
            "/api/v1/comments", json=data, headers={"Authorization": f"Bearer {token}"}
        )
        assert author_of(answer)["badges"] == ["moderator", "author"]
        created = await live.expect(events.CommentCreated)
        assert created.comment.author is not None
        assert created.comment.author.badges == ("moderator", "author")
        snapshot = await http.get(f"/api/v1/threads?site={demo.SITE}&thread={demo.THREAD}")
        assert '"badges":["moderator","author"]' in snapshot.text
        data = comment_json("A reader", name="Ann", thread=demo.THREAD)
        data["site"] = demo.SITE
        assert author_of(await http.post("/api/v1/comments", json=data))["badges"] == []


async def test_a_byline_named_by_the_operator_is_protected_and_badged(
    settings: Settings, tokens: Tokens
) -> None:
    """`thread set --byline` names the author: an anonymous post under a look-alike of that
    name is a 422; an admin moderator of that name posts with "admin" and "author"."""
    named = livethread(
        "thread", "set", "news", THREAD, "--byline", "Max Writer", "--database", settings.database
    )
    assert named.returncode == 0, named.stderr
    assert "byline: Max Writer" in named.stdout
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        refused = await http.post(
            "/api/v1/comments", json=comment_json(name="max  WRITER", thread=THREAD)
        )
        assert refused.status_code == 422, refused.text
        assert "article's author" in refused.text
        added = livethread(
            "moderator", "add", "Max Writer", "--site", "news", "--role", "admin",
            "--database", settings.database,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        token = added.stdout.strip().splitlines()[-1]
        listed = livethread("moderator", "list", "--site", "news", "--database", settings.database)
        assert "Max Writer (admin)" in listed.stdout.splitlines()
        admin = await http.post(
            "/api/v1/comments",
            json=comment_json(name="Max Writer", thread=THREAD),
            headers={"Authorization": f"Bearer {token}"},
        )
        assert author_of(admin)["badges"] == ["admin", "author"]
        other = await http.post(
            "/api/v1/comments",
            json=comment_json(name="Max Writer", thread="article-2"),
            headers={"Authorization": f"Bearer {token}"},
        )
        assert author_of(other)["badges"] == ["admin"]  # not this thread's byline
        lisa = await http.post(
            "/api/v1/comments",
            json=comment_json(name="Lisa West", thread=THREAD),
            headers={"Authorization": f"Bearer {tokens.news}"},
        )
        assert author_of(lisa)["badges"] == ["moderator"]


async def test_an_account_shows_only_the_roles_its_site_trusts(
    settings: Settings, tokens: Tokens
) -> None:
    """Roles from a token become badges only where the site trusts them ("staff", "author"
    here): "ceo" and an untrusted "moderator" are dropped, and a token with no roles has
    none."""
    await set_sign_in(
        settings, SignIn(site="news", audience="news", secret=SECRET, roles=("author", "staff"))
    )
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        token = hs256(roles=["ceo", "staff", "moderator", "author"])
        staff = await http.post("/api/v1/comments", json=new_post(), headers=signed(token))
        assert author_of(staff)["badges"] == ["staff", "author"]
        plain = await http.post("/api/v1/comments", json=new_post(), headers=signed(hs256()))
        assert author_of(plain)["badges"] == []
