"""A memo of values read from the store, trusted for a moment.

Every post and every new socket needs its site (origins) and its rules; reading them from the
database each time costs a hop to the database thread and back, for rows that change a few
times a year. A change (`livethread site add`, `livethread rules set`) takes effect within
`ttl` seconds in every process.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(Generic[K, V]):
    def __init__(
        self,
        load: Callable[[K], Awaitable[V | None]],
        *,
        ttl: float = 2.0,
        limit: int = 10_000,
        absent_too: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._ttl = ttl
        self._limit = limit
        self._clock = clock
        # Also remember that there is none: for rows most keys never have (a site's sign-in
        # settings), which would otherwise be read again on every post.
        self._absent_too = absent_too
        self._values: dict[K, tuple[float, V | None]] = {}

    def __len__(self) -> int:
        return len(self._values)

    async def get(self, key: K) -> V | None:
        """The value, from the memo if it is fresh; None if there is none (remembered only
        with `absent_too`)."""
        now = self._clock()
        cached = self._values.get(key)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        value = await self._load(key)
        if value is None and not self._absent_too:
            self._values.pop(key, None)
            return None
        if len(self._values) >= self._limit:
            self._values.clear()  # bounded: a memo may always start afresh
        self._values[key] = (now, value)
        return value
