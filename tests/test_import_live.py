"""An import into a running deployment: readers with the thread open get the imported comments
live, in seq order, as the bus carries them from the `livethread import` process (Redis)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from server import events
from server.settings import Settings
from tests.support.clients import provision, reader
from tests.support.command import livethread
from tests.support.importing import DATA
from tests.support.redis_server import RedisServer
from tests.support.server import serve

THREAD = "nato-secretary-general-visits-kyiv"


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as running:
        yield running


async def test_an_open_page_gets_imported_comments_live(
    settings: Settings, redis_server: RedisServer
) -> None:
    """A reader on the thread receives each imported comment's comment.created at seqs 1..5,
    removed ones as tombstones, without reloading."""
    live = settings.replace(redis=redis_server.url)
    await provision(live)
    async with serve(live) as running, reader(running.ws("news", THREAD)) as page:
        done = await asyncio.to_thread(
            livethread,
            "import",
            "wxr",
            str(DATA / "wxr.xml"),
            "--site",
            "news",
            "--database",
            live.database,
            env={"LIVETHREAD_REDIS": redis_server.url},
        )
        assert done.returncode == 0, done.stderr
        got = await page.events(5)
    assert [e.seq for e in got] == [1, 2, 3, 4, 5]
    created = [e for e in got if isinstance(e, events.CommentCreated)]
    assert len(created) == 5
    assert [c.comment.status for c in created] == [
        "visible",
        "visible",
        "pending",
        "removed",
        "removed",
    ]
    assert all(c.comment.author is None for c in created if c.comment.status == "removed")
