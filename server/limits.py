"""Rate limits: token buckets by key, bounded, keyed by hashes rather than addresses.

`Buckets` is the port the flood and velocity limits take from: one bucket per key for every
process sharing its store (Redis when the bus is Redis: server/adapters/redis_buckets.py), so N
processes on N hosts allow a limit once, not N times. `MemoryBuckets` is its in-memory twin
(one process), and what `Fallback` takes from while the shared store cannot answer: the limits
then hold per process, and posts go on. `Limiter` is one rate's buckets in this process alone,
for limits no other process needs to share (thread names, server/threads/meta.py).

Addresses never enter a bucket as themselves: the key is an HMAC under a secret every process
of a deployment shares (`LIMITS_SECRET`, from the store's `Secrets`; random per process until
then), and a bucket that has refilled is forgotten, so memory and Redis hold only addresses
active within the last window.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

# The name of the secret (the store's `Secrets`) that keys address hashes on every process.
LIMITS_SECRET = "limits"
# Below this a wait is float rounding, not a wait: a burst's last token is allowed.
_EPSILON = 1e-9


@dataclass(frozen=True)
class Rate:
    """`count` events per `seconds`, with bursts of up to `count`."""

    count: int
    seconds: float

    def __post_init__(self) -> None:
        # NaN and infinity too: a bucket's arithmetic would never refill, or never empty.
        if self.count < 1 or not 0 < self.seconds < math.inf:
            raise ValueError(
                f"a rate needs a positive count and period; got {self.count}/{self.seconds}"
            )

    @classmethod
    def parse(cls, text: str) -> Rate:
        """From "COUNT/SECONDS", e.g. "5/60" for five a minute."""
        count, _, seconds = text.partition("/")
        try:
            numbers = int(count), float(seconds)
        except ValueError:
            raise ValueError(f"a rate is COUNT/SECONDS, like 5/60; got {text!r}") from None
        try:
            return cls(*numbers)
        except ValueError:
            raise ValueError(f"a rate needs a positive count and period; got {text!r}") from None


class Limiter:
    """Token buckets for one rate. At most `max_keys` buckets; the least recently used go first."""

    def __init__(
        self, rate: Rate, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._max_keys = max_keys
        self._clock = clock
        # key -> (tokens, when they were counted)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """Spend one token: 0.0 if allowed, else the seconds until one will be available."""
        now = self._clock()
        per_second = self._rate.count / self._rate.seconds
        tokens, then = self._buckets.pop(key, (float(self._rate.count), now))
        tokens = min(float(self._rate.count), tokens + (now - then) * per_second)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / per_second
        self._buckets[key] = (tokens - 1.0, now)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return 0.0

    def forget_idle(self) -> None:
        """Drop buckets that have refilled: they would allow a full burst anyway."""
        now = self._clock()
        per_second = self._rate.count / self._rate.seconds
        for key, (tokens, then) in list(self._buckets.items()):
            if tokens + (now - then) * per_second >= self._rate.count:
                del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)


class BucketsUnavailable(Exception):
    """The shared store of buckets did not answer in time (stopped, unreachable, hung)."""


class Buckets(Protocol):
    """Token buckets by key, one per key for every process that shares the store.

    Guarantee: a key's bucket holds `rate.count` tokens and refills at `rate.count` per
    `rate.seconds`, counted once for all processes sharing the store, so N processes (on any
    hosts) together allow a key at most `count` at once and `count` per `seconds` after that,
    never N times as many. A key idle until its bucket is full again is forgotten. Callers use
    one rate per key (put the rate in the key if it may change) and only keyed hashes for
    anything personal (an address as `Addresses.key`), never the thing itself.

    If the store cannot answer, `take` raises BucketsUnavailable within the store's timeout: it
    never hangs. `Fallback` turns that into this process's own limit, so a lost store weakens
    limits to per process and never refuses every post.
    """

    async def take(self, key: str, rate: Rate) -> float:
        """Spend one of `key`'s tokens: 0.0 if there was one, else the seconds until one will
        be there (nothing is spent then)."""
        ...

    async def aclose(self) -> None:
        """Let go of the store's connections."""
        ...


