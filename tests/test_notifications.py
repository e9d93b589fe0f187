"""The reply-notifications worker against a real SMTP server (aiosmtpd) on a loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from markupsafe import escape

from server import demo
from server.adapters.memory_bus import MemoryBus
from server.model import CommentRecord, Moderator, Site
from server.settings import Settings, SettingsError
from server.storage import Storage
from server.threads.comments import Comments
from server.tokens import UNSUBSCRIBE_SECRET
from server.web.app import store_for
from server.web.pages import PAGE_HEADERS
from tests.support.clients import WAIT, provision
from tests.support.consumers import running
from tests.support.mail import Mailbox, smtp_server, text_of
from tests.support.parts import Parts, new_comment, use_cases
from tests.support.redis_server import free_port
from tests.support.server import Running, serve
from workers.consumer import Consumer
from workers.notifications.confirmations import address_key
from workers.notifications.worker import Notifications, comment_url, message_id

ANN, BOB, CY = "ann@mail.example", "bob@mail.example", "cy@mail.example"


@pytest.fixture
async def mailbox() -> AsyncIterator[tuple[Mailbox, int]]:
    async with smtp_server() as served:
        yield served


@pytest.fixture
async def parts(database_url: str) -> AsyncIterator[Parts]:
    held = Site(name="held", premoderate=True)
    async with use_cases(database_url, Site(name="news"), held) as opened:
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


async def confirmed(store: Storage, secret: str | None, *addresses: str) -> None:
    """Mark addresses confirmed, as following their confirm link does: reply mail goes only to
    confirmed addresses (tests/test_confirmations.py tests the confirmation itself)."""
    key_secret = secret or await store.secrets.get(UNSUBSCRIBE_SECRET)
    for address in addresses:
        await store.addresses.confirm(address_key(key_secret, address), 0.0)


async def confirmed_in(settings: Settings, *addresses: str) -> None:
    """`confirmed`, in the database of a server about to start."""
    store = store_for(settings)
    await store.open()
    try:
        await confirmed(store, settings.secret, *addresses)
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def worker(store: Storage, bus: MemoryBus, port: int) -> AsyncIterator[Consumer]:
    """The notifications worker as the runner runs it; leaving cancels it, as a crash would."""
    mails = Notifications(
        _settings(port),
        reads=store.comments,
        threads=store.threads,
        subscriptions=store.subscriptions,
        addresses=store.addresses,
        secrets=store.secrets,
    )
    consumer = Consumer(store.cursors, store.log, bus, mails, poll=60.0, batch=3)
    async with running(consumer):
        yield consumer


async def _handled_all(store: Storage, consumer: Consumer) -> None:
    """Wait until the worker has committed every event logged so far (each mail sent)."""
    async with asyncio.timeout(WAIT):
        await consumer.committed(await store.log.end())


def _unsubscribe_link(message: EmailMessage) -> str:
    found = re.search(r"Stop these mails: (\S+)", text_of(message))
    assert found is not None
    return found.group(1)


async def test_a_reply_is_mailed_and_the_link_unsubscribes(
    settings: Settings, mailbox: tuple[Mailbox, int]
) -> None:
    """Through the HTTP API: one mail per reply, with the reply and links; GET the unsubscribe
    link shows a form and changes nothing, POST unsubscribes, a later reply sends nothing."""
    box, port = mailbox
    web = free_port()
    settings = settings.replace(smtp_port=port, public_url=f"http://127.0.0.1:{web}")
    await provision(settings)
    await confirmed_in(settings, ANN, BOB)
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
        text = text_of(mail)
        assert "A *thoughtful* reply" in text
        assert f"{server.http}/threads/news/article-1#comment-{reply}" in text
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


async def _http_post(
    http: httpx.AsyncClient,
    body: str,
    *,
    thread: str = "article-1",
    parent: str | None = None,
    email: str | None = None,
    notify: bool = False,
) -> str:
    """A comment posted through the HTTP API, as the widget does; its id."""
    author: dict[str, object] = {"name": "Reader", "notify": notify}
    if email is not None:
        author["email"] = email
    data: dict[str, object] = {"site": "news", "thread": thread, "author": author, "body": body}
    if parent is not None:
        data["parent"] = parent
    answer = await http.post("/api/v1/comments", json=data)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["comment"]["id"])


@dataclass
class Replied:
    """A running server whose worker has mailed Ann about Cy's reply (Bob is subscribed too)."""

    server: Running
    http: httpx.AsyncClient
    box: Mailbox
    first: str
    other: str
    reply: str


@contextlib.asynccontextmanager
async def _replied(settings: Settings, mailbox: tuple[Mailbox, int]) -> AsyncIterator[Replied]:
    box, port = mailbox
    web = free_port()
    settings = settings.replace(smtp_port=port, public_url=f"http://127.0.0.1:{web}")
    await provision(settings)
    await confirmed_in(settings, ANN, BOB)
    async with (
        serve(settings, port=web) as server,
        httpx.AsyncClient(base_url=server.http, timeout=WAIT) as http,
    ):
        first = await _http_post(http, "Subscribed", email=ANN, notify=True)
        other = await _http_post(http, "Also subscribed", email=BOB, notify=True)
        reply = await _http_post(http, "A *thoughtful* reply", parent=first, email=CY)
        await box.until(lambda: len(box.accepted) == 1)
        yield Replied(server, http, box, first, other, reply)


