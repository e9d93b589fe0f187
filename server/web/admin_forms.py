"""The admin page's forms: reading an urlencoded body, and turning the rules form into the
changes `livethread rules set` would make (server/sites/administration.py checks them)."""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import Request

from server.moderation.rules import CLASSIFIER_KINDS, RulesError
from server.sites.administration import off

# The rules form is the largest: a dozen fields and two word lists.
MAX_FORM_BYTES = 32768
MAX_FIELDS = 64


class Form:
    """An urlencoded form's fields, every value of each (checkboxes repeat a name)."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self._fields = fields

    def get(self, name: str, default: str = "") -> str:
        values = self._fields.get(name)
        return values[0] if values else default

    def all(self, name: str) -> list[str]:
        return list(self._fields.get(name, ()))

    def has(self, name: str) -> bool:
        return name in self._fields


async def read_form(request: Request) -> Form:
    """The request's urlencoded form; empty for any other body, or one too large to be ours."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return Form({})
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return Form({})
    try:
        parsed = parse_qs(
            body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=MAX_FIELDS
        )
    except ValueError:  # more fields than any form of ours has
        return Form({})
    return Form(parsed)


def words(text: str) -> tuple[str, ...]:
    """A word list's textarea: one word or phrase a line, blank lines dropped."""
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def _number(form: Form, name: str, label: str, kind: type[int] | type[float]) -> int | float:
    value = form.get(name).strip()
    try:
        return kind(value)
    except ValueError:
        raise RulesError(f"{label} must be a number, not {value!r}") from None


def rule_changes(form: Form) -> dict[str, object]:
    """The rules form as changes to a site's rules, the command line's meaning for each:
    `off` (or, here, an empty field) turns a rate or the classifier off, and an empty
    classifier key field keeps the stored key (it is never shown), `off` clears it."""
    changes: dict[str, object] = {
        "links_max": _number(form, "links_max", "Links before holding", int),
        "repeat_window": _number(form, "repeat_window", "Repeat window", float),
        "reports_hold": _number(form, "reports_hold", "Reports before holding", int),
        "banned": words(form.get("banned")),
        "suspect": words(form.get("suspect")),
        "first_time_hold": form.has("first_time_hold"),
    }
    for name in ("velocity_author", "velocity_address", "classifier_url"):
        changes[name] = off(form.get(name)) or None
    kind = form.get("classifier_kind", "json")
    if kind not in CLASSIFIER_KINDS:
        raise RulesError(f"Classifier kind must be one of {', '.join(CLASSIFIER_KINDS)}")
    changes["classifier_kind"] = kind
    key = form.get("classifier_key").strip()
    if key:
        changes["classifier_key"] = off(key)
    return changes