class MemoryBuckets:
    """`Buckets` in this process's memory: the in-memory twin, and the fallback of a shared
    store. At most `max_keys` buckets (least recently used out first); those full again are
    swept out every `sweep` seconds of the clock, on a take.

    A bucket is kept as the moment it will be full again (the generic cell rate algorithm's
    theoretical arrival time), which is how the Redis adapter keeps it too.
    """

    def __init__(
        self,
        *,
        max_keys: int = 100_000,
        sweep: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_keys = max_keys
        self._sweep_every = sweep
        self._clock = clock
        self._full_at: OrderedDict[str, float] = OrderedDict()  # key -> when full again
        self._swept = clock()

    async def take(self, key: str, rate: Rate) -> float:
        return self.take_now(key, rate)

    def take_now(self, key: str, rate: Rate) -> float:
        """`take`, without waiting for anything (there is nothing to wait for in memory)."""
        now = self._clock()
        if now - self._swept >= self._sweep_every:
            self.forget_idle()
        interval = rate.seconds / rate.count
        full_at = max(self._full_at.pop(key, now), now)
        # A token is there if, after spending it, the bucket would be full within `seconds`.
        after = full_at + interval
        wait = after - rate.seconds - now
        if wait > _EPSILON:
            if full_at > now:
                self._full_at[key] = full_at
            return wait
        self._full_at[key] = after
        while len(self._full_at) > self._max_keys:
            self._full_at.popitem(last=False)
        return 0.0

    def forget_idle(self) -> None:
        """Drop buckets that are full again: they would allow a full burst anyway."""
        now = self._swept = self._clock()
        for key in [key for key, full_at in self._full_at.items() if full_at <= now]:
            del self._full_at[key]

    def __len__(self) -> int:
        return len(self._full_at)

    def __contains__(self, key: object) -> bool:
        return key in self._full_at

    async def aclose(self) -> None:
        pass


class Fallback:
    """`Buckets` that stay up when the shared store is down: a take the store cannot answer
    (BucketsUnavailable, or nothing within `timeout`) is taken from this process's own buckets
    instead. Those then hold per process (N processes allow up to N times a limit, as before
    limits were shared) and posts go on; nothing ever waits longer than `timeout`. After a
    failure the store is left alone for `retry` seconds (takes go straight to the local
    buckets, so a dead store does not cost every request a timeout), then tried again."""

    def __init__(
        self,
        shared: Buckets,
        local: MemoryBuckets | None = None,
        *,
        timeout: float = 2.5,
        retry: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._shared = shared
        self._local = MemoryBuckets() if local is None else local
        self._timeout = timeout
        self._retry = retry
        self._clock = clock
        self._down_until: float | None = None  # None: the store answered last time
        self._warned = -math.inf

    @property
    def shared(self) -> bool:
        """Whether takes go to the shared store now (False while it is left alone)."""
        return self._down_until is None or self._clock() >= self._down_until

    async def take(self, key: str, rate: Rate) -> float:
        if not self.shared:
            return self._local.take_now(key, rate)
        try:
            async with asyncio.timeout(self._timeout):
                wait = await self._shared.take(key, rate)
        except (BucketsUnavailable, TimeoutError) as exc:
            now = self._clock()
            self._down_until = now + self._retry
            if now - self._warned >= 30.0:
                self._warned = now
                log.warning("shared rate limits unavailable, limiting per process: %s", exc)
            return self._local.take_now(key, rate)
        if self._down_until is not None:
            self._down_until = None
            log.info("shared rate limits are back")
        return wait

    async def aclose(self) -> None:
        await self._shared.aclose()


class Addresses:
    """Keyed hashes of client addresses (and other personal handles): stable for everything
    holding the same secret, useless without it."""

    def __init__(self, secret: bytes | None = None) -> None:
        # HMAC's keyed state, made once: a copy per key skips hashing the secret again.
        self._mac = hmac.new(secret or secrets.token_bytes(32), digestmod=hashlib.sha256)

    def rekey(self, secret: bytes) -> None:
        """Hash under `secret` from now on: the deployment's shared one, once the store is open
        (keys made before no longer match, which only restarts their buckets)."""
        if not secret:
            raise ValueError("an address key's secret may not be empty")
        self._mac = hmac.new(secret, digestmod=hashlib.sha256)

    def key(self, address: str) -> str:
        mac = self._mac.copy()
        mac.update(address.encode())
        return mac.hexdigest()[:32]


class Concurrency:
    """How many open things (websockets) each key holds, with a cap."""

    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._open: dict[str, int] = {}

    def enter(self, key: str) -> bool:
        held = self._open.get(key, 0)
        if held >= self._cap:
            return False
        self._open[key] = held + 1
        return True

    def leave(self, key: str) -> None:
        held = self._open.get(key, 0) - 1
        if held > 0:
            self._open[key] = held
        else:
            self._open.pop(key, None)


def retry_after(seconds: float) -> str:
    """A Retry-After header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
