"""A moderator's live channel for tests: `WS /ws/v1/moderation`, authenticated, queue decoded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeVar

import msgspec
from websockets.asyncio.client import ClientConnection, connect

from server import events
from server.model import Site
from server.moderation.rules import Rules, check
from server.settings import Settings
from server.web.app import store_for
from tests.support.clients import WAIT

F = TypeVar("F", bound=events.Frame)


def moderation_url(port: int, site: str = "news") -> str:
    return f"ws://127.0.0.1:{port}/ws/v1/moderation?site={site}"


class Moderation:
    """One moderator's socket: the queue it was sent first, then the frames that follow."""

    def __init__(self, ws: ClientConnection, first: events.Queue) -> None:
        self.ws = ws
        self.first = first

    async def frame(self, within: float = WAIT) -> events.ModerationFrame:
        async with asyncio.timeout(within):
            return events.decode_moderation(await self.ws.recv())

    async def expect(self, kind: type[F], within: float = WAIT) -> F:
        frame = await self.frame(within)
        assert isinstance(frame, kind), f"expected {kind.__name__}, got {frame!r}"
        return frame


@asynccontextmanager
async def moderating(port: int, token: str, site: str = "news") -> AsyncIterator[Moderation]:
    """A moderator's socket that has authenticated and received the site's queue."""
    async with asyncio.timeout(WAIT):
        ws = await connect(moderation_url(port, site), open_timeout=WAIT, close_timeout=2)
    try:
        await ws.send(msgspec.json.encode({"type": "auth", "token": token}).decode())
        async with asyncio.timeout(WAIT):
            first = events.decode_moderation(await ws.recv())
        assert isinstance(first, events.Queue), f"expected the queue, got {first!r}"
        yield Moderation(ws, first)
    finally:
        async with asyncio.timeout(WAIT):
            await ws.close()


async def set_rules(settings: Settings, site: str, rules: Rules) -> None:
    """Store a site's rules (and the site, if it is not there yet) before a server starts."""
    store = store_for(settings)
    await store.open()
    try:
        if await store.sites.get(site) is None:
            await store.sites.put(Site(name=site))
        await store.rules.put(site, check(rules))
    finally:
        await store.close()
