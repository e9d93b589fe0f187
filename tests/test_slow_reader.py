"""A reader that stops reading is closed with 4008 and does not hold up anyone else."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from server.rules import Rules
from server.settings import Settings
from tests.support.clients import WAIT, comment_json, provision, reader
from tests.support.moderation import set_rules
from tests.support.raw_websocket import close_code, stalled_socket
from tests.support.server import serve

SITE, THREAD = "news", "article-1"
# Links render to about three times their source length, so each frame is about 15 kB.
BIG_BODY = "[a](https://example.com/) " * 190


@pytest.mark.timeout(60)
async def test_stalled_reader_is_closed_with_4008_others_get_everything(settings: Settings) -> None:
    """A socket that never reads overflows its bounded inbox and is closed with 4008, while a
    reading socket on the same thread receives every event."""
    small = settings.replace(socket_inbox=8)
    await provision(small)
    # The big frames come from links; auto-moderation would hold so many links for review.
    await set_rules(small, SITE, Rules(links_max=1000))
    async with serve(small) as running:
        stalled = await asyncio.to_thread(stalled_socket, running.port, SITE, THREAD)
        try:
            async with (
                reader(running.ws(SITE, THREAD)) as healthy,
                httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
            ):
                posts = 300
                # The healthy reader keeps reading while the posts go out.
                received = asyncio.create_task(healthy.events(posts, within=45))
                for _ in range(posts):
                    answer = await http.post("/api/v1/comments", json=comment_json(body=BIG_BODY))
                    assert answer.status_code == 201
                got = await received
                assert [e.seq for e in got] == list(range(1, posts + 1))
            assert await asyncio.to_thread(close_code, stalled) == 4008
        finally:
            stalled.close()
