"""Reads that begin after their caller arrived, shared by the callers that wait together.

A socket that opens reads the thread's state (server/threads/backlog.py) and its reaction
counts (server/reactions/reacting.py) from the store after it has joined its room: a read per
socket, so a reconnect storm of 5,000 readers of one thread would read the same rows 5,000
times. Callers that arrive together share one read, under one rule that keeps each caller
exact: a caller only takes a read that began after it arrived. It has joined its room by then,
so whatever is committed after the read began reaches it live (an event, or a `reactions`
frame, published after its commit); whatever was committed before is in the read.

So while a read of a key is in flight, those who arrive wait for the next one, which begins
when the current one ends and serves all of them: at most two reads are pending per key, and a
storm costs about one read per read's duration rather than one per caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class FreshReads(Generic[K, V]):
    """Shares each key's reads among the callers that arrived before they began."""

    def __init__(self, read: Callable[[K], Awaitable[V]]) -> None:
        self._read = read
        # Per key: the read in flight, and the one that begins when it ends (if anyone arrived
        # meanwhile).
        self._current: dict[K, asyncio.Task[V]] = {}
        self._next: dict[K, asyncio.Task[V]] = {}

    async def get(self, key: K) -> V:
        """The value for `key`, as read by a read that began after this call."""
        current = self._current.get(key)
        if current is None:
            task = self._start(key)
        else:
            task = self._next.get(key) or self._queue(key, current)
        # Shielded: a caller that goes away must not cancel a read others wait for.
        return await asyncio.shield(task)

    def _start(self, key: K) -> asyncio.Task[V]:
        task = asyncio.ensure_future(self._read(key))
        self._current[key] = task
        task.add_done_callback(lambda done: self._ended(key, done))
        return task

    def _queue(self, key: K, current: asyncio.Task[V]) -> asyncio.Task[V]:
        async def after() -> V:
            # Whatever became of the read before (its error is its own callers'), this one
            # begins only once it is over.
            await asyncio.wait([current])
            return await self._read(key)

        task = asyncio.ensure_future(after())
        self._next[key] = task
        return task

    def _ended(self, key: K, done: asyncio.Task[V]) -> None:
        if self._current.get(key) is not done:
            return
        # The next read (not begun: it waited on this one) becomes the current one, so those
        # who arrive from now on wait for another.
        following = self._next.pop(key, None)
        if following is None:
            del self._current[key]
            return
        self._current[key] = following
        following.add_done_callback(lambda ended: self._ended(key, ended))
