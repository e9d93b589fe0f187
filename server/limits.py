"""Rate limits: token buckets by key, bounded in memory, keyed by hashes rather than addresses.

Limits are per server process (N processes allow up to N times a limit); they exist to stop
floods, not to meter. Addresses never enter memory as themselves: the key is an HMAC under a
secret made at start-up and never stored, and a bucket that has refilled is forgotten, so the
table holds only addresses active within the last window.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    """`count` events per `seconds`, with bursts of up to `count`."""

    count: int
    seconds: float

    @classmethod
    def parse(cls, text: str) -> Rate:
        """From "COUNT/SECONDS", e.g. "5/60" for five a minute."""
        count, _, seconds = text.partition("/")
        try:
            rate = cls(int(count), float(seconds))
        except ValueError:
            raise ValueError(f"a rate is COUNT/SECONDS, like 5/60; got {text!r}") from None
        if rate.count < 1 or rate.seconds <= 0:
            raise ValueError(f"a rate needs a positive count and period; got {text!r}")
        return rate


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


class Addresses:
    """Keyed hashes of client addresses: stable within this process, useless outside it."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def key(self, address: str) -> str:
        return hmac.new(self._secret, address.encode(), hashlib.sha256).hexdigest()[:32]


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
