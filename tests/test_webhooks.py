"""The webhooks worker against a real local HTTP receiver that checks every signature."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.adapters.memory_bus import MemoryBus
from server.model import Moderator, Site, ThreadKey
from server.storage import Storage
from server.threads.comments import Comments
from tests.support import command
from tests.support.local_http import served
from tests.support.parts import Parts, new_comment, use_cases
from workers.consumer import Consumer
from workers.webhooks.ports import Webhook
from workers.webhooks.signing import sign, signature_header, verify
from workers.webhooks.worker import WebhookError, Webhooks, new_webhook

WAIT = 15.0
FAST = (0.05, 0.2)


@dataclass
class Arrival:
    """One request as the receiver saw it."""

    hook: str
    delivery: str
    event: str
    body: bytes
    signed: bool
    status: int

    @property
    def json(self) -> dict[str, Any]:
        decoded: dict[str, Any] = msgspec.json.decode(self.body)
        return decoded


@dataclass
class Receiver:
    """A webhook receiver on a loopback port: one path per webhook, each with its secret.

    It verifies every signature (401 if wrong), answers 500 to the first `fail[path]` requests
    of a path (all of them while the path is in `broken`), and can hold the `hold`-th request
    open until `gate` is set, as a receiver that is slow to answer.
    """

    url: str = ""
    secrets: dict[str, str] = field(default_factory=dict)
    fail: dict[str, int] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)
    hold: int | None = None
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    now: Callable[[], float] = time.time
    arrivals: list[Arrival] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def add(self, path: str, hook: Webhook) -> None:
        self.secrets[path] = hook.secret

    async def endpoint(self, request: Request) -> Response:
        path = request.path_params["path"]
        body = await request.body()
        header = request.headers.get("x-livethread-signature", "")
        signed = verify(self.secrets.get(path, ""), header, body, now=self.now())
        if not signed:
            status = 401
        elif path in self.broken or self.fail.get(path, 0) > 0:
            self.fail[path] = self.fail.get(path, 0) - 1
            status = 500
        else:
            status = 200
        arrival = Arrival(
            hook=path,
            delivery=request.headers.get("x-livethread-delivery", ""),
            event=request.headers.get("x-livethread-event", ""),
            body=body,
            signed=signed,
            status=status,
        )
        async with self.changed:
            self.arrivals.append(arrival)
            self.changed.notify_all()
        if self.hold == len(self.arrivals):
            await self.gate.wait()
        return Response(status_code=status)

    async def until(self, done: Callable[[], bool]) -> None:
        async with asyncio.timeout(WAIT), self.changed:
            await self.changed.wait_for(done)

    def accepted(self, path: str) -> set[str]:
        return {a.delivery for a in self.arrivals if a.hook == path and a.status == 200}

    def of(self, path: str) -> list[Arrival]:
        return [a for a in self.arrivals if a.hook == path]


@contextlib.asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    """A Receiver served by uvicorn on a free loopback port."""
    receiver = Receiver()
    app = Starlette(routes=[Route("/{path}", receiver.endpoint, methods=["POST"])])
    async with served(app) as url:
        receiver.url = url
        try:
            yield receiver
        finally:
            # A request held open would keep the server from stopping.
            receiver.gate.set()


@pytest.fixture
async def parts(database_url: str) -> AsyncIterator[Parts]:
    async with use_cases(database_url, Site(name="news"), Site(name="other")) as opened:
        yield opened


async def _post(comments: Comments, body: str, site: str = "news", thread: str = "t") -> str:
    answer = await comments.post(new_comment(body, site=site, thread=thread))
    return answer.comment.id


async def _hook(
    store: Storage, receiver: Receiver, path: str, site: str, types: tuple[str, ...] = ()
) -> Webhook:
    hook = new_webhook(site, f"{receiver.url}/{path}", types)
    await store.webhooks.put(hook)
    receiver.add(path, hook)
    return hook


@contextlib.asynccontextmanager
async def running(*work: Callable[[], Coroutine[Any, Any, None]]) -> AsyncIterator[None]:
    """Run loops as tasks; leaving cancels them, as a crash would stop them mid-way."""
    tasks = [asyncio.create_task(w()) for w in work]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        async with asyncio.timeout(WAIT):
            await asyncio.gather(*tasks, return_exceptions=True)


@contextlib.asynccontextmanager
async def worker(store: Storage, bus: MemoryBus, **options: Any) -> AsyncIterator[Webhooks]:
    """A webhooks worker as the runner runs it: its consumer and its sender, side by side."""
    # The receiver listens on loopback: private addresses allowed, as the opt-in setting does.
    hooks = Webhooks(
        store.webhooks, store.deliveries, store.cursors, **{"allow_private": True, **options}
    )
    consumer = Consumer(store.cursors, store.log, bus, hooks, poll=60.0)
    try:
        async with running(consumer.run, lambda: hooks.deliver_forever(idle=0.05)):
            yield hooks
    finally:
        await hooks.aclose()


async def livethread(*args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI as a child process (awaited, so the receiver keeps serving meanwhile)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        *args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    async with asyncio.timeout(WAIT * 2):
        out, err = await process.communicate()
    assert process.returncode is not None
    return subprocess.CompletedProcess(list(args), process.returncode, out.decode(), err.decode())


def _event_json(payload: bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = msgspec.json.decode(payload)
    return decoded


async def test_signed_deliveries_are_retried_until_the_receiver_takes_them(
    parts: Parts,
) -> None:
    """Failed deliveries come back after a backoff; each is signed, typed and only subscribed."""
    store, bus, comments = parts
    async with receiving() as receiver:
        news = await _hook(store, receiver, "news", "news", ("comment.created", "comment.removed"))
        other = await _hook(store, receiver, "other", "other")
        receiver.fail["news"] = 2
        async with worker(store, bus, backoff=FAST):
            first = await _post(comments, "first *news* comment")
            await _post(comments, "second news comment")
            await comments.set_locked(
                ThreadKey("news", "t"), True, Moderator(name="Lisa", site="news")
            )
            created = await store.log.after(0, 2)
            wanted = {f"{news.id}:{e.position}" for e in created}
            await receiver.until(lambda: receiver.accepted("news") >= wanted)
            await comments.moderate(first, "remove", Moderator(name="Lisa", site="news"))
            await _post(comments, "a comment on another site", site="other", thread="o")
            log = await store.log.after(0, 10)
            removed, elsewhere = log[3], log[4]
            wanted.add(f"{news.id}:{removed.position}")
            await receiver.until(
                lambda: (
                    receiver.accepted("news") == wanted
                    and receiver.accepted("other") == {f"{other.id}:{elsewhere.position}"}
                )
            )
    # Nothing else was queued: not the lock (not subscribed), not another site's comment.
    queued = [
        *await store.deliveries.in_status("sent"),
        *await store.deliveries.in_status("pending"),
    ]
    assert {d.id for d in queued} == wanted | receiver.accepted("other")
    assert await store.deliveries.in_status("parked") == []
    assert all(a.signed for a in receiver.arrivals)
    failed = [a for a in receiver.of("news") if a.status == 500]
    assert len(failed) == 2
    assert {a.delivery for a in failed} <= receiver.accepted("news")  # retried, then taken
    for arrival in receiver.of("news"):
        assert arrival.event in ("comment.created", "comment.removed")
        body = arrival.json
        assert (body["type"], body["site"], body["thread"]) == (arrival.event, "news", "t")
    taken = {a.delivery: a.json for a in receiver.of("news") if a.status == 200}
    for entry in (*created, removed):
        event = _event_json(entry.payload)
        body = taken[f"{news.id}:{entry.position}"]
        assert {k: v for k, v in body.items() if k not in ("site", "thread")} == event
    assert (
        "first <em>news</em> comment"
        in taken[f"{news.id}:{created[0].position}"]["comment"]["html"]
    )
    (elsewhere_arrival,) = receiver.of("other")
    assert elsewhere_arrival.json["site"] == "other"
    assert elsewhere_arrival.event == "comment.created"


async def test_a_delivery_that_keeps_failing_is_parked_then_replayed(
    parts: Parts, database_url: str
) -> None:
    """After max_attempts failures a delivery is parked, `webhooks failed` lists it, and
    `webhooks replay` sends it again once the receiver works."""
    store, _, comments = parts
    clock = [time.time()]
    database = database_url
    async with receiving() as receiver:
        receiver.now = lambda: clock[0]
        hook = await _hook(store, receiver, "down", "news")
        receiver.broken.add("down")
        hooks = Webhooks(
            store.webhooks,
            store.deliveries,
            store.cursors,
            max_attempts=3,
            backoff=(1.0, 10.0),
            clock=lambda: clock[0],
            allow_private=True,
        )
        try:
            await _post(comments, "nobody hears this")
            (entry,) = await store.log.after(0, 10)
            await hooks.handle(entry)
            delivery_id = f"{hook.id}:{entry.position}"
            for attempt in (1, 2, 3):
                assert await hooks.deliver_due() == 0
                assert len(receiver.of("down")) == attempt
                if attempt < 3:
                    (waiting,) = await store.deliveries.in_status("pending")
                    assert waiting.attempts == attempt
                    assert waiting.last_error == "HTTP 500 Internal Server Error"
                    # Full jitter: somewhere in [now, now + low * 2 ** (attempt - 1)].
                    assert clock[0] <= waiting.next_at <= clock[0] + 1.0 * 2 ** (attempt - 1)
                    assert await hooks.deliver_due() == 0  # not due yet: nothing sent
                    assert len(receiver.of("down")) == attempt
                    clock[0] += 100.0
            (parked,) = await store.deliveries.in_status("parked")
            assert (parked.id, parked.attempts) == (delivery_id, 3)

            failed = await livethread("webhooks", "failed", "--database", database)
            assert failed.returncode == 0, failed.stderr
            (line,) = [row for row in failed.stdout.splitlines() if row.startswith(delivery_id)]
            assert line.split("\t") == [
                delivery_id,
                hook.url,
                "3",
                "HTTP 500 Internal Server Error",
            ]

            receiver.broken.discard("down")
            replay = await livethread("webhooks", "replay", "--database", database)
            assert replay.returncode == 0, replay.stderr
            assert "1 parked deliveries queued again" in replay.stdout
            assert await hooks.deliver_due() == 1
        finally:
            await hooks.aclose()
    assert [a.status for a in receiver.of("down")] == [500, 500, 500, 200]
    assert {a.delivery for a in receiver.arrivals} == {delivery_id}
    assert [d.id for d in await store.deliveries.in_status("sent")] == [delivery_id]
    assert (await livethread("webhooks", "failed", "--database", database)).stdout == (
        "no parked deliveries\n"
    )


async def test_a_worker_killed_mid_batch_loses_no_event(parts: Parts) -> None:
    """Killed while a request is in flight, restarted after more posts: every event arrives,
    each delivery id at least once; the one in flight arrives again with the same id."""
    store, bus, comments = parts
    async with receiving() as receiver:
        hook = await _hook(store, receiver, "all", "news")
        receiver.hold = 4  # the receiver sits on the 4th request until the worker is gone
        async with worker(store, bus, backoff=FAST, batch=3):
            for n in range(6):
                await _post(comments, f"before the crash #{n}")
            await receiver.until(lambda: len(receiver.arrivals) >= 4)
        # The worker is gone (its tasks cancelled mid-request); the receiver answers nobody.
        held = receiver.arrivals[3].delivery
        receiver.gate.set()
        for n in range(6):
            await _post(comments, f"while the worker is down #{n}")
        every = {f"{hook.id}:{e.position}" for e in await store.log.after(0, 100)}
        assert len(every) == 12
        async with worker(store, bus, backoff=FAST, batch=3):
            await receiver.until(lambda: receiver.accepted("all") == every)
    ids = [a.delivery for a in receiver.arrivals]
    assert set(ids) == every  # none lost; after dropping repeated ids, one each
    assert ids.count(held) >= 2  # sent again: its answer never reached the killed worker
    assert all(a.signed for a in receiver.arrivals)
    queued = [
        *await store.deliveries.in_status("sent"),
        *await store.deliveries.in_status("pending"),
    ]
    assert sorted(d.id for d in queued) == sorted(every)  # one delivery per event, no more


async def test_handling_an_event_again_queues_nothing_new(parts: Parts) -> None:
    """An event handled twice (at least once) is still delivered once."""
    store, _, comments = parts
    async with receiving() as receiver:
        await _hook(store, receiver, "once", "news")
        hooks = Webhooks(store.webhooks, store.deliveries, store.cursors, allow_private=True)
        try:
            await _post(comments, "once only")
            (entry,) = await store.log.after(0, 10)
            await hooks.handle(entry)
            await hooks.handle(entry)
            assert await hooks.deliver_due() == 1
            await hooks.handle(entry)  # after it was sent, too
            assert await hooks.deliver_due() == 0
        finally:
            await hooks.aclose()
    assert len(receiver.arrivals) == 1


def test_a_signature_fails_on_any_change_or_when_too_old() -> None:
    """`verify` accepts the signed body and refuses a changed body, timestamp, secret or age."""
    body = b'{"type":"comment.created","seq":1}'
    now = 1_800_000_000
    header = signature_header("s3cret", now, body)
    assert header == f"t={now},v1={sign('s3cret', now, body)}"
    assert verify("s3cret", header, body, now=now + 10)
    assert not verify("s3cret", header, body + b" ", now=now)
    assert not verify("s3cret", header.replace(f"t={now}", f"t={now + 1}"), body, now=now)
    assert not verify("other", header, body, now=now)
    assert not verify("s3cret", header, body, now=now + 301)
    assert not verify("s3cret", header, body, now=now - 301)
    assert verify("s3cret", header, body, tolerance=600, now=now + 301)
    assert not verify("s3cret", "", body, now=now)
    assert not verify("s3cret", f"t={now}", body, now=now)
    assert not verify("s3cret", f"t=soon,v1={sign('s3cret', now, body)}", body, now=now)
    # A receiver rotating secrets may be sent several v1 values; one matching is enough.
    rotated = f"t={now},v1={'0' * 64},v1={sign('s3cret', now, body)}"
    assert verify("s3cret", rotated, body, now=now)


def test_only_http_urls_and_known_event_types_can_be_subscribed() -> None:
    """A webhook needs an http(s) URL with a host and event types that exist."""
    hook = new_webhook("news", "https://hooks.example/in", ("comment.created",))
    assert hook.id.startswith("wh_") and len(hook.secret) >= 40
    assert hook.events == ("comment.created",)
    for url in ("ftp://hooks.example/in", "file:///etc/passwd", "https:///no-host", "hooks"):
        with pytest.raises(WebhookError):
            new_webhook("news", url)
    with pytest.raises(WebhookError, match=r"comment\.posted"):
        new_webhook("news", "https://hooks.example/in", ("comment.posted",))


@pytest.fixture
def database(database_url: str) -> str:
    url = database_url
    assert command.livethread("migrate", "--database", url).returncode == 0
    assert command.livethread("site", "add", "news", "--database", url).returncode == 0
    return url


def test_webhooks_add_list_and_remove_from_the_command_line(database: str) -> None:
    """`add` prints the secret once, `list` never shows it, `remove` takes the webhook away."""
    added = command.livethread(
        "webhooks", "add", "news", "https://hooks.example/in", "--event", "comment.created",
        "--database", database,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    webhook_id = added.stdout.split()[1]
    secret = added.stdout.strip().splitlines()[-1]
    assert secret.startswith("whsec_")
    listed = command.livethread("webhooks", "list", "news", "--database", database)
    assert listed.stdout.splitlines() == [
        f"{webhook_id}\thttps://hooks.example/in\tcomment.created"
    ]
    assert secret not in listed.stdout
    refused = command.livethread(
        "webhooks", "add", "news", "ftp://hooks.example/in", "--database", database
    )
    assert refused.returncode == 2 and "http" in refused.stderr
    unknown = command.livethread(
        "webhooks", "add", "nowhere", "https://hooks.example/in", "--database", database
    )
    assert unknown.returncode == 2 and "no site" in unknown.stderr
    removed = command.livethread("webhooks", "remove", webhook_id, "--database", database)
    assert removed.returncode == 0, removed.stderr
    assert command.livethread("webhooks", "list", "news", "--database", database).stdout == (
        "no webhooks for news\n"
    )
    assert (
        command.livethread("webhooks", "remove", webhook_id, "--database", database).returncode == 2
    )
