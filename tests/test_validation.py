"""Request decoding and validation at the HTTP edge (server/validation.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

import server
from server import events
from server.adapters.sqlite_store import sqlite_storage
from server.model import ThreadKey
from server.settings import Settings
from server.validation import (
    BODY_MAX,
    EMAIL_MAX,
    NAME_MAX,
    EditComment,
    ModerationRequest,
    NewAuthor,
    NewComment,
    RequestError,
    ThreadModeration,
    decode,
    error_body,
    validate_comment,
    validate_edit,
    validate_ids,
)
from tests.support.clients import comment_json, reader
from tests.support.server import Running

# The seed thread as the project ships it (server/data/, a copy of shared/seed/thread.json).
SEED = Path(server.__file__).parent / "data" / "thread.json"
SEED_FORM_ERRORS = {"Please enter your comment!", "Please enter your name here"}


def _comment(**changes: Any) -> NewComment:
    author = NewAuthor(name="Mike", email="mike@example.com", url="https://mike.example/")
    fields: dict[str, Any] = {
        "site": "example",
        "thread": "nato-secretary-general-visits-kyiv",
        "author": author,
        "body": "I hope Russia leaves Ukraine.",
    }
    fields.update(changes)
    return NewComment(**fields)


def _author(**changes: Any) -> NewAuthor:
    fields: dict[str, Any] = {"name": "Mike"}
    fields.update(changes)
    return NewAuthor(**fields)


def _fields_of(comment: NewComment) -> dict[str, str]:
    with pytest.raises(RequestError) as info:
        validate_comment(comment)
    assert info.value.status == 422
    return info.value.fields


def _decode_error(data: bytes, kind: type[object] = NewComment) -> RequestError:
    with pytest.raises(RequestError) as info:
        decode(data, kind)
    return info.value


# --- decoding -----------------------------------------------------------------------------


def test_decode_valid_comment() -> None:
    """A well-formed body decodes into the schema, defaults filled in."""
    data = b'{"site":"s","thread":"t","author":{"name":"Mike"},"body":"hi"}'
    comment = decode(data, NewComment)
    assert comment == NewComment(site="s", thread="t", author=NewAuthor(name="Mike"), body="hi")
    assert comment.parent is None
    assert comment.author.notify is False


@pytest.mark.parametrize("data", [b"", b"{", b"not json", b'{"site": }', b"\xff\xfe", b"{} x"])
def test_malformed_json_is_400(data: bytes) -> None:
    """Bytes that are not JSON are a 400 with the fixed message and no fields."""
    err = _decode_error(data)
    assert (err.status, err.message, err.fields) == (400, "Request body is not valid JSON", {})


@pytest.mark.parametrize(
    ("data", "path", "fragment"),
    [
        (b'{"site":1,"thread":"t","author":{}}', "site", "Expected `str`, got `int`"),
        (b'{"site":"s","thread":"t","author":{"name":3}}', "author.name", "Expected `str`"),
        (b'{"site":"s","thread":"t","author":{"notify":"yes"}}', "author.notify", "`bool`"),
        (b'{"site":"s","thread":"t","author":"Mike"}', "author", "Expected `object`"),
        (b'{"site":"s","thread":"t","author":{},"body":["x"]}', "body", "Expected `str`"),
        (b"[]", "request", "Expected `object`, got `array`"),
        (b'"hello"', "request", "Expected `object`"),
    ],
)
def test_wrong_json_types_are_422_with_field_path(data: bytes, path: str, fragment: str) -> None:
    """A wrong type is a 422 keyed by the dotted field path; the path suffix is stripped."""
    err = _decode_error(data)
    assert err.status == 422
    assert list(err.fields) == [path]
    assert fragment in err.fields[path]
    assert " - at `" not in err.fields[path]


def test_missing_required_field_is_flagged_on_that_field() -> None:
    """A missing required key is reported under its own name, not its parent's."""
    err = _decode_error(b'{"thread":"t","author":{}}')
    assert err.status == 422
    assert err.fields == {"site": "Object missing required field `site`"}


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (b'{"site":"s","thread":"t","author":{},"html":"<b>x</b>"}', "html"),
        (b'{"site":"s","thread":"t","author":{"name":"M","ip":"1.2.3.4"}}', "author.ip"),
    ],
)
def test_unknown_field_is_422(data: bytes, path: str) -> None:
    """Unknown keys are refused (422), flagged under the unknown key's path."""
    err = _decode_error(data)
    assert err.status == 422
    assert err.fields == {path: f"Object contains unknown field `{path.split('.')[-1]}`"}


