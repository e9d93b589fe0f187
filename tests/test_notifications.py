"""The reply-notifications worker against a real SMTP server (aiosmtpd) on a loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import re
import socket
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from server.adapters.memory_bus import MemoryBus
from server.adapters.sqlite_store import SqliteStore
from server.comments import Comments
from server.model import Moderator, Site
from server.settings import Settings, SettingsError
from tests.support.clients import WAIT, provision
from tests.support.parts import Parts, new_comment, use_cases
from tests.support.server import serve
from workers.consumer import Consumer
from workers.notifications import Notifications, message_id

ANN, BOB = "ann@mail.example", "bob@mail.example"


@dataclass
class Mailbox:
    """What the SMTP server accepted, in order. The `hold`-th message (1-based) waits at DATA
    until `gate` is set, then is refused with 451 (as a server that never finished taking it)."""

    loop: asyncio.AbstractEventLoop
    hold: int | None = None
    gate: threading.Event = field(default_factory=threading.Event)
    held: asyncio.Event = field(default_factory=asyncio.Event)
    accepted: list[EmailMessage] = field(default_factory=list)
    seen: int = 0
    _arrival: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        # Runs on the SMTP server's own thread and loop.
        self.seen += 1
        if self.seen == self.hold:
            self.loop.call_soon_threadsafe(self.held.set)
            await asyncio.to_thread(self.gate.wait, WAIT)
            return "451 Requested action aborted: try again later"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.loop.call_soon_threadsafe(self._accept, parsed)
        return "250 OK"

    def _accept(self, message: EmailMessage) -> None:
        self.accepted.append(message)
        self._arrival.set()

    async def until(self, done: Callable[[], bool]) -> None:
        async with asyncio.timeout(WAIT):
            while not done():
                self._arrival.clear()
                await self._arrival.wait()

    def to(self, recipient: str) -> list[EmailMessage]:
        return [m for m in self.accepted if m["To"] == recipient]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def mailbox() -> AsyncIterator[tuple[Mailbox, int]]:
    box = Mailbox(loop=asyncio.get_running_loop())
    port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    await asyncio.to_thread(controller.start)
    try:
        yield box, port
    finally:
        box.gate.set()
        await asyncio.to_thread(controller.stop)


@pytest.fixture
async def parts(tmp_path: Path) -> AsyncIterator[Parts]:
    held = Site(name="held", premoderate=True)
    async with use_cases(tmp_path / "db", Site(name="news"), held) as opened:
        yield opened


async def _post(
    comments: Comments,
    body: str,
    *,
    parent: str | None = None,
    email: str | None = None,
    notify: bool = False,
    site: str = "news",
    name: str = "Ann",
) -> str:
    answer = await comments.post(
        new_comment(body, site=site, parent=parent, name=name, email=email, notify=notify)
    )
    return answer.comment.id


def _settings(port: int) -> Settings:
    return Settings(smtp_port=port, public_url="https://comments.example", secret="s3cret")


@contextlib.asynccontextmanager
async def worker(store: SqliteStore, bus: MemoryBus, port: int) -> AsyncIterator[Consumer]:
    """The notifications worker as the runner runs it; leaving cancels it, as a crash would."""
    consumer = Consumer(store, bus, Notifications(store, _settings(port)), poll=60.0, batch=3)
    task = asyncio.create_task(consumer.run())
    try:
        yield consumer
    finally:
        task.cancel()
        async with asyncio.timeout(WAIT):
            await asyncio.gather(task, return_exceptions=True)


async def _handled_all(store: SqliteStore, consumer: Consumer) -> None:
    """Wait until the worker has committed every event logged so far (each mail sent)."""
    async with asyncio.timeout(WAIT):
        await consumer.committed(await store.log_end())


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def _unsubscribe_link(message: EmailMessage) -> str:
    found = re.search(r"Stop these mails: (\S+)", _text(message))
    assert found is not None
    return found.group(1)


async def test_a_reply_is_mailed_and_the_link_unsubscribes(
    settings: Settings, mailbox: tuple[Mailbox, int]
) -> None:
    """Through the HTTP API: one mail per reply, with the reply and links; GET the unsubscribe
    link shows a form and changes nothing, POST unsubscribes, a later reply sends nothing."""
    box, port = mailbox
    web = _free_port()
    settings = settings.replace(smtp_port=port, public_url=f"http://127.0.0.1:{web}")
    await provision(settings)
    async with (
        serve(settings, port=web) as server,
        httpx.AsyncClient(base_url=server.http, timeout=WAIT) as http,
    ):

        async def post(body: str, **author: object) -> str:
            data: dict[str, object] = {
                "site": "news",
                "thread": "article-1",
                "author": {"name": "Reader", **author},
                "body": body,
            }
            if "parent" in author:
                data["parent"] = author.pop("parent")
                data["author"] = {"name": "Reader", **author}
            answer = await http.post("/api/v1/comments", json=data)
            assert answer.status_code == 201, answer.text
            return str(answer.json()["comment"]["id"])

        first = await post("Subscribed", email=ANN, notify=True)
        other = await post("Also subscribed", email=BOB, notify=True)
        reply = await post("A *thoughtful* reply", parent=first, email="cy@mail.example")
        await box.until(lambda: len(box.accepted) == 1)
        (mail,) = box.accepted
        assert mail["To"] == ANN
        assert mail["Subject"] == "New reply on article-1"
        assert mail["Message-ID"] == message_id(reply, ANN)
        text = _text(mail)
        assert "A *thoughtful* reply" in text
        assert f"{server.http}/#comment-{reply}" in text
        link = _unsubscribe_link(mail)
        assert link.startswith(f"{server.http}/unsubscribe?c={first}&t=")
        assert mail["List-Unsubscribe"] == f"<{link}>"

        page = await http.get(link)
        assert page.status_code == 200
        assert '<form method="post"' in page.text and "Unsubscribe" in page.text
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        record = await _record(settings, first)
        assert record.notify  # a GET (a link scanner) changes nothing

        query = httpx.URL(link).params
        forged = await http.post("/unsubscribe", data={"c": first, "t": "0" * 64})
        assert forged.status_code == 403
        done = await http.post("/unsubscribe", data={"c": query["c"], "t": query["t"]})
        assert done.status_code == 200
        assert "You will get no more emails about replies to this comment." in done.text
        assert not (await _record(settings, first)).notify

        # Events are handled in log order: once Bob's mail is in, Ann's would have been too.
        await post("After the unsubscribe", parent=first, email="cy@mail.example")
        await post("For Bob", parent=other, email="cy@mail.example")
        await box.until(lambda: len(box.accepted) == 2)
    assert [m["To"] for m in box.accepted] == [ANN, BOB]


async def _record(settings: Settings, comment_id: str) -> Any:
    store = SqliteStore(settings.database.removeprefix("sqlite:///"))
    await store.open()
    try:
        found = await store.comment(comment_id)
    finally:
        await store.close()
    assert found is not None
    return found


async def test_nobody_is_mailed_about_their_own_reply(
    parts: Parts, mailbox: tuple[Mailbox, int]
) -> None:
    """A reply left with the parent's email (in any case) sends nothing; without notify, none."""
    store, bus, comments = parts
    box, port = mailbox
    first = await _post(comments, "mine", email=ANN, notify=True)
    quiet = await _post(comments, "not subscribed", email=BOB)
    await _post(comments, "talking to myself", parent=first, email=ANN.upper())
    await _post(comments, "to Bob", parent=quiet, email="cy@mail.example")
    async with worker(store, bus, port) as consumer:
        await _handled_all(store, consumer)
    assert box.accepted == []


