"""A real SMTP server for tests (aiosmtpd on a free loopback port) and what it received."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
from aiosmtpd.controller import Controller

from server.settings import Settings
from tests.support.clients import WAIT, provision
from tests.support.redis_server import free_port
from tests.support.server import Running, serve


@dataclass
class Mailbox:
    """What the SMTP server accepted, in order. The `hold`-th message (1-based) waits at DATA
    until `gate` is set, then is refused with 451 (as a server that never finished taking it)."""

    loop: asyncio.AbstractEventLoop
    hold: int | None = None
    gate: threading.Event = field(default_factory=threading.Event)
    held: asyncio.Event = field(default_factory=asyncio.Event)
    accepted: list[EmailMessage] = field(default_factory=list)
    # The accepted messages as they came over the wire, in the same order.
    raw: list[bytes] = field(default_factory=list)
    seen: int = 0
    _arrival: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        # Runs on the SMTP server's own thread and loop.
        self.seen += 1
        if self.seen == self.hold:
            self.loop.call_soon_threadsafe(self.held.set)
            await asyncio.to_thread(self.gate.wait, WAIT)
            return "451 Requested action aborted: try again later"
        raw = bytes(envelope.content)
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.loop.call_soon_threadsafe(self._accept, parsed, raw)
        return "250 OK"

    def _accept(self, message: EmailMessage, raw: bytes) -> None:
        self.accepted.append(message)
        self.raw.append(raw)
        self._arrival.set()

    async def until(self, done: Callable[[], bool]) -> None:
        async with asyncio.timeout(WAIT):
            while not done():
                self._arrival.clear()
                await self._arrival.wait()

    def to(self, recipient: str) -> list[EmailMessage]:
        return [m for m in self.accepted if m["To"] == recipient]


@asynccontextmanager
async def smtp_server() -> AsyncIterator[tuple[Mailbox, int]]:
    """An SMTP server accepting every mail into a Mailbox; yields it and its port."""
    box = Mailbox(loop=asyncio.get_running_loop())
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    await asyncio.to_thread(controller.start)
    try:
        yield box, port
    finally:
        box.gate.set()
        await asyncio.to_thread(controller.stop)


def text_of(message: EmailMessage) -> str:
    """A mail's plain-text body."""
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


@asynccontextmanager
async def mailing_server(
    settings: Settings, smtp_port: int
) -> AsyncIterator[tuple[Running, httpx.AsyncClient]]:
    """A real server (provisioned) whose in-process notifications worker mails through
    `smtp_port`, with an HTTP client on it."""
    web = free_port()
    settings = settings.replace(smtp_port=smtp_port, public_url=f"http://127.0.0.1:{web}")
    await provision(settings)
    async with (
        serve(settings, port=web) as server,
        httpx.AsyncClient(base_url=server.http, timeout=WAIT) as http,
    ):
        yield server, http
