"""The fan-out path: one pre-built frame written straight to every socket's transport."""

from __future__ import annotations

import httpx
from websockets.frames import Frame, Opcode

from server import events
from server.web.connection import Connection
from server.web.direct import Framer
from tests.support.clients import WAIT, comment_json, reader
from tests.support.server import Running

SITE, THREAD = "news", "article-1"


async def test_readers_on_uvicorn_use_the_direct_path(server: Running) -> None:
    """Sockets served by uvicorn get the transport writer: no writer task, same frames."""
    async with reader(server.ws(SITE, THREAD)) as a, reader(server.ws(SITE, THREAD)) as b:
        members = server.app.state.hub.members(SITE, THREAD)  # type: ignore[attr-defined]
        assert len(members) == 2
        assert all(isinstance(m, Connection) and m.direct for m in members)
        async with httpx.AsyncClient(base_url=server.http, timeout=WAIT) as http:
            answer = await http.post("/api/v1/comments", json=comment_json(body="direct"))
        assert answer.status_code == 201
        for r in (a, b):
            (event,) = await r.events(1)
            assert isinstance(event, events.CommentCreated)
            assert event.comment.html == "<p>direct</p>"


def test_framer_builds_each_event_once_and_matches_the_library() -> None:
    """The frame is the websockets library's own unmasked text frame, cached per payload."""
    framer = Framer()
    payload = b'{"type":"thread.locked","seq":1}' * 10
    first = framer.frame(payload)
    assert first == Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
    assert framer.frame(payload) is first
    assert framer.text(payload) == payload.decode()
    other = b"x" * 70000  # a 64-bit length header
    assert framer.frame(other)[:2] == b"\x81\x7f"