def test_moderation_actions_are_a_closed_set() -> None:
    """Moderation requests accept only the listed actions."""
    assert decode(b'{"action":"pin"}', ModerationRequest).action == "pin"
    err = _decode_error(b'{"action":"delete-everything"}', ModerationRequest)
    assert err.status == 422
    assert list(err.fields) == ["action"]
    lock = decode(b'{"site":"s","thread":"t","action":"lock"}', ThreadModeration)
    assert lock.action == "lock"
    assert _decode_error(b'{"site":"s","thread":"t","action":"pin"}', ThreadModeration).fields


def test_edit_requires_body() -> None:
    """An edit without a body key is a 422 on "body"."""
    assert decode(b'{"body":"new"}', EditComment).body == "new"
    assert list(_decode_error(b"{}", EditComment).fields) == ["body"]


def test_error_body_encodes_kind_message_and_fields() -> None:
    """error_body gives {"error", "message", "fields"} with invalid for 422, malformed for 400."""
    invalid = json.loads(error_body(RequestError(422, "Fix it", {"body": "Too long"})))
    assert invalid == {"error": "invalid", "message": "Fix it", "fields": {"body": "Too long"}}
    malformed = msgspec.json.decode(error_body(RequestError(400, "Bad JSON", {})))
    assert malformed == {"error": "malformed", "message": "Bad JSON", "fields": {}}


# --- validation ---------------------------------------------------------------------------


def test_valid_comment_is_normalised() -> None:
    """A good comment comes back cleaned: name, lowercased email, trimmed body with LF endings."""
    clean = validate_comment(
        _comment(
            author=NewAuthor(
                name="  Mike\u200b  Wright ",
                email="  Mike@Example.COM ",
                url=" https://mike.example/ ",
                notify=True,
            ),
            body="\r\n  Line one\r\nLine two\r\n\r\n",
            parent="c1",
        )
    )
    assert clean.name == "Mike Wright"
    assert clean.email == "mike@example.com"
    assert clean.url == "https://mike.example/"
    assert clean.body == "Line one\nLine two"
    assert clean.parent == "c1"
    assert clean.notify is True
    assert (clean.site, clean.thread) == ("example", "nato-secretary-general-visits-kyiv")


def test_empty_optional_fields_become_none() -> None:
    """Blank email, url and parent mean "not given"."""
    clean = validate_comment(_comment(author=_author(email="  ", url=""), parent=""))
    assert (clean.email, clean.url, clean.parent) == (None, None, None)


def test_seed_form_errors_match() -> None:
    """The two required-field messages are exactly the ones the seed's comment form shows."""
    seed = json.loads(SEED.read_text(encoding="utf-8"))
    assert set(seed["form_errors"]) == SEED_FORM_ERRORS


def test_empty_form_reports_both_seed_messages_at_once() -> None:
    """An empty form gets the name and the comment message together, in one 422."""
    with pytest.raises(RequestError) as info:
        validate_comment(_comment(author=NewAuthor(), body=""))
    err = info.value
    assert err.status == 422
    assert err.message == "Please correct the highlighted fields"
    assert err.fields == {
        "author.name": "Please enter your name here",
        "body": "Please enter your comment!",
    }


@pytest.mark.parametrize("blank", [" ", "\t\n ", "\u00a0\u2003", "\r\n\r\n"])
def test_whitespace_only_name_and_body_are_empty(blank: str) -> None:
    """Whitespace-only name and body count as missing."""
    fields = _fields_of(_comment(author=_author(name=blank), body=blank))
    assert fields == {
        "author.name": "Please enter your name here",
        "body": "Please enter your comment!",
    }