async def test_a_held_reply_is_mailed_once_approved(
    parts: Parts, mailbox: tuple[Mailbox, int]
) -> None:
    """On a premoderated site a pending reply sends nothing; approving it sends one mail."""
    store, bus, comments = parts
    box, port = mailbox
    lisa = Moderator(name="Lisa", site="held")
    first = await _post(comments, "mine", email=ANN, notify=True, site="held")
    await comments.moderate(first, "approve", lisa)
    reply = await _post(comments, "held reply", parent=first, email=BOB, site="held")
    async with worker(store, bus, port) as consumer:
        await _handled_all(store, consumer)
        assert box.accepted == []
        await comments.moderate(reply, "approve", lisa)
        await box.until(lambda: len(box.accepted) == 1)
        await _handled_all(store, consumer)
    assert box.accepted[0]["Message-ID"] == message_id(reply, ANN)
    assert len(box.accepted) == 1


async def test_a_reply_removed_before_the_worker_ran_sends_nothing(
    parts: Parts, mailbox: tuple[Mailbox, int]
) -> None:
    """The worker reads the reply's state when it runs: removed by then means no mail."""
    store, bus, comments = parts
    box, port = mailbox
    first = await _post(comments, "mine", email=ANN, notify=True)
    reply = await _post(comments, "spam", parent=first, email=BOB)
    await comments.moderate(reply, "remove", Moderator(name="Lisa", site="news"))
    async with worker(store, bus, port) as consumer:
        await _handled_all(store, consumer)
    assert box.accepted == []


async def test_a_worker_killed_mid_batch_mails_every_reply_once(
    parts: Parts, mailbox: tuple[Mailbox, int]
) -> None:
    """Killed while the SMTP server holds its second mail, restarted after more replies: every
    reply is mailed, none twice (the held one again, with the same Message-ID)."""
    store, bus, comments = parts
    box, port = mailbox
    first = await _post(comments, "mine", email=ANN, notify=True)
    box.hold = 2
    replies = [
        await _post(comments, f"before #{n}", parent=first, email=BOB, name="Bob") for n in range(4)
    ]
    async with worker(store, bus, port):
        await box.until(lambda: len(box.accepted) == 1)
        async with asyncio.timeout(WAIT):
            await box.held.wait()
        # The server refuses what it was holding as the worker is killed mid-send (released
        # first: a cancelled client says QUIT and would wait for the held server otherwise).
        box.gate.set()
    replies += [
        await _post(comments, f"while down #{n}", parent=first, email=BOB, name="Bob")
        for n in range(4)
    ]
    async with worker(store, bus, port) as consumer:
        await box.until(lambda: len(box.accepted) == len(replies))
        await _handled_all(store, consumer)
    ids = [m["Message-ID"] for m in box.accepted]
    assert sorted(ids) == sorted(message_id(r, ANN) for r in replies)
    assert all(m["To"] == ANN for m in box.accepted)
    assert box.seen == len(replies) + 1  # the held mail was tried again after the restart


def test_an_unknown_smtp_tls_mode_is_refused() -> None:
    """LIVETHREAD_SMTP_TLS takes none, starttls or tls; anything else is a settings error."""
    with pytest.raises(SettingsError, match="SMTP_TLS"):
        Settings.from_environ({"LIVETHREAD_SMTP_TLS": "ssl"})
    chosen = Settings.from_environ({"LIVETHREAD_SMTP_TLS": "starttls", "LIVETHREAD_PORT": "9"})
    assert chosen.smtp_tls == "starttls"
    assert chosen.base_url == "http://127.0.0.1:9"
    assert chosen.replace(public_url="https://c.example/").base_url == "https://c.example"
