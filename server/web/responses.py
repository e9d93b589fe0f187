"""JSON answers and the one error shape every HTTP error uses: `{error, message, fields?}`."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.responses import Response

_encoder = msgspec.json.Encoder()

# Every JSON answer says it is JSON and nothing else: a browser that sniffed a comment's text
# in it as HTML or script (a JSON URL loaded as a page or a <script src>) would run it.
NOSNIFF = {"X-Content-Type-Options": "nosniff"}


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    error: str
    message: str
    fields: dict[str, str] = {}


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    content = payload if isinstance(payload, bytes) else _encoder.encode(payload)
    headers = {**NOSNIFF, **(headers or {})}
    return Response(content, status, headers=headers, media_type="application/json")


def error_response(
    status: int,
    code: str,
    message: str,
    fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    # Plain strs: msgspec encodes no str subclass (a message `Text` not yet translated).
    plain = {name: str(text) for name, text in (fields or {}).items()}
    body = ErrorBody(error=code, message=str(message), fields=plain)
    return json_response(body, status, headers)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header admits gzip."""
    return accepts("gzip", accept_encoding)


def accepts(coding: str, accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header admits a content coding such as "gzip" or "br" (RFC
    9110 12.5.3: "q=0" refuses it; when in doubt, no: the identity form is the one every client
    takes)."""
    names = ("gzip", "x-gzip") if coding == "gzip" else (coding,)
    wildcard = False
    for part in accept_encoding.split(","):
        name, _, params = part.partition(";")
        name = name.strip().lower()
        if name not in names and name != "*":
            continue
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = 0.0
        if name == "*":
            wildcard = weight > 0
        else:
            return weight > 0
    return wildcard
