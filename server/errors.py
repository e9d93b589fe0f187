"""Refusals: what a use-case answers when it will not do what was asked.

Each carries the HTTP status the web edge answers with, a machine-readable code, a message for
people, and (for invalid input) messages per field.
"""

from __future__ import annotations

from server.limits import retry_after


class Refusal(Exception):
    """A use-case refused; `status` is the HTTP status the edge answers with."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class NotFound(Refusal):
    status, code = 404, "not_found"


class Unauthenticated(Refusal):
    """Who is asking must say so first (sign in, a token): answered 401."""

    status, code = 401, "unauthorized"


class Forbidden(Refusal):
    status, code = 403, "forbidden"


class Conflict(Refusal):
    status, code = 409, "conflict"


class Invalid(Refusal):
    status, code = 422, "invalid"


class Throttled(Refusal):
    """Too many, too fast: answered 429 with Retry-After (`retry_after`, whole seconds)."""

    status, code = 429, "rate_limited"

    def __init__(self, message: str, wait: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after(wait)
