"""What one batch of log events needs, read once for the batch instead of once per event.

A worker handles events in batches (workers/consumer.py). Reading a site's webhooks or rules, or
an event's comment, for every event cost a read per post; `Prepared` holds what the batch's
events name, read just before the batch is handled, and `get` answers from it. A key the batch
did not name (a reply's parent, a handler called on its own in a test) is read as it is asked
for. Nothing is kept past the next batch, so a change is seen no later than it was before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Prepared(Generic[K, V]):
    def __init__(self, read: Callable[[K], Awaitable[V | None]]) -> None:
        """`read`: one value (None: there is none), for keys the batch did not name."""
        self._read = read
        self._found: dict[K, V | None] = {}

    async def load(
        self,
        keys: Iterable[K],
        read_many: Callable[[Sequence[K]], Awaitable[dict[K, V]]] | None = None,
        *,
        keep: bool = False,
    ) -> None:
        """Read the values of `keys` (in one read with `read_many`, which leaves out what does
        not exist; else one read per distinct key), replacing the previous batch's (`keep`:
        adding to them, for what the first read showed the batch needs too)."""
        wanted = [key for key in dict.fromkeys(keys) if not (keep and key in self._found)]
        if not keep:
            self._found = {}
        if read_many is not None:
            found = await read_many(wanted) if wanted else {}
            self._found.update((key, found.get(key)) for key in wanted)
        else:
            for key in wanted:
                self._found[key] = await self._read(key)

    async def get(self, key: K) -> V | None:
        if key in self._found:
            return self._found[key]
        return await self._read(key)
