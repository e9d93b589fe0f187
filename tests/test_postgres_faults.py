"""PostgreSQL in trouble: down for a while, posts get 503 with Retry-After within the statement
timeout (never a hang, never a 201 without a commit), open sockets stay open, and everything
recovers by itself once the database is back."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from server import events
from server.settings import Settings
from server.web.app import RETRY_AFTER_SECONDS
from tests.support.clients import WAIT, comment_json, provision, reader
from tests.support.postgres import PostgresServer
from tests.support.server import serve
from tests.support.waiting import eventually

STATEMENT_TIMEOUT = 2.0


@pytest.fixture
def outage_postgres() -> Iterator[PostgresServer]:
    """A cluster of this test's own: the test stops and starts it."""
    with PostgresServer() as server:
        yield server


@pytest.mark.timeout(90)
async def test_posts_get_503_while_postgres_is_down_and_succeed_once_it_is_back(
    outage_postgres: PostgresServer,
) -> None:
    """With PostgreSQL stopped, a post answers 503 JSON with Retry-After within the statement
    timeout and is not stored, an open reader's socket stays open, /readyz says 503; started
    again, posts succeed without a restart and the reader gets the new comment."""
    settings = Settings(
        database=outage_postgres.database(),
        rate_limit=False,
        statement_timeout=STATEMENT_TIMEOUT,
    )
    await provision(settings)
    async with (
        serve(settings) as server,
        httpx.AsyncClient(base_url=server.http, timeout=WAIT) as http,
        reader(server.ws("news", "article-1")) as live,
    ):
        first = await http.post("/api/v1/comments", json=comment_json("before"))
        assert first.status_code == 201, first.text
        await live.expect(events.CommentCreated)
        outage_postgres.stop(graceful=False)
        try:
            started = time.monotonic()
            answer = await http.post("/api/v1/comments", json=comment_json("lost"))
            took = time.monotonic() - started
            assert answer.status_code == 503, answer.text
            assert answer.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
            assert answer.json()["error"] == "unavailable"
            # Bounded by the statement timeout (plus the pool's reconnect), never a hang.
            assert took < 3 * STATEMENT_TIMEOUT
            assert (await http.get("/readyz")).status_code == 503
        finally:
            outage_postgres.start()

        async def posted() -> bool:
            again = await http.post("/api/v1/comments", json=comment_json("after"))
            return again.status_code == 201

        await eventually(posted, within=WAIT)
        created = await live.expect(events.CommentCreated)
        assert created.comment.html == "<p>after</p>"
        snapshot = await http.get("/api/v1/threads", params={"site": "news", "thread": "article-1"})
        bodies = [c["html"] for c in snapshot.json()["comments"]]
        assert "<p>lost</p>" not in bodies and bodies[-1] == "<p>after</p>"
