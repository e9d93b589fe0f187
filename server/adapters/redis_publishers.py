"""The Redis bus's publishing: commands written at once on idle connections of its own.

Not a redis-py pool: a pool's lock, metrics and its check of each connection for unread data (a
read that yields to the event loop) cost a good part of a publish's CPU again, and put the
PUBLISH's write after whatever the caller did next (a post's answer). Nor a socket timeout on
these connections: with one, redis-py writes through `asyncio.wait_for`, which on Python 3.11 is
a task of its own, so the write would again wait for the event loop's next turn. The caller
bounds the whole with its own timeout (figures in bench/RESULTS.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

Command = tuple[str, str, bytes]


class Publishers:
    """At most `most` connections sending at once; the idle ones are kept for the next send.

    `send` writes its commands in one write (on a kept connection, before it first yields: a
    new one connects first), and returns every reply once all have been read, an error reply
    (MOVED, NOPERM…) as a ResponseError in its place; it raises what a lost or refused
    connection raises (RedisError, OSError). A kept connection that fails to carry the commands
    (Redis restarted since it was last used) is dropped and they are sent once more on a new
    one, so a restart alone is never an error. Only a connection whose replies were all read is
    kept."""

    def __init__(self, options: dict[str, Any], most: int) -> None:
        """`options`: redis-py connection arguments (from the URL); the socket timeout is
        dropped."""
        self._factory = ConnectionPool(**{**options, "socket_timeout": None})
        self._turns = asyncio.Semaphore(most)
        self._idle: list[AbstractConnection] = []
        self._closed = False

    async def send(self, commands: list[Command]) -> list[object]:
        async with self._turns:
            return await self._send_on(self._idle.pop() if self._idle else None, commands)

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            await _drop(conn)

    async def _send_on(
        self, kept: AbstractConnection | None, commands: list[Command]
    ) -> list[object]:
        conn = kept if kept is not None else self._factory.make_connection()  # type: ignore[no-untyped-call]
        replies: list[object] = []
        try:
            await conn.send_packed_command(conn.pack_commands(commands), check_health=False)
            for _ in commands:
                try:
                    replies.append(await conn.read_response(disconnect_on_error=False))
                except ResponseError as refused:  # read whole: the connection is still in step
                    replies.append(refused)
        except BaseException as exc:
            await _drop(conn)
            if kept is None or not isinstance(exc, RedisConnectionError | ConnectionError):
                raise
            return await self._send_on(None, commands)
        if self._closed:
            await _drop(conn)
        else:
            self._idle.append(conn)
        return replies


async def _drop(conn: AbstractConnection) -> None:
    with contextlib.suppress(RedisError, OSError):
        await conn.disconnect()
