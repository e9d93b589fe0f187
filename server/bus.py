"""The bus port: delivery of bytes between server processes.

It has an in-memory twin in `server.adapters`; `tests/contract/` runs one suite against every
implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Listener(Protocol):
    """Receives a channel's messages from the bus. Called on the event loop; must not block."""

    def deliver(self, payload: bytes) -> None: ...

    def resumed(self) -> None:
        """The bus lost and regained its transport: messages may have been dropped meanwhile."""
        ...


class Bus(Protocol):
    """Publish/subscribe of bytes on channels across server processes.

    At most once, no history: a message published while a subscriber is disconnected is lost,
    so the store stays the truth and listeners catch up from it when told `resumed()`.
    Subscriptions are reference-counted per channel: the transport subscribes once per channel
    per process however many listeners join.
    """

    @property
    def connected(self) -> bool:
        """Whether the transport is up now (for health checks; publishing never depends on it)."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, channel: str, payload: bytes) -> bool:
        """Hand a message to the transport; False (never an exception) if it is unavailable."""
        ...

    async def publish_all(self, messages: Sequence[tuple[str, bytes]]) -> bool:
        """Hand several (channel, payload) messages over in order, at the cost of about one
        (Redis: one round trip); False (never an exception) if the transport is unavailable."""
        ...

    async def subscribe(self, channel: str, listener: Listener) -> None: ...

    async def unsubscribe(self, channel: str, listener: Listener) -> None: ...
