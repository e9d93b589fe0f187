"""What clients may send to the HTTP API, decoded at the edge and checked field by field.

Decoding (msgspec) settles the shape: wrong JSON is 400, wrong types or unknown fields are 422
naming the field. Validation then settles the values and reports every bad field at once, with
the messages the comment form shows next to each input: each a `Text` (a key and its
parameters, reading as the English message), which the web edge answers in the request's
language. What only a developer sees (malformed JSON, ids, types) stays English.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

import msgspec

from server.language.supported import DEFAULT
from server.language.text import Text
from server.model import ThreadKey
from server.moderation.actions import ModeratorsAction
from server.names import MIXED_SCRIPTS, mixes_scripts
from server.render import clean_name, clean_url

NAME_MAX = 50
EMAIL_MAX = 254
BODY_MAX = 5000
ID_MAX = 128
PARENT_MAX = 64
TITLE_MAX = 200

NAME_REQUIRED = Text("name.required")
BODY_REQUIRED = Text("body.required")
FORM_INVALID = Text("form.invalid")

_ID_CHARS = "letters, digits, '.', '_', ':' or '-'"
_ID = re.compile(r"[A-Za-z0-9._:\-]+")

T = TypeVar("T")
V = TypeVar("V")


class NewAuthor(msgspec.Struct, forbid_unknown_fields=True):
    """Who is posting, as typed into the form."""

    name: str = ""
    email: str | None = None
    url: str | None = None
    notify: bool = False


class NewComment(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /api/v1/comments`."""

    site: str
    thread: str
    author: NewAuthor
    body: str = ""
    parent: str | None = None


class EditComment(msgspec.Struct, forbid_unknown_fields=True):
    """`PATCH /api/v1/comments/{id}`."""

    body: str


REASON_MAX = 500