def test_invisible_only_name_is_empty() -> None:
    """A name made only of zero-width and bidi characters counts as missing."""
    fields = _fields_of(_comment(author=_author(name="\u200b\u202e\u2066")))
    assert fields == {"author.name": "Please enter your name here"}


def test_name_limit() -> None:
    """Names up to 50 characters pass; longer ones get a message stating the limit."""
    assert validate_comment(_comment(author=_author(name="n" * NAME_MAX))).name == "n" * NAME_MAX
    fields = _fields_of(_comment(author=_author(name="n" * (NAME_MAX + 1))))
    assert fields == {"author.name": "Your name is too long (50 characters at most)"}


def test_body_limit() -> None:
    """Bodies up to 5000 characters (after trimming) pass; longer ones state the limit."""
    assert len(validate_comment(_comment(body=" " + "b" * BODY_MAX + "\n")).body) == BODY_MAX
    fields = _fields_of(_comment(body="b" * (BODY_MAX + 1)))
    assert fields == {"body": "Your comment is too long (5000 characters at most)"}


def test_email_limit() -> None:
    """Emails up to 254 characters pass; longer ones state the limit."""
    domain = "@example.com"
    ok = "e" * (EMAIL_MAX - len(domain)) + domain
    assert validate_comment(_comment(author=_author(email=ok))).email == ok
    fields = _fields_of(_comment(author=_author(email="e" + ok)))
    assert fields == {"author.email": "Your email address is too long (254 characters at most)"}


def test_url_limit() -> None:
    """Websites up to 300 characters pass; longer ones state the limit."""
    base = "https://example.com/"
    assert validate_comment(_comment(author=_author(url=base + "u" * 280))).url is not None
    fields = _fields_of(_comment(author=_author(url=base + "u" * 281)))
    assert fields == {"author.url": "Your website address is too long (300 characters at most)"}


@pytest.mark.parametrize(
    "email",
    ["mike", "mike@", "@example.com", "mike@example", "a@b@example.com", "mi ke@example.com",
     "mike@.com", "mike@example..com", "mike@exa\x00mple.com"],
)  # fmt: skip
def test_bad_email_message(email: str) -> None:
    """Addresses without one @, a local part and a dotted domain are refused with one message."""
    fields = _fields_of(_comment(author=_author(email=email)))
    assert fields == {"author.email": "Please enter a valid email address"}


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "example.com", "ftp://example.com", "http://", "data:,x"]
)
def test_bad_url_message(url: str) -> None:
    """Websites that are not absolute http(s) URLs are refused with a scheme hint."""
    fields = _fields_of(_comment(author=_author(url=url)))
    assert fields == {
        "author.url": "Please enter a website address starting with http:// or https://"
    }


@pytest.mark.parametrize("field", ["site", "thread"])
@pytest.mark.parametrize("value", ["", "a b", "x/y", "<script>", "é", "i" * 129, "t\n"])
def test_site_and_thread_identifiers(field: str, value: str) -> None:
    """Site and thread must be 1-128 characters of [A-Za-z0-9._:-]."""
    fields = _fields_of(_comment(**{field: value}))
    assert fields == {
        field: f"{field} must be 1\u2013128 characters of letters, digits, '.', '_', ':' or '-'"
    }


def test_identifier_accepts_full_charset_at_limit() -> None:
    """Every allowed identifier character, at exactly 128 characters, passes."""
    ident = ("Az09._:-" * 16)[:128]
    clean = validate_comment(_comment(site=ident, thread=ident))
    assert clean.site == clean.thread == ident


@pytest.mark.parametrize("parent", ["p" * 65, "c 1", "../c1"])
def test_parent_identifier(parent: str) -> None:
    """A parent id uses the identifier charset and at most 64 characters."""
    fields = _fields_of(_comment(parent=parent))
    assert fields == {
        "parent": "parent must be 1\u201364 characters of letters, digits, '.', '_', ':' or '-'"
    }
    assert validate_comment(_comment(parent="p" * 64)).parent == "p" * 64


