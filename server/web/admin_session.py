"""The admin page's session cookie and its CSRF tokens.

The admin page is the one place livethread keeps a cookie: a person signs in once with their
admin token and then uses plain HTML forms, which cannot carry an `Authorization` header. The
cookie is a signed, expiring record (no server-side state): its session id, who signed in, and
the hash of the token they signed in with, which is looked up again on every request, so a
revoked or rotated token ends the session at once. A visitor who has not signed in gets a
session too (nobody named in it), so the sign-in form has a CSRF token like every other form.

Ambient authority needs CSRF defences: the cookie is SameSite=Strict and HttpOnly (Secure over
https), every POST must come from this server's own origin (`Origin`), and every form carries
HMAC(key, session id), which a page elsewhere cannot read or compute.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from server.storage import Storage
from server.web.guard import is_own_origin, normal_origin

COOKIE = "livethread_admin"
PATH = "/admin"
# How long a signed-in session lasts, and a visitor's (the sign-in form's) one.
SIGNED_IN_SECONDS = 12 * 3600
VISITOR_SECONDS = 3600
# The database-kept secret that signs sessions when LIVETHREAD_SECRET is not set.
SESSION_SECRET = "admin_session"
# A cookie longer than this was never one of ours (and is not worth decoding).
MAX_COOKIE = 1024


class Session(msgspec.Struct, frozen=True, kw_only=True):
    """What the cookie says. `name` is empty for a visitor who has not signed in."""

    sid: str
    expires: float
    site: str = ""
    name: str = ""
    # The SHA-256 of the admin's token (what the store keys moderators by), never the token.
    token_hash: str = ""

    @property
    def signed_in(self) -> bool:
        return bool(self.name)


_decode = msgspec.json.Decoder(Session).decode


class Sessions:
    """Seals and opens session cookies and makes and checks CSRF tokens, under a key derived
    from the deployment's secret (LIVETHREAD_SECRET, else one kept in the database)."""

    def __init__(
        self, store: Storage, secret: str | None, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._secret = secret
        self._clock = clock
        self._key: bytes | None = None

    async def key(self) -> bytes:
        if self._key is None:
            secret = self._secret or await self._store.secrets.get(SESSION_SECRET)
            # Its own key, so no other signature made with the deployment's secret (an
            # unsubscribe link's) can ever pass as a session's.
            self._key = hmac.new(secret.encode(), b"livethread admin session", "sha256").digest()
        return self._key

    async def seal(self, session: Session) -> str:
        body = base64.urlsafe_b64encode(msgspec.json.encode(session)).rstrip(b"=")
        mac = hmac.new(await self.key(), body, hashlib.sha256).hexdigest()
        return f"{body.decode()}.{mac}"

    async def open(self, value: str | None) -> Session | None:
        """The session a cookie holds; None if it is missing, forged, malformed or expired."""
        if not value or len(value) > MAX_COOKIE:
            return None
        body, _, mac = value.partition(".")
        expected = hmac.new(await self.key(), body.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), mac.encode("utf-8", "surrogatepass")):
            return None
        try:
            session = _decode(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (binascii.Error, ValueError, msgspec.DecodeError):
            return None
        return session if session.expires > self._clock() else None

    def visitor(self) -> Session:
        return Session(sid=secrets.token_urlsafe(18), expires=self._clock() + VISITOR_SECONDS)

    def signed_in(self, site: str, name: str, token_hash: str) -> Session:
        """A new session (a new id: the visitor's, which a page may have seen, is not kept)."""
        return Session(
            sid=secrets.token_urlsafe(18),
            expires=self._clock() + SIGNED_IN_SECONDS,
            site=site,
            name=name,
            token_hash=token_hash,
        )

    async def csrf(self, session: Session) -> str:
        return hmac.new(await self.key(), f"csrf:{session.sid}".encode(), "sha256").hexdigest()

    async def csrf_matches(self, session: Session, token: str) -> bool:
        expected = (await self.csrf(session)).encode()
        return hmac.compare_digest(expected, token.encode("utf-8", "surrogatepass"))

    async def current(self, request: Request) -> Session | None:
        return await self.open(request.cookies.get(COOKIE))

    async def set_cookie(self, request: Request, response: Response, session: Session) -> None:
        response.set_cookie(
            COOKIE,
            await self.seal(session),
            max_age=max(0, round(session.expires - self._clock())),
            path=PATH,
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )

    @staticmethod
    def clear_cookie(request: Request, response: Response) -> None:
        response.delete_cookie(
            COOKIE,
            path=PATH,
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )


def same_origin(request: Request) -> bool:
    """Whether a POST says it comes from a page of this server. Browsers send `Origin` with
    every POST, so one without it is refused too: only a browser carries the cookie."""
    value = request.headers.get("origin")
    wanted = normal_origin(value) if value else None
    own = request.headers.get("host", "").lower()
    return wanted is not None and is_own_origin(wanted, own, request.url.scheme)
