"""The in-process twin of the Bus port: one server process, no transport.

Delivery is deferred with `loop.call_soon`, not done inside `publish()`: the publisher never runs
listener code, and callers cannot come to rely on "delivered by the time publish returns", which
no real transport offers. Callbacks run in the order they were scheduled, so order per channel
(and across channels) is the order of the `publish()` calls.

Listeners are looked up when the message is delivered, not when it is published: a listener that
has unsubscribed gets nothing more, as with Redis.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from server.adapters.subscriptions import Subscriptions
from server.bus import Listener


class MemoryBus:
    """Publish/subscribe between the tasks of one process."""

    def __init__(self) -> None:
        self._subs = Subscriptions()
        self._closed = False

    @property
    def connected(self) -> bool:
        """Always True until closed: there is no transport to lose."""
        return not self._closed

    async def start(self) -> None:
        self._closed = False

    async def close(self) -> None:
        self._closed = True
        self._subs.clear()

    async def publish(self, channel: str, payload: bytes) -> bool:
        """Schedule delivery to the channel's listeners; False only once the bus is closed."""
        return await self.publish_all(((channel, payload),))

    async def publish_all(self, messages: Sequence[tuple[str, bytes]]) -> bool:
        """Schedule each delivery, in order; False only once the bus is closed."""
        if self._closed:
            return False
        loop = asyncio.get_running_loop()
        for channel, payload in messages:
            loop.call_soon(self._subs.deliver, channel, payload)
        return True

    async def subscribe(self, channel: str, listener: Listener) -> None:
        self._subs.add(channel, listener)

    async def unsubscribe(self, channel: str, listener: Listener) -> None:
        self._subs.remove(channel, listener)
