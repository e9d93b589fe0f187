"""python-socketio with its Redis manager, on uvicorn: the usual pick for rooms across processes.

    python -m bench.peers.socketio_server --port P --redis URL --channel CHANNEL

`socketio.AsyncServer(async_mode="asgi", client_manager=AsyncRedisManager(URL, channel=...))`.
A reader emits `join` with its thread (acknowledged once it is in the room); publishers emit
`event` to the room through a write-only `AsyncRedisManager` on the same channel, and every
process relays it to its own members of the room.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import socketio  # type: ignore[import-untyped]
import uvicorn
from starlette.types import ASGIApp

from bench.peers.common import parse_args, raise_file_limit, uvicorn_options


def create_app(redis_url: str, channel: str) -> ASGIApp:
    manager = socketio.AsyncRedisManager(redis_url, channel=channel)
    sio = socketio.AsyncServer(async_mode="asgi", client_manager=manager)

    async def join(sid: str, thread: object) -> str:
        await sio.enter_room(sid, str(thread))
        return "ok"

    sio.on("join", join)
    app: ASGIApp = socketio.ASGIApp(sio)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args("python -m bench.peers.socketio_server", __doc__, argv)
    raise_file_limit()
    uvicorn.run(create_app(args.redis, args.channel), **uvicorn_options(args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
