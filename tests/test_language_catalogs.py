"""The server's languages (issue 17 item 6): every catalog complete, Accept-Language chosen
right, messages rendered and recognised by key, dates written per language."""

# Other alphabets' letters and full-width punctuation are what is tested here.
# ruff: noqa: RUF001

from __future__ import annotations

import pickle
import string

import pytest

from server.language.catalogs import catalog
from server.language.choice import choose
from server.language.dates import moment
from server.language.supported import DEFAULT, LANGUAGES, supported
from server.language.text import Moment, Text
from server.language.translate import translated, translated_fields
from server.names import MIXED_SCRIPTS
from server.validation import BODY_REQUIRED, FORM_INVALID, NAME_REQUIRED

# 2026-12-05 14:30 UTC
DEC_5 = 1796481000.0


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_the_twelve_languages_with_english_the_default() -> None:
    """The server speaks the widget's twelve languages; English is the default."""
    assert LANGUAGES == ("ar", "de", "en", "es", "fr", "it", "ja", "nl", "pl", "pt", "ru", "tr")
    assert DEFAULT == "en"


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_every_catalog_has_every_english_key_with_the_same_placeholders(lang: str) -> None:
    """A catalog has exactly English's keys, each text non-empty, its placeholders the same."""
    english, other = catalog("en"), catalog(lang)
    assert set(other) == set(english), f"{lang}: missing {set(english) - set(other)}"
    for key, text in other.items():
        assert text.strip(), f"{lang}: {key} is empty"
        assert placeholders(text) == placeholders(english[key]), f"{lang}: {key}"
        assert text != english[key] or key.startswith(("month.", "date.")), f"{lang}: {key}"


def test_english_texts_have_no_empty_value_and_render_with_their_parameters() -> None:
    """English names every key with a text; each renders once given its placeholders."""
    for key, text in catalog("en").items():
        assert text.strip(), key
        Text(key, **dict.fromkeys(placeholders(text), "x")).in_language("ar")


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "en"),
        ("", "en"),
        ("ar", "ar"),
        ("de-AT,de;q=0.9,en;q=0.8", "de"),
        ("pt-BR", "pt"),
        ("zh-CN,zh;q=0.9,fr;q=0.7,en;q=0.5", "fr"),
        ("en;q=0.4, ja;q=0.8", "ja"),
        ("fr;q=0.1, ar", "ar"),
        ("RU", "ru"),
        ("tr_TR", "tr"),
        ("nl;q=0.5, pl;q=0.5", "nl"),
        ("xx, yy;q=0.9", "en"),
        ("*", "en"),
        ("*, it;q=0.5", "en"),
        ("it;q=0.5, *;q=0.1", "it"),
        ("de;q=0", "en"),
        ("es;q=abc", "en"),
        ("es;q=2", "en"),
        ("es;q=nan, it", "it"),
        (";;,,;q=,=", "en"),
        ("de;" + "x" * 5000, "de"),
        ("\u00e9t\u00e9, \x00", "en"),
    ],
)
def test_accept_language_chooses_by_q_value_and_primary_subtag(
    header: str | None, lang: str
) -> None:
    """The highest q among supported primary subtags wins (earlier on a tie); "*", unknown
    languages, q=0 and unreadable headers give English, never an error."""
    assert choose(header) == lang


def test_a_huge_header_is_read_only_so_far() -> None:
    """A header of a million ranges is cut short, not parsed whole."""
    assert choose("xx," * 1_000_000 + "de") == "en"


def test_a_stored_language_is_trusted_only_if_supported() -> None:
    """Values read back (a comment's lang) are one of the twelve, else English."""
    assert supported("de") == "de" and supported("pt-BR") == "pt"
    assert supported("klingon") == "en" and supported(None) == "en" and supported("") == "en"


def test_a_text_reads_as_todays_english_and_renders_in_any_language() -> None:
    """Text is the English message as a str (tests comparing texts keep passing), with its
    key and parameters for the edge to render again."""
    too_long = Text("body.too_long", max=5000)
    assert too_long == "Your comment is too long (5000 characters at most)"
    assert too_long.key == "body.too_long" and dict(too_long.params) == {"max": 5000}
    assert too_long.in_language("de") == "Dein Kommentar ist zu lang (höchstens 5000 Zeichen)"
    assert type(too_long.in_language("ar")) is str
    assert FORM_INVALID == "Please correct the highlighted fields"
    assert NAME_REQUIRED == "Please enter your name here"
    assert BODY_REQUIRED == "Please enter your comment!"
    assert MIXED_SCRIPTS.startswith("Please write each word of your name in one alphabet")
    assert pickle.loads(pickle.dumps(too_long)) == str(too_long)


def test_dates_are_written_as_each_language_writes_them() -> None:
    """A moment in a message: English as before ("%-d %b %Y, %H:%M UTC"), others their way."""
    assert moment(DEC_5, "en") == "5 Dec 2026, 14:30 UTC"
    assert moment(DEC_5, "de") == "5. Dezember 2026, 14:30 UTC"
    assert moment(DEC_5, "fr") == "5 décembre 2026 à 14:30 UTC"
    assert moment(DEC_5, "ja") == "2026年12月5日 14:30 UTC"
    assert moment(DEC_5, "ru") == "5 декабря 2026 г., 14:30 UTC"
    suspended = Text("ban.suspended", until=Moment(DEC_5))
    assert suspended == "You are suspended from commenting here until 5 Dec 2026, 14:30 UTC"
    assert suspended.in_language("es") == (
        "Se te ha suspendido la posibilidad de comentar aquí hasta el 5 de diciembre de 2026, "
        "14:30 UTC"
    )


def test_texts_with_parameters_are_translated_with_them() -> None:
    """A `Text` with parameters is translated with them in place, and reads as its English
    text until then: the edit window, banned words, a locked thread."""
    assert translated(Text("thread.locked"), "it") == catalog("it")["thread.locked"]
    window = Text("comment.edit_window", minutes=15)
    assert str(window) == "Comments can be changed only within 15 minutes of posting"
    assert "15" in translated(window, "pl") and translated(window, "pl") != str(window)
    assert translated(Text("body.remove_words", words="spam, scam"), "fr").endswith("spam, scam")


def test_messages_that_are_not_ours_stay_as_they_are() -> None:
    """Moderators' and developers' messages (and anything unknown) are answered unchanged."""
    for message in ("Your moderator token is for another site", "Expected `str`, got `int`"):
        assert translated(message, "ja") == message
    fields = {"author.name": NAME_REQUIRED, "site": "site must be 1–128 characters"}
    assert translated_fields(fields, "nl") == {
        "author.name": "Vul hier je naam in",
        "site": "site must be 1–128 characters",
    }
