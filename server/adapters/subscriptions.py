"""The reference-counted registry of bus listeners, shared by every Bus implementation.

A bus asks the transport for a channel once, when the channel gains its first listener, and lets
it go when the last one leaves; this registry answers those two questions and fans a message out
to the channel's listeners. It does no I/O and never awaits, so callers can change it and act on
the answer without another task interleaving.

Listeners are compared by identity, not equality: two equal-looking listeners are two listeners.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from server.bus import Listener

logger = logging.getLogger(__name__)


class Subscriptions:
    """Channel -> listeners, in join order."""

    def __init__(self) -> None:
        # Keyed by id() so listeners need not be hashable; the dict holds the listener itself,
        # which keeps the id from being reused while it is registered.
        self._channels: dict[str, dict[int, Listener]] = {}

    def add(self, channel: str, listener: Listener) -> bool:
        """Register `listener` on `channel`; True if it is the channel's first listener.

        Adding a listener that is already registered on the channel changes nothing (and returns
        False): a listener gets each message once.
        """
        listeners = self._channels.get(channel)
        if listeners is None:
            self._channels[channel] = {id(listener): listener}
            return True
        listeners[id(listener)] = listener
        return False

    def remove(self, channel: str, listener: Listener) -> bool:
        """Unregister `listener`; True if that left the channel without listeners.

        Removing a listener that is not registered is a no-op returning False, so a cleanup path
        may call it unconditionally.
        """
        listeners = self._channels.get(channel)
        if listeners is None or listeners.pop(id(listener), None) is None:
            return False
        if listeners:
            return False
        del self._channels[channel]
        return True

    def holds(self, channel: str, listener: Listener) -> bool:
        """Whether `listener` is registered on `channel`."""
        return id(listener) in self._channels.get(channel, {})

    def has(self, channel: str) -> bool:
        """Whether `channel` has at least one listener."""
        return channel in self._channels

    def count(self, channel: str) -> int:
        """How many listeners `channel` has."""
        return len(self._channels.get(channel, ()))

    def channels(self) -> list[str]:
        """Every channel with at least one listener."""
        return list(self._channels)

    def clear(self) -> None:
        """Forget every listener (the bus is closing)."""
        self._channels.clear()

    def deliver(self, channel: str, payload: bytes) -> None:
        """Hand `payload` to each listener of `channel`; one failing does not stop the others."""
        listeners = self._channels.get(channel)
        if not listeners:
            return
        # A copy: a listener may (indirectly) join or leave the channel while being called.
        for listener in tuple(listeners.values()):
            try:
                listener.deliver(payload)
            except Exception:
                logger.exception("bus listener %r failed on channel %r", listener, channel)

    def resumed(self, channels: Iterable[str] | None = None) -> None:
        """Tell every listener (of `channels`, or of any channel), once each even if it is on
        several, that it may have missed messages."""
        chosen = self._channels.keys() if channels is None else channels
        seen: set[int] = set()
        for channel in tuple(chosen):
            for key, listener in tuple(self._channels.get(channel, {}).items()):
                if key in seen:
                    continue
                seen.add(key)
                try:
                    listener.resumed()
                except Exception:
                    logger.exception("bus listener %r failed in resumed()", listener)
