"""Readers' refusals in their language (issue 17 item 6), on a real server: the widget sends
`Accept-Language: <its language>`, a browser its own list; without it, English as always."""

# Other alphabets' letters and full-width punctuation are what is tested here.
# ruff: noqa: RUF001

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from server.settings import Settings
from tests.support.clients import WAIT, Tokens, comment_json, decode_json
from tests.support.server import serve

THREAD = "article-1"


def bad_comment() -> dict[str, object]:
    """A comment with every author field wrong and no text."""
    data = comment_json("   ", name="", thread=THREAD)
    data["author"] = {"name": "", "email": "not-an-address", "url": "ftp://files.example"}
    return data


async def refused(
    http: httpx.AsyncClient, data: dict[str, object], **headers: str
) -> tuple[int, dict[str, Any]]:
    """A refused post's status and JSON answer, which varies by Accept-Language."""
    answer = await http.post("/api/v1/comments", json=data, headers=headers)
    assert answer.status_code >= 400, answer.text
    assert "Accept-Language" in answer.headers["vary"]
    return answer.status_code, decode_json(answer.content)


async def test_a_bad_comment_is_refused_in_arabic_german_or_english(
    http: httpx.AsyncClient,
) -> None:
    """The 422's summary and every field message follow Accept-Language ("ar" as the widget
    sends it, "de-AT,..." as a browser does); without it, today's English texts, same shape."""
    status, arabic = await refused(http, bad_comment(), **{"Accept-Language": "ar"})
    assert status == 422
    assert arabic == {
        "error": "invalid",
        "message": "يُرجى تصحيح الحقول المحددة",
        "fields": {
            "author.name": "يُرجى إدخال اسمك هنا",
            "author.email": "يُرجى إدخال عنوان بريد إلكتروني صالح",
            "author.url": "يُرجى إدخال عنوان موقع يبدأ بـ http:// أو https://",
            "body": "يُرجى كتابة تعليقك!",
        },
    }
    browser = {"Accept-Language": "de-AT,de;q=0.9,en;q=0.8"}
    _, german = await refused(http, bad_comment(), **browser)
    assert german["message"] == "Bitte korrigiere die markierten Felder"
    assert german["fields"]["author.name"] == "Bitte gib hier deinen Namen ein"
    assert german["fields"]["body"] == "Bitte schreibe einen Kommentar!"
    _, english = await refused(http, bad_comment())
    assert english == {
        "error": "invalid",
        "message": "Please correct the highlighted fields",
        "fields": {
            "author.name": "Please enter your name here",
            "author.email": "Please enter a valid email address",
            "author.url": "Please enter a website address starting with http:// or https://",
            "body": "Please enter your comment!",
        },
    }
    _, unknown = await refused(http, bad_comment(), **{"Accept-Language": "zh-CN;;q=x,*"})
    assert unknown == english


async def test_limits_and_mixed_scripts_are_refused_with_their_numbers_in_japanese(
    http: httpx.AsyncClient,
) -> None:
    """Messages with a parameter keep it in place; names.py's mixed-script refusal too."""
    data = comment_json("x" * 5001, name="P\u0430ypal", thread=THREAD)
    _, japanese = await refused(http, data, **{"Accept-Language": "ja"})
    assert japanese["fields"] == {
        "author.name": "名前の各単語は一種類の文字で書いてください（この名前では、"
        "たとえばラテン文字とギリシャ文字やキリル文字が混在しています）",
        "body": "コメントが長すぎます（5000文字以内）",
    }


async def test_a_banned_or_suspended_reader_is_told_in_french(
    http: httpx.AsyncClient, tokens: Tokens
) -> None:
    """A ban answers 403 "banned" in French; a suspension's end is written as French writes
    dates; the moderator's own answers are unchanged."""
    mod = {"Authorization": f"Bearer {tokens.news}"}
    french = {"Accept-Language": "fr-FR,fr;q=0.9"}
    data = comment_json("First", name="Troll", thread=THREAD)
    data["author"] = {"name": "Troll", "email": "troll@example.org"}
    first = await http.post("/api/v1/comments", json=data)
    assert first.status_code == 201, first.text
    comment = first.json()["comment"]["id"]
    until = datetime(2099, 3, 5, 14, 30, tzinfo=UTC).isoformat()
    body = {"site": "news", "comment": comment, "key": "email", "mode": "suspend", "until": until}
    made = await http.post("/api/v1/bans", json=body, headers=mod)
    assert made.status_code == 201, made.text
    status, suspended = await refused(http, data, **french)
    assert (status, suspended["error"]) == (403, "banned")
    assert (
        suspended["message"] == "Vous ne pouvez plus commenter ici jusqu’au 5 mars 2099 à 14:30 UTC"
    )
    _, english = await refused(http, data)
    assert (
        english["message"] == "You are suspended from commenting here until 5 Mar 2099, 14:30 UTC"
    )
    made = await http.post("/api/v1/bans", json={**body, "mode": "ban", "until": None}, headers=mod)
    assert made.status_code == 201, made.text
    _, banned = await refused(http, data, **french)
    assert banned["message"] == "Vous n’êtes pas autorisé à commenter ici"


async def test_a_locked_thread_and_an_unknown_comment_answer_in_italian(
    http: httpx.AsyncClient, tokens: Tokens
) -> None:
    """Refusals raised outside the edge as English strings (a locked thread, 409; no such
    comment, 404) are translated too."""
    italian = {"Accept-Language": "it"}
    lock = {"site": "news", "thread": THREAD, "action": "lock"}
    mod = {"Authorization": f"Bearer {tokens.news}"}
    locked = await http.post("/api/v1/threads/moderation", json=lock, headers=mod)
    assert locked.status_code == 200, locked.text
    status, answer = await refused(http, comment_json("Hello", thread=THREAD), **italian)
    assert status == 409
    assert answer["message"] == "I commenti a questo articolo sono chiusi."
    missing = await http.post(
        "/api/v1/comments/nope/reactions",
        json={"kind": "like", "on": True},
        headers={**italian, "X-Reader-Key": "r" * 20},
    )
    assert missing.status_code == 404
    assert missing.json()["message"] == "Questo commento non esiste"


async def test_a_reader_over_the_rate_is_told_in_spanish(
    settings: Settings, tokens: Tokens
) -> None:
    """A 429 from the flood limit says so in Spanish, with its Retry-After."""
    limited = settings.replace(rate_limit=True, post_rate_address="1/60")
    async with (
        serve(limited) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        spanish = {"Accept-Language": "es-MX,es;q=0.9"}
        first = await http.post("/api/v1/comments", json=comment_json("Uno"), headers=spanish)
        assert first.status_code == 201, first.text
        status, answer = await refused(http, comment_json("Dos"), **spanish)
        assert (status, answer["error"]) == (429, "rate_limited")
        assert answer["message"] == (
            "Demasiados comentarios desde tu dirección; vuelve a intentarlo en unos instantes"
        )