def test_all_field_errors_are_collected() -> None:
    """Every bad field is reported in the same error, not just the first."""
    bad = NewComment(
        site="",
        thread="a b",
        parent="x" * 65,
        author=NewAuthor(name="", email="nope", url="javascript:x"),
        body="",
    )
    assert set(_fields_of(bad)) == {
        "site",
        "thread",
        "parent",
        "author.name",
        "author.email",
        "author.url",
        "body",
    }


def test_validate_edit_applies_body_rules() -> None:
    """Edits are trimmed and CRLF-normalised; empty or too long edits are refused."""
    assert validate_edit(EditComment(body=" new\r\ntext ")) == "new\ntext"
    for body, message in [
        ("  ", "Please enter your comment!"),
        ("b" * (BODY_MAX + 1), "Your comment is too long (5000 characters at most)"),
    ]:
        with pytest.raises(RequestError) as info:
            validate_edit(EditComment(body=body))
        assert (info.value.status, info.value.fields) == (422, {"body": message})


def test_validate_ids_for_query_parameters() -> None:
    """Query-string site and thread are checked; missing or bad ones are a 422 per field."""
    assert validate_ids("example", "t-1") == ThreadKey("example", "t-1")
    with pytest.raises(RequestError) as info:
        validate_ids(None, "bad thread")
    assert info.value.status == 422
    assert set(info.value.fields) == {"site", "thread"}
    with pytest.raises(RequestError) as info:
        validate_ids("example", None)
    assert set(info.value.fields) == {"thread"}


# -- the website, end to end ------------------------------------------------------------------


async def test_a_website_is_stored_and_sent_in_its_normal_form(
    server: Running, http: httpx.AsyncClient, settings: Settings
) -> None:
    """A website with quotes, angle brackets, an apostrophe, a capitalised scheme and host and
    an international host is answered, sent to readers live, shown in the snapshot and kept in
    the stored event (what webhooks deliver) only in its normalised, percent-encoded form."""
    typed = "HTTPS://B\u00fccher.Example/a\"b<c>'d?q=<x>#\"f'"
    normal = "https://xn--bcher-kva.example/a%22b%3Cc%3E%27d?q=%3Cx%3E#%22f%27"
    post = comment_json(name="Ann", thread="urls")
    post["author"] = {"name": "Ann", "url": typed}
    async with reader(server.ws("news", "urls")) as r:
        answer = await http.post("/api/v1/comments", json=post)
        assert answer.status_code == 201, answer.text
        assert answer.json()["comment"]["author"]["url"] == normal
        (created,) = await r.events(1)
        assert isinstance(created, events.CommentCreated)
        assert created.comment.author is not None
        assert created.comment.author.url == normal
    snapshot = await http.get("/api/v1/threads", params={"site": "news", "thread": "urls"})
    assert [c["author"]["url"] for c in snapshot.json()["comments"]] == [normal]
    store = sqlite_storage(settings.database.removeprefix("sqlite:///"))
    await store.open()
    try:
        (stored,) = await store.log.events_after(ThreadKey("news", "urls"), 0, 10)
        record = await store.comments.get(answer.json()["comment"]["id"])
    finally:
        await store.close()
    assert record is not None and record.author_url == normal
    logged = msgspec.json.decode(stored.payload)
    assert logged["comment"]["author"]["url"] == normal
    assert not set(logged["comment"]["author"]["url"]) & set("\"'<>\u00fc")


@pytest.mark.parametrize("url", ["https://a<b.example/", "https://exa'mple.com/"])
async def test_a_website_that_cannot_be_normalised_is_a_422(
    http: httpx.AsyncClient, url: str
) -> None:
    """A host no URL may hold is refused over HTTP with a 422 naming author.url only."""
    post = comment_json(name="Ann", thread="urls")
    post["author"] = {"name": "Ann", "url": url}
    answer = await http.post("/api/v1/comments", json=post)
    assert answer.status_code == 422, answer.text
    assert set(answer.json()["fields"]) == {"author.url"}
