"""What stands between the internet and the use-cases: origin checks and rate limits.

Origins: a browser sends `Origin` with every websocket handshake and every cross-site write.
A write or a socket from a page whose origin the site does not list (the server's own origin is
always allowed, so the demo and /moderate work) is refused before anything happens. A request
without `Origin` is not from a browser page, so there is no ambient authority to borrow: it is
allowed, and authority comes only from the tokens it carries.

Rate limits: per client address, for posts (also per thread and per site) and for websocket
connections (new ones per minute, and open ones at once). Answered 429 with Retry-After, or
close 4029. `LIVETHREAD_RATE_LIMIT=0` turns them all off (benchmarks, load tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from server.errors import CommentError, Throttled
from server.limits import Addresses, Concurrency, Limiter, Rate
from server.model import Site
from server.settings import Settings

log = logging.getLogger(__name__)

PURGE_SECONDS = 60.0


class OriginRefused(CommentError):
    status, code = 403, "origin_refused"


class RateLimited(Throttled):
    """A flood limit of the web edge (per address, thread, site, or socket)."""


def normal_origin(origin: str) -> str | None:
    """`scheme://host[:port]`, lower-cased, as browsers send it; None if it is not one
    (`null`, or a malformed value such as `http://[`), which no site's list can match."""
    try:
        parts = urlsplit(origin.strip().lower())
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def _nothing() -> None:
    pass


class Guard:
    def __init__(self, settings: Settings) -> None:
        self._enabled = settings.rate_limit
        self._addresses = Addresses()
        self._posts_by_address = Limiter(Rate.parse(settings.post_rate_address))
        self._posts_by_thread = Limiter(Rate.parse(settings.post_rate_thread))
        self._posts_by_site = Limiter(Rate.parse(settings.post_rate_site))
        self._connects = Limiter(Rate.parse(settings.connect_rate_address))
        self._open = Concurrency(settings.sockets_per_address)
        self._purger: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._purger = asyncio.get_running_loop().create_task(self._purge(), name="limit purge")

    async def close(self) -> None:
        if self._purger is not None:
            self._purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purger

    async def _purge(self) -> None:
        # Forget addresses whose buckets have refilled: nothing about a reader is kept longer
        # than their limits need it.
        while True:
            await asyncio.sleep(PURGE_SECONDS)
            for limiter in (
                self._posts_by_address,
                self._posts_by_thread,
                self._posts_by_site,
                self._connects,
            ):
                limiter.forget_idle()

    def check_origin(self, conn: HTTPConnection, site: Site) -> None:
        origin = conn.headers.get("origin")
        if origin is None:
            return
        wanted = normal_origin(origin)
        own = conn.headers.get("host", "").lower()
        if wanted is not None and own and wanted.partition("://")[2] == own:
            return
        if wanted is not None and wanted in {normal_origin(o) for o in site.origins}:
            return
        raise OriginRefused(f"Origin {origin[:100]!r} is not allowed for site {site.name!r}")

    def check_post(self, conn: HTTPConnection, site: str, thread: str) -> None:
        if not self._enabled:
            return
        for limiter, key, what in (
            (self._posts_by_address, self._key(conn), "from your address"),
            (self._posts_by_thread, f"{site}\n{thread}", "on this article"),
            (self._posts_by_site, site, "on this site"),
        ):
            wait = limiter.take(key)
            if wait:
                raise RateLimited(f"Too many comments {what}; try again shortly", wait)

    def take_socket(self, conn: HTTPConnection) -> Callable[[], None]:
        """Hold one of this address's socket places while a websocket is open; returns the
        call that gives it back (once, when the socket closes)."""
        if not self._enabled:
            return _nothing
        key = self._key(conn)
        wait = self._connects.take(key)
        if wait:
            raise RateLimited("Too many new connections from your address", wait)
        if not self._open.enter(key):
            raise RateLimited("Too many open connections from your address", 60.0)
        return functools.partial(self._open.leave, key)

    def address(self, conn: HTTPConnection) -> str:
        """The caller's address as this process's keyed hash (never the address itself)."""
        return self._key(conn)

    def _key(self, conn: HTTPConnection) -> str:
        return self._addresses.key(conn.client.host if conn.client else "unknown")