def _raw_header(raw: bytes, name: bytes) -> bytes:
    """A header exactly as it came over the wire, with its folded lines (CRLF kept)."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    line = rb"[^\r\n]*"
    found = re.search(
        rb"^" + re.escape(name) + rb":" + line + rb"(?:\r\n[ \t]" + line + rb")*", head, re.M | re.I
    )
    assert found is not None, head
    return found.group(0)


async def test_list_unsubscribe_is_a_plain_url_that_unsubscribes_in_one_click(
    settings: Settings, mailbox: tuple[Mailbox, int]
) -> None:
    """List-Unsubscribe goes out as `<URL>` on one line (no RFC 2047 encoded word), with
    List-Unsubscribe-Post; RFC 8058's one-click POST to it stops the comment's mails."""
    async with _replied(settings, mailbox) as done:
        (raw,) = done.box.raw
        header = _raw_header(raw, b"List-Unsubscribe")
        assert b"=?" not in header and b"\r\n" not in header
        assert re.fullmatch(
            rb"List-Unsubscribe: <http://127\.0\.0\.1:\d+/unsubscribe\?c=[\w-]+&t=[0-9a-f]{64}>",
            header,
        ), header
        strict = email.message_from_bytes(raw, policy=email.policy.compat32)
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        url = str(parsed["List-Unsubscribe"]).removeprefix("<").removesuffix(">")
        assert strict["List-Unsubscribe"] == f"<{url}>"  # readable without decoding anything
        assert (
            url == f"{done.server.http}/unsubscribe?c={done.first}&t={httpx.URL(url).params['t']}"
        )
        assert url == _unsubscribe_link(done.box.accepted[0])
        assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

        # What a mail client sends for one-click unsubscribe (RFC 8058, section 3.2).
        clicked = await done.http.post(
            url,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert clicked.status_code == 200, clicked.text
        assert not (await _record(done.server.settings, done.first)).notify

        # Events are handled in log order: once Bob's mail is in, Ann's would have been too.
        await _http_post(done.http, "After the unsubscribe", parent=done.first, email=CY)
        await _http_post(done.http, "For Bob", parent=done.other, email=CY)
        await done.box.until(lambda: len(done.box.accepted) == 2)
        assert [m["To"] for m in done.box.accepted] == [ANN, BOB]


async def test_the_read_it_link_opens_the_reply_on_its_threads_page(
    settings: Settings, mailbox: tuple[Mailbox, int]
) -> None:
    """The mail's link is PUBLIC_URL/threads/SITE/THREAD#comment-ID, and that page shows the
    reply (for any site, not only the demo the start page shows)."""
    async with _replied(settings, mailbox) as done:
        found = re.search(r"Read it: (\S+)", text_of(done.box.accepted[0]))
        assert found is not None
        link = found.group(1)
        assert link == f"{done.server.http}/threads/news/article-1#comment-{done.reply}"
        page = await done.http.get(link)
        assert page.status_code == 200
        assert f'<li id="comment-{done.reply}">' in page.text
        assert "A <em>thoughtful</em> reply" in page.text


def test_the_link_percent_encodes_the_site_and_thread() -> None:
    """A thread id with characters that mean something in a URL path stays one path segment."""
    reply = CommentRecord(
        id="r1", site="news", thread="2024:a.b", parent="p1", author_name="Cy",
        body_source="x", body_html="<p>x</p>", created_at=0.0,
    )  # fmt: skip
    assert comment_url("https://c.example", reply) == (
        "https://c.example/threads/news/2024%3Aa.b#comment-r1"
    )


async def test_the_thread_page_shows_the_thread_with_the_widget(http: httpx.AsyncClient) -> None:
    """GET /threads/SITE/THREAD: the comments as plain HTML inside the widget's container, the
    widget script, the thread's id as title, noindex, and the pages' CSP."""
    posted = await _http_post(http, "Hello from the *news* site", thread="2024:budget")
    page = await http.get("/threads/news/2024%3Abudget")
    assert page.status_code == 200
    assert page.headers["Content-Security-Policy"] == PAGE_HEADERS["Content-Security-Policy"]
    text = page.text
    assert '<div id="livethread" data-site="news" data-thread="2024:budget">' in text
    assert f'<li id="comment-{posted}">' in text and "Hello from the <em>news</em> site" in text
    assert re.search(r'<script src="/embed[^"]*\.js" async></script>', text), text
    assert "<title>2024:budget</title>" in text
    assert '<meta name="robots" content="noindex">' in text


async def test_the_demo_threads_page_has_the_demo_title(http: httpx.AsyncClient) -> None:
    """The demo's thread is titled as on the demo article, like its mails."""
    page = await http.get(f"/threads/{demo.SITE}/{demo.THREAD}")
    assert page.status_code == 200
    assert f"<title>{escape(demo.TITLE)}</title>" in page.text


async def test_the_thread_page_of_an_unknown_site_is_404(http: httpx.AsyncClient) -> None:
    """A site that does not exist: 404 with the API's error shape."""
    page = await http.get("/threads/nowhere/article-1")
    assert page.status_code == 404
    assert page.json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("path", "field"),
    [("/threads/news/bad%20id", "thread"), ("/threads/n%24ws/article-1", "site")],
)
async def test_the_thread_page_refuses_a_malformed_id(
    http: httpx.AsyncClient, path: str, field: str
) -> None:
    """A site or thread id that is not one: 422 naming the field, as the API answers."""
    page = await http.get(path)
    assert page.status_code == 422
    assert field in page.json()["fields"]


async def _record(settings: Settings, comment_id: str) -> Any:
    store = store_for(settings)
    await store.open()
    try:
        found = await store.comments.get(comment_id)
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
    await confirmed(store, _settings(port).secret, ANN, BOB)
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
    await confirmed(store, _settings(port).secret, ANN)
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
    await confirmed(store, _settings(port).secret, ANN)
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
    await confirmed(store, _settings(port).secret, ANN)
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
