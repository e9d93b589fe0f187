"""Real servers for tests: uvicorn in this process on port 0, or `livethread serve` processes."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.settings import Settings
from server.web.app import create_app
from server.web.serving import uvicorn_options

STARTUP_TIMEOUT = 20.0
LOOPBACK = "127.0.0.1"


def thread_socket_url(
    port: int, site: str, thread: str, since: int | None = None, host: str = LOOPBACK
) -> str:
    url = f"ws://{host}:{port}/ws/v1/threads?site={site}&thread={thread}"
    return url if since is None else f"{url}&since={since}"


class _Startup:
    """Wraps an app to turn the lifespan's startup answer into an event tests can await."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.done = asyncio.Event()
        self.failed: str | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def watch(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed":
                self.failed = str(message.get("message", "startup failed"))
            if message["type"].startswith("lifespan.startup."):
                self.done.set()
            await send(message)

        await self.app(scope, receive, watch)


@dataclass
class Running:
    """A started server: where it listens."""

    port: int
    settings: Settings
    app: object = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws(self, site: str, thread: str, since: int | None = None) -> str:
        return thread_socket_url(self.port, site, thread, since)


@asynccontextmanager
async def serve(settings: Settings, port: int = 0) -> AsyncIterator[Running]:
    """uvicorn serving `create_app(settings)` on a free loopback port, stopped on exit.

    `port` asks for a given port instead (a restart on the port a previous server had).
    """
    app = create_app(settings)
    watched = _Startup(app)
    # proto must be IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only then, and
    # without it every response waits ~40 ms on Nagle and delayed ACKs.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    options = uvicorn_options(settings.replace(port=port))
    options["log_level"] = "warning"
    # The app's logging setup (server/logs.py) replaces the root logger's handlers, pytest's
    # capture among them: in this process the test runner's logging stays as it is.
    options["log_config"] = None
    server = uvicorn.Server(uvicorn.Config(watched, **options))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(STARTUP_TIMEOUT):
            done = asyncio.create_task(watched.done.wait())
            await asyncio.wait({task, done}, return_when=asyncio.FIRST_COMPLETED)
            done.cancel()
        if watched.failed or task.done():
            raise RuntimeError(f"server did not start: {watched.failed}")
        yield Running(port=port, settings=settings, app=app)
    finally:
        server.should_exit = True
        async with asyncio.timeout(STARTUP_TIMEOUT):
            await asyncio.gather(task, return_exceptions=True)
        sock.close()


_LISTENING = re.compile(rb"Uvicorn running on http://[^:]+:(\d+)")


@dataclass
class ServerProcess:
    """A `livethread serve` child process; its log is collected while it runs."""

    process: asyncio.subprocess.Process
    port: int = 0
    log: list[bytes] = field(default_factory=list)
    # The address it listens on, which clients connect to.
    host: str = LOOPBACK

    @property
    def http(self) -> str:
        return f"http://{self.host}:{self.port}"

    def ws(self, site: str, thread: str, since: int | None = None) -> str:
        return thread_socket_url(self.port, site, thread, since, self.host)


@asynccontextmanager
async def serve_process(
    *args: str,
    env: dict[str, str] | None = None,
    port: int = 0,
    prefix: tuple[str, ...] = (),
    host: str = LOOPBACK,
    cwd: Path | None = None,
) -> AsyncIterator[ServerProcess]:
    """`livethread serve --port 0 ARGS…` as a real process; waits for its listening line.

    `port` asks for a given port instead (a restart on the port a killed process had).
    `prefix` runs it through another command, e.g. `("ip", "netns", "exec", NAME)` to run it
    on another network host (the prefix must exec the server, so that signals reach it);
    `host` is the address it listens on there, `cwd` the folder it runs in.
    """
    listen = () if host == LOOPBACK else ("--host", host)
    process = await asyncio.create_subprocess_exec(
        *prefix,
        sys.executable,
        "-m",
        "server.cli",
        "serve",
        "--port",
        str(port),
        *listen,
        *args,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        # No rate limits unless a test asks for them: tests post faster than a person.
        env={**os.environ, "LIVETHREAD_RATE_LIMIT": "0", **(env or {})},
        cwd=cwd,
    )
    running = ServerProcess(process, host=host)
    listening = asyncio.get_running_loop().create_future()

    async def collect() -> None:
        assert process.stderr is not None
        async for line in process.stderr:
            running.log.append(line)
            found = _LISTENING.search(line)
            if found and not listening.done():
                listening.set_result(int(found.group(1)))
        if not listening.done():
            listening.set_exception(RuntimeError(b"".join(running.log).decode(errors="replace")))

    reader = asyncio.create_task(collect())
    try:
        async with asyncio.timeout(STARTUP_TIMEOUT):
            running.port = await listening
        yield running
    finally:
        if process.returncode is None:
            process.terminate()
        async with asyncio.timeout(STARTUP_TIMEOUT):
            await process.wait()
            await reader
