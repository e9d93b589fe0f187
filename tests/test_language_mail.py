"""Mails in the subscriber's language (issue 17 item 6): the language their request asked for
when they posted with "notify me" is kept with the comment, and the confirmation and reply
mails are written in it; a real server, its notifications worker and a real SMTP server."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from server.settings import Settings
from tests.support.mail import Mailbox, mailing_server, smtp_server, text_of

ANN, CY = "ann@mail.example", "cy@mail.example"
CONFIRM = re.compile(r"http://127\.0\.0\.1:\d+/confirm\?e=([0-9a-f]{64})&t=([0-9a-f]{64})")


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[Mailbox, int]]:
    async with smtp_server() as served:
        yield served


async def post(http: httpx.AsyncClient, body: str, lang: str | None, **author: object) -> str:
    """A comment through the HTTP API with the widget's Accept-Language (none: no header)."""
    parent = author.pop("parent", None)
    data: dict[str, object] = {
        "site": "news",
        "thread": "article-1",
        "author": {"name": "Reader", **author},
        "body": body,
    }
    if parent is not None:
        data["parent"] = parent
    headers = {} if lang is None else {"Accept-Language": lang}
    answer = await http.post("/api/v1/comments", json=data, headers=headers)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["comment"]["id"])


async def test_a_subscriber_who_wrote_in_german_gets_german_mails(
    settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    """Ann posts with Accept-Language: de and asks for reply mail: her confirmation mail is
    German; once confirmed, a reply (written by a reader whose language is Arabic) reaches her
    in German too: subject, lines, the unsubscribe line; the poster's text as written."""
    box, port = smtp
    async with mailing_server(settings, port) as (server, http):
        first = await post(http, "Guter Artikel", "de-DE,de;q=0.9", email=ANN, notify=True)
        await box.until(lambda: len(box.accepted) == 1)
        confirmation = box.accepted[0]
        assert confirmation["To"] == ANN
        assert confirmation["Subject"] == "Benachrichtigungen über Antworten von news bestätigen"
        assert confirmation["Content-Language"] == "de"
        text = text_of(confirmation)
        assert text.startswith(
            "Jemand hat auf news mit dieser E-Mail-Adresse einen Kommentar hinterlassen"
        )
        assert "Wenn du das warst, bestätige diese Adresse" in text
        assert "Wenn du es nicht warst, ignoriere diese E-Mail" in text
        found = CONFIRM.search(text)
        assert found is not None, text
        done = await http.post("/confirm", data={"e": found[1], "t": found[2]})
        assert done.status_code == 200

        reply = await post(http, "شكرا! A reply", "ar", parent=first, email=CY)
        await box.until(lambda: len(box.accepted) == 2)
        mail = box.accepted[1]
        assert mail["To"] == ANN
        assert mail["Subject"] == "Neue Antwort zu „article-1“"
        assert mail["Content-Language"] == "de"
        lines = text_of(mail).splitlines()
        assert lines[0] == "Reader hat auf deinen Kommentar zu „article-1“ geantwortet:"
        assert lines[2] == "شكرا! A reply"
        assert lines[4] == f"Zur Antwort: {server.http}/threads/news/article-1#comment-{reply}"
        assert lines[7] == (
            "Du erhältst diese E-Mail, weil du über Antworten auf deinen Kommentar "
            "benachrichtigt werden wolltest."
        )
        assert lines[8].startswith(f"Diese E-Mails abbestellen: {server.http}/unsubscribe?c=")
        assert mail["List-Unsubscribe"] == f"<{lines[8].split(': ', 1)[1]}>"


async def test_without_accept_language_the_mails_are_english_as_before(
    settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    """A subscriber whose request named no language (or one we do not speak) gets English."""
    box, port = smtp
    async with mailing_server(settings, port) as (_, http):
        await post(http, "Hello", "zh-TW", email=ANN, notify=True)
        await box.until(lambda: len(box.accepted) == 1)
        mail = box.accepted[0]
        assert mail["Subject"] == "Confirm reply notifications from news"
        assert mail["Content-Language"] == "en"
        assert "If it was not you, ignore this mail" in text_of(mail)
