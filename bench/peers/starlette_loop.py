"""The plain Starlette loop: what most people write first.

    python -m bench.peers.starlette_loop --port P --redis URL --channel PREFIX

One websocket route; readers kept in a set per thread; one Redis subscriber task per process
(PSUBSCRIBE PREFIX*, the thread is the rest of the channel name) that, for every message, awaits
`send_text` on each reader of the thread in turn. Served by uvicorn with livethread's options.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Sequence

import redis.asyncio as aioredis
import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from bench.peers.common import HELLO, parse_args, raise_file_limit, uvicorn_options


def create_app(redis_url: str, prefix: str) -> Starlette:
    rooms: dict[str, set[WebSocket]] = {}

    async def reader(ws: WebSocket) -> None:
        thread = ws.query_params.get("thread", "")
        await ws.accept()
        clients = rooms.setdefault(thread, set())
        clients.add(ws)
        try:
            await ws.send_text(HELLO)
            while (await ws.receive())["type"] != "websocket.disconnect":
                pass
        finally:
            clients.discard(ws)

    async def subscriber(pubsub: aioredis.client.PubSub) -> None:
        async for message in pubsub.listen():
            if message["type"] != "pmessage":
                continue
            thread = message["channel"][len(prefix) :].decode()
            text = message["data"].decode()
            for ws in list(rooms.get(thread, ())):
                try:
                    await ws.send_text(text)
                except Exception:
                    rooms[thread].discard(ws)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        client = aioredis.Redis.from_url(redis_url)
        pubsub = client.pubsub()
        await pubsub.psubscribe(f"{prefix}*")
        task = asyncio.create_task(subscriber(pubsub))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await pubsub.aclose()
            await client.aclose()

    return Starlette(routes=[WebSocketRoute("/ws", reader)], lifespan=lifespan)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args("python -m bench.peers.starlette_loop", __doc__, argv)
    raise_file_limit()
    uvicorn.run(create_app(args.redis, args.channel), **uvicorn_options(args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
