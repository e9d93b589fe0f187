"""Test clients: a websocket reader of one thread, and provisioning of sites and moderators."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

import msgspec
from websockets.asyncio.client import ClientConnection, connect

from server import events
from server.model import Moderator, Site
from server.settings import Settings
from server.tokens import new_token, token_hash
from server.web.app import store_for

WAIT = 10.0
F = TypeVar("F", bound=events.Frame)


@dataclass(frozen=True)
class Tokens:
    """Moderator tokens made for a test: one for the test site, one for another site."""

    news: str
    other: str


async def provision(settings: Settings, site: str = "news") -> Tokens:
    """Create the test site, a second site, and a moderator token for each."""
    store = store_for(settings)
    await store.open()
    try:
        tokens = Tokens(news=new_token(), other=new_token())
        await store.sites.put(Site(name=site, origins=("https://news.example",)))
        await store.sites.put(Site(name="other"))
        await store.moderators.put(Moderator(name="Lisa West", site=site), token_hash(tokens.news))
        await store.moderators.put(Moderator(name="Olaf", site="other"), token_hash(tokens.other))
        return tokens
    finally:
        await store.close()


class Reader:
    """One websocket on a thread; frames decoded with the wire contract's decoder."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def frame(self, within: float = WAIT) -> events.ServerFrame:
        async with asyncio.timeout(within):
            return events.decode_frame(await self.ws.recv())

    async def expect(self, kind: type[F], within: float = WAIT) -> F:
        frame = await self.frame(within)
        assert isinstance(frame, kind), f"expected {kind.__name__}, got {frame!r}"
        return frame

    async def events(self, count: int, within: float = WAIT) -> list[events.DurableEvent]:
        """The next `count` durable events (presence frames are skipped)."""
        got: list[events.DurableEvent] = []
        while len(got) < count:
            frame = await self.frame(within)
            if isinstance(frame, events.Presence):
                continue
            assert isinstance(frame, events.DurableEvent), f"unexpected {frame!r}"
            got.append(frame)
        return got


@asynccontextmanager
async def reader(url: str, headers: dict[str, str] | None = None) -> AsyncIterator[Reader]:
    """A connected reader whose `hello` has been read (`headers`: on its handshake)."""
    async with asyncio.timeout(WAIT):
        ws = await connect(url, open_timeout=WAIT, close_timeout=2, additional_headers=headers)
    try:
        r = Reader(ws)
        await r.expect(events.Hello)
        yield r
    finally:
        async with asyncio.timeout(WAIT):
            await ws.close()


def comment_json(
    body: str = "A reply",
    name: str = "Reader",
    parent: str | None = None,
    thread: str = "article-1",
) -> dict[str, object]:
    data: dict[str, object] = {
        "site": "news",
        "thread": thread,
        "author": {"name": name},
        "body": body,
    }
    if parent is not None:
        data["parent"] = parent
    return data


def decode_json(data: bytes) -> dict[str, object]:
    result = msgspec.json.decode(data)
    assert isinstance(result, dict)
    return result
