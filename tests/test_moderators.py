"""Revoking or replacing a moderator token stops it everywhere at once: HTTP calls and the
moderation sockets it opened, on every server process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio

from server import channels, events
from server.settings import Settings
from tests.support.clients import WAIT, provision
from tests.support.command import livethread
from tests.support.moderation import Moderation, moderating
from tests.support.redis_server import RedisServer
from tests.support.server import serve, serve_process
from tests.support.waiting import eventually

# How soon a revoked token's sockets must be closed, from the command's exit.
AT_ONCE = 1.0


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as running:
        yield running


async def _closed_as_revoked(moderation: Moderation, within: float) -> None:
    """The socket gets `error {code: unauthorized}` and is closed with 1008, within `within`."""
    async with asyncio.timeout(within):
        error = await moderation.expect(events.Error, within=within)
        await moderation.ws.wait_closed()
    assert error.code == "unauthorized"
    assert moderation.ws.close_code == 1008


async def _lock(http: httpx.AsyncClient, base: str, token: str, action: str = "lock") -> int:
    answer = await http.post(
        f"{base}/api/v1/threads/moderation",
        json={"site": "news", "thread": "article-1", "action": action},
        headers={"Authorization": f"Bearer {token}"},
    )
    return answer.status_code


async def _subscribers(url: str, channel: str) -> int:
    client = redis.asyncio.Redis.from_url(url)
    try:
        counts = await client.pubsub_numsub(channel)
        return int(counts[0][1])
    finally:
        await client.aclose()


async def test_a_revoked_tokens_sockets_close_at_once_on_every_process(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """Two `livethread serve` processes on one Redis, the token's moderation socket open on
    each: `moderator revoke --redis` closes both within a second (with the 30 s periodic check
    far off), and the token's HTTP calls get 401 on both at once."""
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    tokens = await provision(Settings(database=database))
    args = ("--database", database, "--redis", redis_server.url)
    channel = "livethread:" + channels.moderators("news")
    async with (
        serve_process(*args) as first,
        serve_process(*args) as second,
        httpx.AsyncClient(timeout=WAIT) as http,
        moderating(first.port, tokens.news) as on_first,
        moderating(second.port, tokens.news) as on_second,
    ):
        # Each process subscribes its socket's site before it sends the queue; Redis counts
        # one subscriber per process.
        async def both() -> bool:
            return await _subscribers(redis_server.url, channel) == 2

        await eventually(both)
        assert await _lock(http, first.http, tokens.news) == 200
        assert await _lock(http, second.http, tokens.news, "unlock") == 200
        revoked = await asyncio.to_thread(
            livethread, "moderator", "revoke", "Lisa West", "--site", "news", *args
        )
        assert revoked.returncode == 0, revoked.stderr
        async with asyncio.timeout(AT_ONCE):
            await asyncio.gather(
                _closed_as_revoked(on_first, AT_ONCE), _closed_as_revoked(on_second, AT_ONCE)
            )
        for server in (first, second):
            assert await _lock(http, server.http, tokens.news) == 401
        # The other site's moderator is untouched.
        async with moderating(first.port, tokens.other, site="other") as still:
            assert still.first.site == "other"


async def test_a_replaced_token_closes_the_old_tokens_socket(
    settings: Settings, redis_server: RedisServer
) -> None:
    """`moderator add` for an existing moderator replaces the token: the old token's socket is
    closed at once, and the new token opens one."""
    settings = settings.replace(redis=redis_server.url)
    tokens = await provision(settings)
    async with serve(settings) as server, moderating(server.port, tokens.news) as old:
        replaced = await asyncio.to_thread(
            livethread,
            "moderator", "add", "Lisa West", "--site", "news",
            "--database", settings.database, "--redis", redis_server.url,
        )  # fmt: skip
        assert replaced.returncode == 0, replaced.stderr
        await _closed_as_revoked(old, AT_ONCE)
        fresh = replaced.stdout.strip().splitlines()[-1]
        async with moderating(server.port, fresh) as new:
            assert new.first.site == "news"


async def test_without_redis_the_periodic_check_closes_a_revoked_tokens_socket(
    settings: Settings,
) -> None:
    """A revoke made without Redis reaches no server at once, but each socket checks its token
    every LIVETHREAD_MODERATOR_RECHECK_SECONDS and closes when it is gone."""
    settings = settings.replace(moderator_recheck_seconds=0.2)
    tokens = await provision(settings)
    async with serve(settings) as server, moderating(server.port, tokens.news) as revoked:
        done = await asyncio.to_thread(
            livethread,
            "moderator", "revoke", "Lisa West", "--site", "news", "--database", settings.database,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        await _closed_as_revoked(revoked, WAIT)
