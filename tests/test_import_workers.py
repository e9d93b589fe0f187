"""Workers and imported comments: the real notifications worker, mailing through a real SMTP
server (aiosmtpd), sends nothing about years-old imported replies and goes on mailing live ones;
and every worker's consumer passes over the imported comments' creation events."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

from server.composition import workers_for
from server.model import Site
from server.settings import Settings
from server.storage import Storage
from server.threads.ports import LogEntry
from tests.support.clients import WAIT
from tests.support.command import livethread
from tests.support.consumers import running
from tests.support.importing import DATA
from tests.support.mail import smtp_server
from tests.support.parts import new_comment, use_cases
from tests.test_notifications import confirmed
from workers.consumer import Consumer, Handler
from workers.notifications.worker import Notifications

ANN, BOB = "ann@mail.example", "bob@mail.example"
# The import announces nothing on the bus: workers find its events by their poll.
POLL = 0.2
# Addresses the WXR sample's comments were left with: confirmed here, so that no missing
# confirmation stands between them and a mail.
IMPORTED = ("mike@mail.example", "martin@mail.example", "sego@mail.example")


async def _import(database: str) -> None:
    done = await asyncio.to_thread(
        livethread, "import", "wxr", str(DATA / "wxr.xml"), "--site", "news", "--database", database
    )
    assert done.returncode == 0, done.stderr


async def _caught_up(store: Storage, consumer: Consumer) -> None:
    async with asyncio.timeout(WAIT):
        await consumer.committed(await store.log.end())


async def test_no_mail_goes_out_for_imported_replies(database_url: str) -> None:
    """Imported replies (to confirmed addresses) mail nobody, then or later; a live reply
    posted after the import is mailed, so the worker did run over the imported events."""
    async with smtp_server() as (box, port), use_cases(database_url, Site(name="news")) as parts:
        store, bus, comments = parts
        await confirmed(store, "s3cret", ANN, *IMPORTED)
        settings = Settings(smtp_port=port, public_url="https://comments.example", secret="s3cret")
        # The notifications worker exactly as a server process builds it.
        (worker,) = workers_for(
            dataclasses.replace(settings, worker_names="notifications"), store, bus
        )
        mails = worker.handler
        assert isinstance(mails, Notifications)
        consumer = Consumer(store.cursors, store.log, bus, mails, poll=POLL, batch=3)
        async with running(consumer):
            ann = await comments.post(new_comment("Mail me", email=ANN, notify=True))
            await _import(database_url)
            await _caught_up(store, consumer)
            assert box.accepted == [] and mails.sent == 0
            await comments.post(new_comment("Live reply", parent=ann.comment.id, name="Bob"))
            await _caught_up(store, consumer)
            await box.until(lambda: len(box.accepted) >= 1)
        assert [m["To"] for m in box.accepted] == [ANN]
        assert mails.sent == 1


class Recorder:
    """A handler that keeps every event it is given (what a webhook or classifier would act
    on)."""

    name = "recorder"

    def __init__(self) -> None:
        self.prepared: list[int] = []
        self.handled: list[int] = []

    async def prepare(self, entries: Sequence[LogEntry]) -> None:
        self.prepared.extend(e.position for e in entries)

    async def handle(self, entry: LogEntry) -> None:
        self.handled.append(entry.position)


async def test_workers_pass_over_imported_comments_creation_events(database_url: str) -> None:
    """A consumer hands its handler the live events before and after an import, and none of the
    import's; its cursor still moves past them."""
    async with use_cases(database_url, Site(name="news")) as (store, bus, comments):
        recorder = Recorder()
        handler: Handler = recorder
        consumer = Consumer(store.cursors, store.log, bus, handler, poll=POLL, batch=2)
        async with running(consumer):
            await comments.post(new_comment("before"))
            await _import(database_url)
            await comments.post(new_comment("after"))
            await _caught_up(store, consumer)
        logged = await store.log.after(0, 100)
        assert len(logged) == 7  # two live posts and the five imported comments
        live = [logged[0].position, logged[-1].position]
        assert recorder.handled == live and recorder.prepared == live
        assert await store.cursors.position("recorder") == logged[-1].position
