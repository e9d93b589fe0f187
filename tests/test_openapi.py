"""The OpenAPI document at /openapi.json: valid OpenAPI 3.1, complete (every HTTP route of the
app is in it), and true of a real server (schemathesis finds no 5xx and no answer outside it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.routing import Mount, Route, WebSocketRoute

from server import demo
from server.settings import Settings
from server.web.app import create_app
from server.web.endpoints import DEMO_SITE, DEMO_THREAD
from server.web.openapi import OpenApi
from server.web.pages import STATIC
from tests.support.clients import WAIT
from tests.support.server import Running
from tests.support.threaded import Served, served_in_thread

# Bounded so the fuzzing stays within about a minute on two cores: each operation gets this
# many generated cases per phase, and no case's time is held against it (a commit's fsync).
EXAMPLES = 40
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


def test_document_is_valid_openapi_31() -> None:
    """schemathesis loads the document as OpenAPI 3.1 and finds every operation in it."""
    document = OpenApi(STATIC).document
    assert document["openapi"] == "3.1.0"
    loaded = schemathesis.openapi.from_dict(document)
    operations = list(loaded.get_all_operations())
    assert [r for r in operations if not isinstance(r, Ok)] == []
    assert len(operations) == sum(len(methods) for methods in document["paths"].values())


def test_examples_name_the_demo_article() -> None:
    """The document's examples name the demo's site and thread, so they work on a demo server."""
    assert (DEMO_SITE, DEMO_THREAD) == (demo.SITE, demo.THREAD)


def test_every_route_is_documented(tmp_path: Path) -> None:
    """Every HTTP route of the app is a documented operation and every operation a route."""
    app = create_app(Settings(database=f"sqlite:///{tmp_path / 'livethread.db'}"))
    routed: set[tuple[str, str]] = set()
    for route in app.routes:
        if isinstance(route, WebSocketRoute):
            continue  # documented in the README, named in the document's description
        if isinstance(route, Mount):
            routed.add(("get", f"{route.path}/{{path}}"))
            continue
        assert isinstance(route, Route), route
        # Starlette answers HEAD for every GET; the document says so once.
        methods = (route.methods or {"GET"}) - {"HEAD"}
        routed |= {(method.lower(), route.path) for method in methods}
    document = OpenApi(STATIC).document
    documented = {(m, path) for path, ops in document["paths"].items() for m in ops}
    assert routed - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routed == set(), "documented operations the app does not route"


async def test_document_is_served(server: Running) -> None:
    """GET /openapi.json answers the document, as JSON, with nosniff."""
    async with httpx.AsyncClient(base_url=server.http, timeout=WAIT) as client:
        answer = await client.get("/openapi.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.json() == msgspec.json.decode(msgspec.json.encode(OpenApi(STATIC).document))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One real server for the whole fuzzing run, as the `settings` fixture makes them."""
    folder = tmp_path_factory.mktemp("openapi")
    settings = Settings(
        database=f"sqlite:///{folder / 'livethread.db'}",
        demo=True,
        rate_limit=False,
        allow_private_hooks=True,
    )
    # The demo site's moderator, so the documented examples (the demo article) reach past 401.
    with served_in_thread(settings, demo.SITE) as running:
        yield running


def test_each_answer_of_a_session_matches_the_document(served: Served) -> None:
    """Every JSON operation's success answers match the document (fuzzing rarely succeeds)."""
    key = {"site": demo.SITE, "thread": "openapi-session"}
    moderator = {"Authorization": f"Bearer {served.tokens.news}"}
    reader = {"X-Reader-Key": "openapi-session-reader"}

    def call(
        method: str, path: str, status: int, headers: dict[str, str] | None = None, **parts: Any
    ) -> Any:
        case = schema[path][method].Case(headers=headers or {}, **parts)
        answer = case.call_and_validate(base_url=served.http, checks=CHECKS, timeout=WAIT)
        assert answer.status_code == status, (method, path, answer.text)
        return answer.json() if answer.content.startswith(b"{") else None

    post = {**key, "author": {"name": "Ada", "email": "ada@example.com"}, "body": "Hi *all*"}
    posted = call("POST", "/api/v1/comments", 201, body=post)
    comment, token = posted["comment"]["id"], {"X-Edit-Token": posted["edit_token"]}
    reply = {**key, "author": {"name": "Bo"}, "body": "Hello", "parent": comment}
    call("POST", "/api/v1/comments", 201, {"Idempotency-Key": "once"}, body=reply)
    call("POST", "/api/v1/comments", 201, {"Idempotency-Key": "once"}, body=reply)
    at = {"id": comment}
    call("GET", "/api/v1/comments/{id}/source", 200, token, path_parameters=at)
    call("PATCH", "/api/v1/comments/{id}", 200, token, path_parameters=at, body={"body": "Hi"})
    like = {"kind": "like"}
    call("POST", "/api/v1/comments/{id}/reactions", 200, reader, path_parameters=at, body=like)
    call("GET", "/api/v1/reactions", 200, reader, query=key)
    call("POST", "/api/v1/comments/{id}/reports", 201, path_parameters=at, body={"reason": "spam"})
    call("POST", "/api/v1/comments/{id}/reports", 200, path_parameters=at, body={"reason": "spam"})
    call("GET", "/api/v1/threads", 200, query=key)
    call("GET", "/api/v1/threads", 200, query={**key, "page": "1", "limit": 1})
    call("GET", "/api/v1/threads", 200, moderator, query=key)
    call("GET", "/api/v1/counts", 200, query={"site": demo.SITE, "thread": [key["thread"]]})
    call("GET", "/api/v1/account", 200, query={"site": demo.SITE})
    pin = {"action": "pin", "reason": "good"}
    call("POST", "/api/v1/comments/{id}/moderation", 200, moderator, path_parameters=at, body=pin)
    retitle = {**key, "action": "retitle", "title": "Session"}
    call("POST", "/api/v1/threads/moderation", 200, moderator, body=retitle)
    ban = {"site": demo.SITE, "comment": comment, "mode": "shadow"}
    banned = call("POST", "/api/v1/bans", 201, moderator, body=ban)
    call("GET", "/api/v1/bans", 200, moderator, query={"site": demo.SITE})
    lift = {"id": banned["ban"]["id"]}
    site = {"site": demo.SITE}
    call("DELETE", "/api/v1/bans/{id}", 200, moderator, path_parameters=lift, query=site)
    call("GET", "/api/v1/audit", 200, moderator, query={"site": demo.SITE, "limit": 2})
    call("DELETE", "/api/v1/comments/{id}", 200, token, path_parameters=at)
    call("GET", "/healthz", 200)
    call("GET", "/readyz", 200)
    call("GET", "/feeds/{site}/{thread}.atom", 200, path_parameters=key)


# The document as built, which `test_document_is_served` proves is the one served. (Not
# `schemathesis.pytest.from_fixture`: with pytest 9 it fails on a node attribute pytest dropped.)
schema = schemathesis.openapi.from_dict(OpenApi(STATIC).document)


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_server_answers_as_documented(case: Any, served: Served) -> None:
    """No generated request gets a 5xx, an undocumented status, schema or media type."""
    headers = {}
    if _needs_moderator(case):
        headers["Authorization"] = f"Bearer {served.tokens.news}"
    case.call_and_validate(base_url=served.http, headers=headers, checks=CHECKS, timeout=WAIT)


def _needs_moderator(case: Any) -> bool:
    security = case.operation.definition.raw.get("security") or []
    return bool(security) and {} not in security
