"""Reply-mail double opt-in: a real server, its notifications worker, a real SMTP server."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from email.message import EmailMessage

import httpx
import pytest

from server.adapters.memory_store import memory_storage
from server.settings import Settings, SettingsError
from server.tokens import unsubscribe_token
from tests.support.mail import Mailbox, mailing_server, smtp_server, text_of
from tests.support.waiting import eventually
from workers.notifications.confirmations import Confirmations, address_key, confirm_token
from workers.notifications.worker import POLICY, message_id

ANN, CY, DEE = "ann@mail.example", "cy@mail.example", "dee@mail.example"
CONFIRM_LINK = re.compile(r"(http://127\.0\.0\.1:\d+/confirm\?e=([0-9a-f]{64})&t=([0-9a-f]{64}))")


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[Mailbox, int]]:
    async with smtp_server() as served:
        yield served


async def _post(
    http: httpx.AsyncClient,
    body: str,
    *,
    name: str = "Reader",
    email: str | None = None,
    notify: bool = False,
    parent: str | None = None,
) -> str:
    author: dict[str, object] = {"name": name, "notify": notify}
    if email is not None:
        author["email"] = email
    data: dict[str, object] = {"site": "news", "thread": "article-1", "author": author}
    data["body"] = body
    if parent is not None:
        data["parent"] = parent
    answer = await http.post("/api/v1/comments", json=data)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["comment"]["id"])


async def _caught_up(http: httpx.AsyncClient) -> None:
    """Wait until the notifications worker has handled every event (each mail sent): the
    worker offers no signal outside its process but /healthz."""

    async def done() -> bool:
        health = (await http.get("/healthz")).json()
        return bool(health["workers"]["notifications"]["events_behind"] == 0)

    await eventually(done)


def _link(mail: EmailMessage) -> tuple[str, str, str]:
    found = CONFIRM_LINK.search(text_of(mail))
    assert found is not None, text_of(mail)
    return found.group(1), found.group(2), found.group(3)


async def test_an_unconfirmed_address_gets_one_confirmation_and_no_reply_until_confirmed(
    settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    """A comment asking for reply mail sends its address one confirmation mail (no text anyone
    posted in it) and three replies send nothing more; GET on the link changes nothing; after
    POSTing it the next reply is mailed (not the three before), and a later comment with the
    address in another case is mailed without asking again."""
    box, port = smtp
    async with mailing_server(settings, port) as (server, http):
        first = await _post(
            http, "Buy pills at evil.example", name="Mallory", email=ANN, notify=True
        )
        await box.until(lambda: len(box.accepted) == 1)
        (mail,) = box.accepted
        assert mail["To"] == ANN
        assert mail["Subject"] == "Confirm reply notifications from news"
        text = text_of(mail)
        for posted in ("pills", "evil.example", "Mallory", "article-1"):
            assert posted not in text and posted not in str(mail["Subject"])
        assert "ignore this mail" in text
        link, key, token = _link(mail)
        assert link.startswith(f"{server.http}/confirm?")

        for n in range(3):
            await _post(http, f"Early reply {n}", parent=first, email=CY)
        await _caught_up(http)
        assert len(box.accepted) == 1

        page = await http.get(link)
        assert page.status_code == 200
        assert '<form method="post" action="confirm">' in page.text
        assert page.headers["cache-control"] == "no-store"
        await _post(http, "Reply after a link scanner", parent=first, email=CY)
        await _caught_up(http)
        assert len(box.accepted) == 1  # the GET confirmed nothing

        done = await http.post("/confirm", data={"e": key, "t": token})
        assert done.status_code == 200 and "Address confirmed" in done.text
        reply = await _post(http, "Reply after confirming", parent=first, email=CY)
        await box.until(lambda: len(box.accepted) == 2)
        assert box.accepted[1]["Message-ID"] == message_id(reply, ANN)
        assert "Reply after confirming" in text_of(box.accepted[1])

        later = await _post(http, "Again", email=ANN.upper(), notify=True)
        answer = await _post(http, "Answer to the later one", parent=later, email=CY)
        await box.until(lambda: len(box.accepted) == 3)
        await _caught_up(http)
    assert [m["Message-ID"] for m in box.accepted[1:]] == [
        message_id(reply, ANN),
        message_id(answer, ANN.upper()),
    ]


async def test_a_second_comment_within_the_window_sends_no_second_confirmation(
    settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    """The same unconfirmed address (any case) asking again within the window, and a reply to
    it, send no second confirmation mail."""
    box, port = smtp
    async with mailing_server(settings, port) as (_, http):
        first = await _post(http, "One", email=ANN, notify=True)
        await _post(http, "Two", email=ANN.upper(), notify=True)
        await _post(http, "A reply", parent=first, email=CY)
        await _caught_up(http)
    assert [m["To"] for m in box.accepted] == [ANN]


async def test_confirmation_mails_per_site_are_capped(
    settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    """At most LIVETHREAD_CONFIRM_RATE_SITE confirmation mails per site: a third address within
    the hour gets none."""
    box, port = smtp
    async with mailing_server(settings.replace(confirm_rate_site="2/3600"), port) as (_, http):
        for address in (ANN, CY, DEE):
            await _post(http, f"From {address}", email=address, notify=True)
        await _caught_up(http)
    assert sorted(m["To"] for m in box.accepted) == [ANN, CY]


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_bad_confirm_link_answers_a_page_never_500(
    settings: Settings, smtp: tuple[Mailbox, int], method: str
) -> None:
    """Missing, non-hex or non-ASCII parameters answer 400, a forged token (or an unsubscribe
    token) 403, each as an HTML page; nothing is confirmed."""
    _, port = smtp
    key = address_key("whatever", ANN)
    async with mailing_server(settings.replace(secret="s3cret"), port) as (_, http):
        cases = [
            ({}, 400),
            ({"e": key, "t": "\u00e9" * 64}, 400),
            ({"e": key, "t": "%C3%A9"}, 400),
            ({"e": "X" * 64, "t": "0" * 64}, 400),
            ({"e": key, "t": "0" * 64}, 403),
            ({"e": key, "t": unsubscribe_token("s3cret", key)}, 403),
            ({"e": key, "t": confirm_token("not the secret", key)}, 403),
        ]
        for params, status in cases:
            if method == "GET":
                answer = await http.get("/confirm", params=params)
            else:
                answer = await http.post("/confirm", data=params)
            assert answer.status_code == status, (params, answer.text)
            assert answer.headers["content-type"].startswith("text/html")
            assert "This link is not valid" in answer.text
        good = await http.get("/confirm", params={"e": key, "t": confirm_token("s3cret", key)})
        assert good.status_code == 200


async def test_a_confirmation_is_asked_again_only_after_the_interval() -> None:
    """Per address, one confirmation mail per LIVETHREAD_CONFIRM_INTERVAL_SECONDS: none while
    it runs, one after; none at all once the address is confirmed."""
    store, sent = memory_storage(), list[EmailMessage]()
    now = [1000.0]

    async def send(mail: EmailMessage) -> None:
        sent.append(mail)

    settings = Settings(confirm_interval_seconds=86400.0)
    asking = Confirmations(store.addresses, settings, send, policy=POLICY, clock=lambda: now[0])
    assert await asking.ask("k", ANN, "news", 1)
    now[0] += 86399.0
    assert not await asking.ask("k", ANN.upper(), "news", 2)
    now[0] += 1.0
    assert await asking.ask("k", ANN, "news", 3)
    assert [m["Message-ID"] != sent[0]["Message-ID"] for m in sent] == [False, True]
    await store.addresses.confirm(address_key("k", ANN), now[0])
    now[0] += 200000.0
    assert not await asking.ask("k", ANN, "news", 4)
    assert await asking.confirmed("k", ANN.title())
    assert len(sent) == 2


def test_the_confirmation_interval_cannot_be_shorter_than_the_site_window() -> None:
    """The per-site count reads each address's last mail, so the per-address interval must
    cover the site's window; bad rates are refused by name."""
    with pytest.raises(SettingsError, match="CONFIRM_INTERVAL_SECONDS"):
        Settings(confirm_interval_seconds=60.0, confirm_rate_site="5/3600").check()
    with pytest.raises(SettingsError, match="CONFIRM_RATE_SITE"):
        Settings.from_environ({"LIVETHREAD_CONFIRM_RATE_SITE": "lots"})