class ModerationRequest(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /api/v1/comments/{id}/moderation`."""

    action: ModeratorsAction
    reason: Annotated[str, msgspec.Meta(max_length=REASON_MAX)] | None = None


REPORT_TEXT_MAX = 500


class NewReport(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /api/v1/comments/{id}/reports`: why a reader reports a comment; "other" says why
    in `text`."""

    reason: Literal["spam", "abuse", "off_topic", "other"]
    text: Annotated[str, msgspec.Meta(max_length=REPORT_TEXT_MAX)] | None = None


def report_text(report: NewReport) -> str | None:
    """The report's text, tidied (None if empty), or a RequestError: "other" needs one."""
    text = _CONTROLS.sub("", report.text or "").strip() or None
    if report.reason == "other" and text is None:
        raise RequestError(422, FORM_INVALID, {"text": Text("report.text_required")})
    return text


class ThreadModeration(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /api/v1/threads/moderation`. `retitle` sets the title and URL given (an omitted
    one is kept, "" clears it); the other actions ignore them."""

    site: str
    thread: str
    action: Literal["lock", "unlock", "retitle"]
    title: str | None = None
    url: str | None = None


class CleanComment(msgspec.Struct, frozen=True, kw_only=True):
    """A new comment whose every field has been checked and normalised."""

    site: str
    thread: str
    parent: str | None
    name: str
    email: str | None
    url: str | None
    body: str
    notify: bool
    # The language the author's request asked for (server/language): their reply mails' one.
    lang: str = DEFAULT

    @property
    def key(self) -> ThreadKey:
        return ThreadKey(self.site, self.thread)


class RequestError(Exception):
    """A request the API refuses: 400 when it cannot be read, 422 when its values are wrong."""

    def __init__(self, status: int, message: str, fields: dict[str, str]) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True):
    """The JSON answer for a refused request."""

    error: Literal["invalid", "malformed"]
    message: str
    fields: dict[str, str]


_ENCODER = msgspec.json.Encoder()

# msgspec appends where the error is, e.g. "Expected `str`, got `int` - at `$.author.name`".
_AT = re.compile(r"^(?P<message>.*?)(?: - at `(?P<path>\$[^`]*)`)?$", re.DOTALL)
# For a missing or unknown key the field itself, not its enclosing object, is the one to flag.
_NAMED_FIELD = re.compile(r"(?:missing required|contains unknown) field `(?P<name>[^`]+)`")


def _field_path(error: str) -> tuple[str, str]:
    match = _AT.match(error)
    if match is None:
        return "request", error
    message = match["message"]
    path = (match["path"] or "$").removeprefix("$").removeprefix(".")
    named = _NAMED_FIELD.search(message)
    if named is not None:
        path = f"{path}.{named['name']}" if path else named["name"]
    return (path or "request"), message


TOO_DEEP = "Request body is nested too deeply"


def decode(data: bytes, kind: type[T]) -> T:
    """Decode a JSON request body into `kind`, or raise RequestError (400 or 422)."""
    try:
        return msgspec.json.decode(data, type=kind)
    except msgspec.ValidationError as exc:  # a subclass of DecodeError: must come first
        error = exc
    except (msgspec.DecodeError, UnicodeDecodeError):  # invalid UTF-8 is not JSON either
        raise RequestError(400, "Request body is not valid JSON", {}) from None
    except RecursionError:
        raise RequestError(400, TOO_DEEP, {}) from None
    # msgspec stops at the first wrong value, before it reaches any later syntax error, so
    # "is this JSON at all?" needs a second, untyped parse (only on this failure path).
    try:
        msgspec.json.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise RequestError(400, "Request body is not valid JSON", {}) from None
    except RecursionError:
        raise RequestError(400, TOO_DEEP, {}) from None
    path, message = _field_path(str(error))
    raise RequestError(422, FORM_INVALID, {path: message})


def error_body(err: RequestError) -> bytes:
    """The JSON body answering a refused request."""
    kind: Literal["invalid", "malformed"] = "invalid" if err.status == 422 else "malformed"
    fields = {name: str(text) for name, text in err.fields.items()}
    return _ENCODER.encode(ErrorBody(error=kind, message=str(err.message), fields=fields))


def _identifier(label: str, value: str | None, limit: int) -> tuple[str, str | None]:
    if value is not None and len(value) <= limit and _ID.fullmatch(value):
        return value, None
    return value or "", f"{label} must be 1\u2013{limit} characters of {_ID_CHARS}"


# C0 controls other than tab and newline, and DEL: never meaningful in a comment.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def _body(raw: str) -> tuple[str, str | None]:
    body = _CONTROLS.sub("", raw.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not body:
        return body, BODY_REQUIRED
    if len(body) > BODY_MAX:
        return body, Text("body.too_long", max=BODY_MAX)
    return body, None


def author_name(raw: str) -> tuple[str, str | None]:
    name = clean_name(raw)
    if not name:
        return name, NAME_REQUIRED
    if len(name) > NAME_MAX:
        return name, Text("name.too_long", max=NAME_MAX)
    if mixes_scripts(name):
        return name, MIXED_SCRIPTS
    return name, None


def author_email(raw: str | None) -> tuple[str | None, str | None]:
    email = (raw or "").strip().lower()
    if not email:
        return None, None
    if len(email) > EMAIL_MAX:
        return email, Text("email.too_long", max=EMAIL_MAX)
    local, _, domain = email.partition("@")
    looks_right = (
        email.count("@") == 1
        and bool(local)
        and "." in domain.strip(".")
        and ".." not in domain
        and not any(ch.isspace() or not ch.isprintable() for ch in email)
    )
    if not looks_right:
        return email, Text("email.invalid")
    return email, None


def author_url(raw: str | None) -> tuple[str | None, str | None]:
    try:
        return clean_url(raw or ""), None
    except ValueError as exc:
        return None, _reason(exc)


def _reason(exc: ValueError) -> str:
    """clean_url's message, its Text kept (str() of the exception would drop the key)."""
    given = exc.args[0] if exc.args else ""
    return given if isinstance(given, str) else str(given)


def _take(errors: dict[str, str], key: str, checked: tuple[V, str | None]) -> V:
    value, error = checked
    if error is not None:
        errors[key] = error
    return value


def validate_comment(
    c: NewComment, *, signed_in: bool = False, lang: str = DEFAULT
) -> CleanComment:
    """Check and normalise a new comment, reporting every bad field in one RequestError. A
    signed-in reader's name, email and website come from their account: the form's are not
    read (their name is "" here). `lang` is the request's language, kept with the comment."""
    errors: dict[str, str] = {}
    author = NewAuthor(notify=c.author.notify) if signed_in else c.author
    comment = CleanComment(
        site=_take(errors, "site", _identifier("site", c.site, ID_MAX)),
        thread=_take(errors, "thread", _identifier("thread", c.thread, ID_MAX)),
        # A form posts an empty parent for a top-level comment; that is not an error.
        parent=_take(errors, "parent", _identifier("parent", c.parent, PARENT_MAX))
        if c.parent
        else None,
        name="" if signed_in else _take(errors, "author.name", author_name(author.name)),
        email=_take(errors, "author.email", author_email(author.email)),
        url=_take(errors, "author.url", author_url(author.url)),
        body=_take(errors, "body", _body(c.body)),
        notify=author.notify,
        lang=lang,
    )
    if errors:
        raise RequestError(422, FORM_INVALID, errors)
    return comment


def validate_edit(e: EditComment) -> str:
    """The edited body, normalised, or a RequestError naming the problem."""
    body, error = _body(e.body)
    if error:
        raise RequestError(422, FORM_INVALID, {"body": error})
    return body


def validate_ids(site: str | None, thread: str | None) -> ThreadKey:
    """Check the site and thread of a query string: the thread's key, once well formed."""
    errors: dict[str, str] = {}
    checked = ThreadKey(
        _take(errors, "site", _identifier("site", site, ID_MAX)),
        _take(errors, "thread", _identifier("thread", thread, ID_MAX)),
    )
    if errors:
        raise RequestError(422, FORM_INVALID, errors)
    return checked


def _title(raw: str) -> tuple[str, str | None]:
    # Plain text, as a name is: never read as HTML anywhere it is shown (escaped on pages,
    # textContent in the widget, plain-text mails), so "<b>" is kept as the characters it is.
    title = clean_name(raw)
    if len(title) > TITLE_MAX:
        return title, f"The title is too long ({TITLE_MAX} characters at most)"
    return title, None


def _article_url(raw: str, origins: Sequence[str]) -> tuple[str, str | None]:
    """The article's address, normalised and without its fragment (mails add #comment-ID), on
    one of the site's origins: a thread's mail links lead only where its site's pages are."""
    try:
        url = clean_url(raw) or ""
    except ValueError as exc:
        return "", _reason(exc)
    if not url:
        return "", None
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" not in {o.strip().lower() for o in origins}:
        return "", "The address must be on one of the site's origins"
    return urlunsplit(parts._replace(fragment="")), None


def thread_meta_fields(
    title: str | None, url: str | None, origins: Sequence[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The given title and URL that are acceptable, cleaned, and what is wrong with the rest,
    each by field name ("title", "url"); a field given as None is in neither."""
    errors: dict[str, str] = {}
    kept: dict[str, str] = {}
    for name, raw in (("title", title), ("url", url)):
        if raw is None:
            continue
        value, error = _title(raw) if name == "title" else _article_url(raw, origins)
        if error is None:
            kept[name] = value
        else:
            errors[name] = error
    return kept, errors
