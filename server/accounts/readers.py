"""The use-case of signed-in readers: who a request's sign-in token names, on which terms their
site takes comments, and the names nobody else may take.

A token is checked against its site's `SignIn` (server/accounts/tokens.py; keys from the
settings or a JWKS, server/accounts/keys.py). The account it names is remembered (`Accounts`),
written only when something about it changed since this process last saw it, with its name's
skeleton, so that an anonymous poster cannot take a name that reads as a signed-in reader's.
Readers see an account only as its `key`: a keyed hash of the site and account id, the same for
each of its comments and in every process (the secret is the store's), telling nothing of the
id itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Callable

import msgspec

from server.accounts import tokens
from server.accounts.keys import KeySets
from server.accounts.ports import Account, Accounts, Policy, SignIn, SignIns
from server.accounts.tokens import SignInRefused
from server.memo import Memo
from server.names import skeleton
from server.storage import Secrets
from server.validation import author_email, author_name, author_url

# The store's secret (`Secrets`) that keys the accounts' public keys.
KEY_SECRET = "account-keys"
_SEEN_KEPT = 4096  # accounts whose last-written form this process remembers


class SignedIn(msgspec.Struct, frozen=True, kw_only=True):
    """A reader whose token was verified: their account, and the key readers know them by."""

    account: Account
    key: str


class Readers:
    """Signed-in readers (see the module's docstring)."""

    def __init__(
        self,
        sign_ins: SignIns,
        accounts: Accounts,
        secrets: Secrets,
        keys: KeySets,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._accounts = accounts
        self._secrets = secrets
        self._keys = keys
        self._clock = clock
        # A change (`livethread site sign-in`) applies within the memo's moment everywhere.
        self._settings: Memo[str, SignIn] = Memo(sign_ins.get, absent_too=True)
        self._secret: bytes | None = None
        self._written: OrderedDict[tuple[str, str], Account] = OrderedDict()

    async def policy(self, site: str) -> Policy:
        """Who may comment on the site: "anonymous" when its readers cannot sign in."""
        found = await self._settings.get(site)
        return "anonymous" if found is None else found.policy

    async def signed_in(self, site: str, token: str) -> SignedIn:
        """The reader `token` names on `site`; SignInRefused (401) if it cannot be trusted."""
        sign_in = await self._settings.get(site)
        if sign_in is None or sign_in.policy == "anonymous":
            raise SignInRefused("Readers cannot sign in on this site")
        if sign_in.secret is not None:
            key: object = sign_in.secret
        elif sign_in.public_key is not None:
            key = sign_in.public_key
        elif sign_in.jwks_url is not None:
            key = await self._keys.key(sign_in.jwks_url, tokens.header(token).get("kid"))
        else:
            raise SignInRefused("This site's sign-in has no key")
        account = _checked(tokens.account(sign_in, tokens.claims(token, sign_in, key)))
        await self._remember(account)
        return SignedIn(account=account, key=await self.key(account))

    async def key(self, account: Account) -> str:
        """The account's public key: 16 characters of a keyed hash of its site and id."""
        if self._secret is None:
            self._secret = (await self._secrets.get(KEY_SECRET)).encode()
        digest = hmac.new(
            self._secret, f"{account.site}\0{account.id}".encode(), hashlib.sha256
        ).digest()
        return base64.urlsafe_b64encode(digest[:12]).decode()

    async def name_taken(self, site: str, name: str) -> bool:
        """Whether `name` reads as the name of one of the site's accounts (look-alikes too)."""
        if await self.policy(site) == "anonymous":
            return False  # nobody signs in there, so no account's name to protect
        form = skeleton(name)
        return bool(form) and await self._accounts.named(site, form)

    async def aclose(self) -> None:
        await self._keys.aclose()

    async def _remember(self, account: Account) -> None:
        ident = (account.site, account.id)
        if self._written.get(ident) == account:
            self._written.move_to_end(ident)
            return
        await self._accounts.seen(account, skeleton(account.name), self._clock())
        self._written[ident] = account
        self._written.move_to_end(ident)
        while len(self._written) > _SEEN_KEPT:
            self._written.popitem(last=False)


def _checked(account: Account) -> Account:
    """The account with its name cleaned and checked as a typed name is; an email or avatar
    that is not a valid one is dropped (the publisher's data, not the reader's doing)."""
    name, problem = author_name(account.name)
    if problem is not None:
        raise SignInRefused(f"The sign-in token's name cannot be used: {problem}")
    email, bad_email = author_email(account.email)
    avatar, bad_avatar = author_url(account.avatar)
    return msgspec.structs.replace(
        account,
        name=name,
        email=None if bad_email else email,
        avatar=None if bad_avatar else avatar,
    )
