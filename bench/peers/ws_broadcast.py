"""The Python floor: the `websockets` library's own server and `broadcast()`.

    python -m bench.peers.ws_broadcast --port P --redis URL --channel PREFIX

An asyncio `websockets` server (on uvloop, no compression); readers kept in a set per thread;
one Redis subscriber (PSUBSCRIBE PREFIX*) that hands each message to `broadcast()`, which writes
the frame to every reader's transport without awaiting.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Sequence
from urllib.parse import parse_qs, urlsplit

import redis.asyncio as aioredis
import uvloop
from websockets.asyncio.server import ServerConnection, broadcast, serve

from bench.peers.common import HELLO, parse_args, raise_file_limit


async def serve_forever(port: int, redis_url: str, prefix: str) -> None:
    rooms: dict[str, set[ServerConnection]] = {}

    async def reader(ws: ServerConnection) -> None:
        query = parse_qs(urlsplit(ws.request.path if ws.request else "").query)
        thread = query.get("thread", [""])[0]
        clients = rooms.setdefault(thread, set())
        clients.add(ws)
        try:
            await ws.send(HELLO)
            await ws.wait_closed()
        finally:
            clients.discard(ws)

    client = aioredis.Redis.from_url(redis_url)
    pubsub = client.pubsub()
    await pubsub.psubscribe(f"{prefix}*")

    async def subscriber() -> None:
        async for message in pubsub.listen():
            if message["type"] != "pmessage":
                continue
            thread = message["channel"][len(prefix) :].decode()
            broadcast(rooms.get(thread, ()), message["data"], text=True)

    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    task = asyncio.create_task(subscriber())
    async with serve(
        reader,
        "127.0.0.1",
        port,
        compression=None,
        max_size=65536,
        ping_interval=20.0,
        ping_timeout=20.0,
        backlog=2048,  # uvicorn's default, as for the other servers
    ):
        print(f"listening on 127.0.0.1:{port}", file=sys.stderr, flush=True)
        await stop
    task.cancel()
    await pubsub.aclose()
    await client.aclose()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args("python -m bench.peers.ws_broadcast", __doc__, argv)
    raise_file_limit()
    uvloop.run(serve_forever(args.port, args.redis, args.channel))
    return 0


if __name__ == "__main__":
    sys.exit(main())
