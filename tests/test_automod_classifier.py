"""The automod worker against a real local classifier (JSON and Akismet-compatible), in a real
server: a spam verdict holds the comment live; a classifier that is down changes nothing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import parse_qs

import httpx
import msgspec
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from server import events
from server.moderation.rules import ClassifierKind, Rules
from server.settings import Settings
from server.web.app import store_for
from tests.support.clients import WAIT, Tokens, comment_json, decode_json, reader
from tests.support.local_http import served
from tests.support.moderation import moderating, set_rules
from tests.support.server import Running, serve
from workers.runner import Runner


@dataclass
class Classifier:
    """Calls anything with "casino" in it spam. `down` answers 503 to everything."""

    url: str = ""
    down: bool = False
    asked: list[str] = field(default_factory=list)

    async def json(self, request: Request) -> Response:
        if self.down:
            self.asked.append("503")
            return Response(status_code=503)
        body = msgspec.json.decode(await request.body())
        self.asked.append(body["id"])
        spam = "casino" in body["body"].lower()
        return JSONResponse({"spam": spam, "reason": "gambling" if spam else None})

    async def akismet(self, request: Request) -> Response:
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("api_key") != "k3y" or form.get("comment_type") != "comment":
            return PlainTextResponse("invalid")
        content = form["comment_content"]
        self.asked.append(content)
        return PlainTextResponse("true" if "casino" in content.lower() else "false")


@contextlib.asynccontextmanager
async def classifying() -> AsyncIterator[Classifier]:
    """A Classifier served by uvicorn on a free loopback port."""
    classifier = Classifier()
    app = Starlette(
        routes=[
            Route("/json", classifier.json, methods=["POST"]),
            Route("/akismet", classifier.akismet, methods=["POST"]),
        ]
    )
    async with served(app) as url:
        classifier.url = url
        yield classifier


async def log_end(settings: Settings) -> int:
    store = store_for(settings)
    await store.open()
    try:
        return await store.log.end()
    finally:
        await store.close()


async def post_judged(running: Running, http: httpx.AsyncClient, body: str) -> None:
    """Post a comment (201), then wait until the automod worker has committed past it."""
    consumer = runner_of(running.app).consumer("automod")
    posted = await http.post("/api/v1/comments", json=comment_json(body))
    assert posted.status_code == 201
    async with asyncio.timeout(WAIT):
        await consumer.committed(await log_end(running.settings))


def runner_of(app: object) -> Runner:
    runner = cast(Runner, app.state.runner)  # type: ignore[attr-defined]
    assert runner is not None
    return runner


@pytest.mark.parametrize("kind", ["json", "akismet"])
async def test_the_classifier_holds_spam_through_the_worker(
    settings: Settings, tokens: Tokens, kind: ClassifierKind
) -> None:
    """A comment the classifier calls spam is published, then held by the automod worker:
    readers see it go, moderators see it arrive with the reason; ham stays published."""
    async with classifying() as classifier:
        rules = Rules(
            classifier_url=f"{classifier.url}/{kind}", classifier_kind=kind, classifier_key="k3y"
        )
        await set_rules(settings, "news", rules)
        async with (
            serve(settings) as running,
            httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
            moderating(running.port, tokens.news) as moderator,
            reader(running.ws("news", "article-1")) as thread,
        ):
            ham = await http.post("/api/v1/comments", json=comment_json("Nice piece"))
            spam = await http.post("/api/v1/comments", json=comment_json("Best CASINO bonus"))
            assert ham.status_code == spam.status_code == 201
            spam_id = decode_json(spam.content)["comment"]["id"]  # type: ignore[index]
            created = await thread.events(2)
            assert [e.comment.id for e in created if isinstance(e, events.CommentCreated)][1] == (
                spam_id
            )
            (removed,) = await thread.events(1)
            assert isinstance(removed, events.CommentRemoved) and removed.id == spam_id
            added = await moderator.expect(events.QueueAdded)
            assert added.item.comment.id == spam_id
            assert (added.item.state, added.item.by) == ("pending", "automod:classifier")
            assert added.item.reason is not None and "spam" in added.item.reason
            snapshot = decode_json(
                (await http.get("/api/v1/threads?site=news&thread=article-1")).content
            )
            assert snapshot["count"] == 1
            assert len(classifier.asked) == 2


async def test_a_classifier_that_is_down_leaves_comments_published(
    settings: Settings, tokens: Tokens
) -> None:
    """A classifier answering 503: the worker tries three times, gives up, commits its cursor
    past the comment (which stays published) and handles the next one all the same."""
    async with classifying() as classifier:
        classifier.down = True
        await set_rules(settings, "news", Rules(classifier_url=f"{classifier.url}/json"))
        async with (
            serve(settings) as running,
            httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
        ):
            await post_judged(running, http, "A casino ad")
            assert classifier.asked == ["503"] * 3
            classifier.down = False
            await post_judged(running, http, "Second casino ad")
            snapshot = decode_json(
                (await http.get("/api/v1/threads?site=news&thread=article-1")).content
            )
            # The first was never judged and stays; the second was held.
            assert snapshot["count"] == 1
            assert len(classifier.asked) == 4
