"""What stands between the internet and the use-cases: origin checks and rate limits.

Origins: a browser sends `Origin` with every websocket handshake and every cross-site request.
A thread's snapshot, a write or a socket from a page whose origin the site does not list (the
server's own origin is always allowed, so the demo and /moderate work) is refused before
anything happens, so the widget on such a page can say so at once. A request without `Origin`
is not from a browser page, so there is no ambient authority to borrow: it is allowed, and
authority comes only from the tokens it carries.

A refusal is logged (at WARNING, naming the origin and the site, with the command that lists
it) at most once per origin and site a minute, and for at most REFUSALS_REMEMBERED pairs a
minute, so that a misconfigured embed is easy to find and a flood of made-up origins cannot
flood the log.

Rate limits: per client address, for posts (also per thread and per site) and for websocket
connections (new ones per minute, and open ones at once). Answered 429 with Retry-After, or
close 4029. `LIVETHREAD_RATE_LIMIT=0` turns them all off (benchmarks, load tests). The rates
are taken from `Buckets`, shared by every process on the bus's Redis (server/limits.py), so N
hosts allow each rate once. Open sockets are counted per process: a count shared across hosts
would outlive a host that died holding sockets (every address it served locked out until some
expiry), and the proxy in front caps connections per address for the whole deployment.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from server import metrics
from server.errors import Refusal, Throttled
from server.language.text import Text
from server.limits import Addresses, Buckets, Concurrency, MemoryBuckets, Rate
from server.model import Site, ThreadKey
from server.settings import Settings

log = logging.getLogger(__name__)

# Origin refusals: each (origin, site) pair is logged at most once in this many seconds, and at
# most this many pairs are remembered (and logged) in that time.
REFUSAL_LOG_SECONDS = 60.0
REFUSALS_REMEMBERED = 1000
# The port a browser leaves out of an Origin, and a proxy may leave out of a Host, per scheme.
DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}
_PLAIN_ORIGIN = re.compile(r"https?://(?:\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::[0-9]{1,5})?")


class OriginRefused(Refusal):
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


def _host_port(netloc: str, scheme: str) -> tuple[str, int | None, int | None]:
    """(host, explicit port or None, the scheme's default port) of a `host[:port]`."""
    parts = urlsplit(f"//{netloc}")
    return parts.hostname or "", parts.port, DEFAULT_PORTS.get(scheme)


def is_own_origin(origin: str, host: str, scheme: str) -> bool:
    """Whether a normalised Origin names this server, as the request's Host header (and the
    scheme it arrived with: http or ws, https or wss) name it. A default port written on one
    side only (`Host: example.com:443`, `Origin: https://example.com`) still matches, since a
    proxy may pass either form; with no port on either side only the hosts are compared."""
    origin_scheme, _, origin_netloc = origin.partition("://")
    if not host or not origin_netloc:
        return False
    if origin_netloc == host:
        return True
    try:
        mine, my_port, my_default = _host_port(host, scheme)
        theirs, their_port, their_default = _host_port(origin_netloc, origin_scheme)
    except ValueError:  # a malformed port
        return False
    if not mine or mine != theirs:
        return False
    if my_port is None and their_port is None:
        return True
    return (my_port or my_default) == (their_port or their_default)


class RefusalLog:
    """Logs origin refusals without letting them flood the log (see the module's docstring)."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        window: float = REFUSAL_LOG_SECONDS,
        remembered: int = REFUSALS_REMEMBERED,
    ) -> None:
        self._clock = clock
        self._window = window
        self._remembered = remembered
        # (origin, site) -> when it was last logged; oldest first.
        self._logged: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._full_since: float | None = None

    def refused(self, origin: str, site: str) -> None:
        now = self._clock()
        while self._logged and next(iter(self._logged.values())) <= now - self._window:
            self._logged.popitem(last=False)
        key = (origin, site)
        if key in self._logged:
            return
        if len(self._logged) >= self._remembered:
            if self._full_since is None or self._full_since <= now - self._window:
                self._full_since = now
                log.warning(
                    "more than %d origins refused within %.0f s: not logging each",
                    self._remembered,
                    self._window,
                )
            return
        self._logged[key] = now
        wanted = normal_origin(origin)
        # The command is offered only for a plain web origin: an operator may paste it.
        if wanted is not None and _PLAIN_ORIGIN.fullmatch(wanted):
            why = f"not in its origins; livethread site set {site} --add-origin {wanted}"
        else:
            why = "not a web page's origin"
        log.warning("origin %r refused for site %r (%s)", origin, site, why)

    def __len__(self) -> int:
        return len(self._logged)


def _nothing() -> None:
    pass


class Guard:
    """Origin checks and the web edge's flood limits. `buckets` is where rates are counted
    (this process's memory unless given: the composition root passes the shared ones), and
    `addresses` hashes client addresses (its secret is the deployment's once the app starts)."""

    def __init__(
        self,
        settings: Settings,
        buckets: Buckets | None = None,
        addresses: Addresses | None = None,
    ) -> None:
        self._enabled = settings.rate_limit
        self._buckets = MemoryBuckets() if buckets is None else buckets
        self._addresses = Addresses() if addresses is None else addresses
        self._post_rates = (
            Rate.parse(settings.post_rate_address),
            Rate.parse(settings.post_rate_thread),
            Rate.parse(settings.post_rate_site),
        )
        self._connect_rate = Rate.parse(settings.connect_rate_address)
        self._react_rate = Rate.parse(settings.react_rate_address)
        self._open = Concurrency(settings.sockets_per_address)
        self.refusals = RefusalLog()

    def check_origin(self, conn: HTTPConnection, site: Site) -> None:
        origin = conn.headers.get("origin")
        if origin is None:
            return
        wanted = normal_origin(origin)
        own = conn.headers.get("host", "").lower()
        if wanted is not None and is_own_origin(wanted, own, conn.url.scheme):
            return
        if wanted is not None and wanted in {normal_origin(o) for o in site.origins}:
            return
        self.refusals.refused(origin[:100], site.name)
        raise OriginRefused(f"Origin {origin[:100]!r} is not allowed for site {site.name!r}")

    async def check_post(self, conn: HTTPConnection, thread: ThreadKey) -> None:
        """Refuse (RateLimited) a post over the address's, the thread's or the site's rate."""
        if not self._enabled:
            return
        by_address, by_thread, by_site = self._post_rates
        for rate, key, what in (
            (by_address, f"post:address:{self._key(conn)}", "rate.posts_address"),
            (by_thread, f"post:thread:{thread.site}\n{thread.thread}", "rate.posts_thread"),
            (by_site, f"post:site:{thread.site}", "rate.posts_site"),
        ):
            wait = await self._buckets.take(key, rate)
            if wait:
                metrics.rate_limited(what.removeprefix("rate."))
                raise RateLimited(Text(what), wait)

    async def check_reaction(self, conn: HTTPConnection) -> None:
        """Refuse (RateLimited) a reaction over the address's rate."""
        if not self._enabled:
            return
        wait = await self._buckets.take(f"react:address:{self._key(conn)}", self._react_rate)
        if wait:
            metrics.rate_limited("reactions_address")
            raise RateLimited(Text("rate.reactions_address"), wait)

    async def take_socket(self, conn: HTTPConnection) -> Callable[[], None]:
        """Hold one of this address's socket places while a websocket is open; returns the
        call that gives it back (once, when the socket closes)."""
        if not self._enabled:
            return _nothing
        key = self._key(conn)
        wait = await self._buckets.take(f"connect:address:{key}", self._connect_rate)
        if wait:
            metrics.rate_limited("connections_new")
            raise RateLimited(Text("rate.connections_new"), wait)
        if not self._open.enter(key):
            metrics.rate_limited("connections_open")
            raise RateLimited(Text("rate.connections_open"), 60.0)
        return functools.partial(self._open.leave, key)

    def address(self, conn: HTTPConnection) -> str:
        """The caller's address as the deployment's keyed hash (never the address itself)."""
        return self._key(conn)

    def _key(self, conn: HTTPConnection) -> str:
        return self._addresses.key(conn.client.host if conn.client else "unknown")
