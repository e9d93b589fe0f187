"""Sites' public keys published as JWKS documents (`jwks_url`), fetched and kept a while.

A document is fetched on first use and kept `ttl` seconds. A token naming a key id (`kid`) the
kept document lacks (the publisher rotated its keys) fetches it again at once, but such a fetch
happens at most once every `refetch` seconds per URL, so a stream of tokens with a made-up
`kid` costs one fetch, not one each. At most `most` documents are kept (the oldest fetched goes
first). A document that cannot be fetched or read is `KeysUnavailable` (503: the reader may
retry; nothing was refused on the token's merits), unless a kept one still holds the key.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from server.accounts.tokens import SignInRefused
from server.errors import Refusal

if TYPE_CHECKING:
    import httpx
    import jwt

DOCUMENT_MAX = 256 * 1024  # bytes: a JWKS holds a few keys


class KeysUnavailable(Refusal):
    """The site's keys could not be fetched now: answered 503, worth retrying."""

    status, code = 503, "unavailable"


class _Kept:
    def __init__(self, keys: jwt.PyJWKSet, at: float) -> None:
        self.keys = keys
        self.at = at
        # When a token's unknown key id last made us fetch again (successful or not).
        self.missed: float | None = None


class KeySets:
    """JWKS documents by URL (see the module's docstring)."""

    def __init__(
        self,
        *,
        ttl: float = 600.0,
        refetch: float = 30.0,
        timeout: float = 5.0,
        most: int = 64,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._refetch = refetch
        self._timeout = timeout
        self._most = most
        self._clock = clock
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._fetching: dict[str, asyncio.Future[_Kept]] = {}
        self._client: httpx.AsyncClient | None = None

    async def key(self, url: str, kid: str | None) -> Any:
        """The key to verify a token whose header names `kid` (None: the document's only
        key); SignInRefused if the document has no such key."""
        now = self._clock()
        kept = self._kept.get(url)
        if kept is None or now - kept.at > self._ttl:
            kept = await self._fetch(url)
        found = _pick(kept.keys, kid)
        if found is None and (kept.missed is None or now - kept.missed > self._refetch):
            kept.missed = now
            kept = await self._fetch(url)
            kept.missed = now
            found = _pick(kept.keys, kid)
        if found is None:
            raise SignInRefused(f"The sign-in token's key {kid!r} is not among the site's keys")
        return found.key

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _fetch(self, url: str) -> _Kept:
        """One fetch per URL at a time: concurrent callers share it."""
        running = self._fetching.get(url)
        if running is None:
            running = asyncio.ensure_future(self._download(url))
            self._fetching[url] = running
            running.add_done_callback(lambda _: self._fetching.pop(url, None))
        return await asyncio.shield(running)

    async def _download(self, url: str) -> _Kept:
        import jwt  # only a site signing in with a JWKS needs it

        now = self._clock()
        old = self._kept.get(url)
        try:
            keys = jwt.PyJWKSet.from_json(await self._get(url))
        except (OSError, ValueError, jwt.PyJWTError, KeysUnavailable) as exc:
            if old is not None:
                return old  # keep serving the kept keys until a fetch succeeds
            raise KeysUnavailable(f"The site's sign-in keys could not be fetched: {exc}") from None
        kept = self._kept[url] = _Kept(keys, now)
        self._kept.move_to_end(url)
        while len(self._kept) > self._most:
            self._kept.popitem(last=False)
        return kept

    async def _get(self, url: str) -> str:
        import httpx  # only a site signing in with a JWKS needs it

        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)
        try:
            answer = await self._client.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise KeysUnavailable(f"{type(exc).__name__}") from None
        if answer.status_code != 200:
            raise KeysUnavailable(f"{url} answered {answer.status_code}")
        if len(answer.content) > DOCUMENT_MAX:
            raise KeysUnavailable(f"{url} sent more than {DOCUMENT_MAX} bytes")
        return answer.text


def _pick(keys: jwt.PyJWKSet, kid: str | None) -> jwt.PyJWK | None:
    if kid is None:
        return keys.keys[0] if len(keys.keys) == 1 else None
    return next((key for key in keys.keys if key.key_id == kid), None)
