"""The accounts room's storage ports: how each site's readers sign in, and the accounts seen."""

from __future__ import annotations

from typing import Literal, Protocol

import msgspec

# Who may comment on a site: anonymous readers only, signed-in readers only, or both.
Policy = Literal["anonymous", "accounts", "both"]


class SignIn(msgspec.Struct, frozen=True, kw_only=True):
    """How a site's readers sign in: the publisher's backend signs a token (a JWT) for each
    reader, verified here with exactly one kind of key: an HS256 `secret` shared with the
    publisher, or a `public_key` (PEM) or a `jwks_url` for RS256/ES256. Every token must name
    `audience` (its `aud`) and, when set, `issuer` (its `iss`). `roles` are the role claims this
    site trusts from its tokens (the others are ignored)."""

    site: str
    policy: Policy = "both"
    audience: str
    issuer: str | None = None
    secret: str | None = None
    public_key: str | None = None
    jwks_url: str | None = None
    roles: tuple[str, ...] = ()


class Account(msgspec.Struct, frozen=True, kw_only=True):
    """A reader as their publisher vouches for them: `id` is the publisher's stable account id
    (the token's `sub`), unique within the site; the email is private, like a commenter's."""

    site: str
    id: str
    name: str
    email: str | None = None
    avatar: str | None = None
    roles: tuple[str, ...] = ()


class SignIns(Protocol):
    """Each site's sign-in settings (at most one per site)."""

    async def get(self, site: str) -> SignIn | None: ...

    async def put(self, sign_in: SignIn) -> None:
        """Create or replace the site's settings; the site must exist (StoreError)."""
        ...

    async def remove(self, site: str) -> bool:
        """Delete the site's settings (its readers can no longer sign in); False if none."""
        ...


class Accounts(Protocol):
    """The accounts that have signed in on each site, as last seen, and the skeletons of their
    names (server/names.py: the form look-alike names share), so that nobody else can post
    under a name that reads as one of theirs."""

    async def seen(self, account: Account, skeleton: str, at: float) -> None:
        """Create the account, or replace what is known of it (name, skeleton, email, avatar,
        roles, last seen at `at`); its first-seen time stays the first."""
        ...

    async def get(self, site: str, account_id: str) -> Account | None: ...

    async def named(self, site: str, skeleton: str) -> bool:
        """Whether an account of the site has a name with this skeleton (an indexed lookup:
        sites may have many accounts)."""
        ...
