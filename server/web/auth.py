"""Who is calling: a moderator's bearer token, or an author's edit token.

There is no cookie or ambient authority: every privileged call carries its token explicitly,
so a page on another origin cannot borrow a moderator's session.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from server.errors import Refusal
from server.model import Moderator
from server.sites.ports import Moderators
from server.tokens import token_hash

EDIT_TOKEN_HEADER = "x-edit-token"
# A reader's sign-in token, signed by their publisher (server/accounts): its own header, so it is
# never mistaken for a moderator's bearer token.
ACCOUNT_TOKEN_HEADER = "X-Account-Token"


class Unauthorized(Refusal):
    status, code = 401, "unauthorized"


def bearer(conn: HTTPConnection) -> str | None:
    value = conn.headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization must be 'Bearer TOKEN'")
    return token.strip()


async def moderator(conn: HTTPConnection, moderators: Moderators) -> Moderator | None:
    """The moderator a request's bearer token names; None if it carries none; 401 if unknown."""
    token = bearer(conn)
    if token is None:
        return None
    found = await moderators.by_token(token_hash(token))
    if found is None:
        raise Unauthorized("Unknown or revoked moderator token")
    return found


async def require_moderator(conn: HTTPConnection, moderators: Moderators) -> Moderator:
    found = await moderator(conn, moderators)
    if found is None:
        raise Unauthorized("This needs a moderator token: Authorization: Bearer TOKEN")
    return found


def edit_token(conn: HTTPConnection) -> str | None:
    return conn.headers.get(EDIT_TOKEN_HEADER) or None


def account_token(conn: HTTPConnection) -> str | None:
    return conn.headers.get(ACCOUNT_TOKEN_HEADER) or None
