"""A real server (uvicorn on a free port) on its own event loop in a thread, for synchronous
callers such as schemathesis's pytest integration, which drives requests from the test's thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from server.settings import Settings
from tests.support.clients import Tokens, provision
from tests.support.server import STARTUP_TIMEOUT, Running, serve


@dataclass(frozen=True)
class Served:
    """A running server and the moderator tokens `provision` made for its sites."""

    running: Running
    tokens: Tokens

    @property
    def http(self) -> str:
        return self.running.http


@contextmanager
def served_in_thread(settings: Settings, site: str = "news") -> Iterator[Served]:
    """Provision `settings`' database (`site` with the moderator of `tokens.news`), serve it
    until the block ends, then stop the server."""
    loop = asyncio.new_event_loop()
    started: concurrent.futures.Future[tuple[Served, asyncio.Event]] = concurrent.futures.Future()

    async def main() -> None:
        try:
            tokens = await provision(settings, site)
            async with serve(settings) as running:
                stop = asyncio.Event()
                started.set_result((Served(running, tokens), stop))
                await stop.wait()
        except BaseException as exc:
            if not started.done():
                started.set_exception(exc)
            raise

    failed: list[BaseException] = []

    def run() -> None:
        try:
            loop.run_until_complete(main())
        except BaseException as exc:  # a failed start reaches the caller through `started`
            failed.append(exc)
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="served-in-thread", daemon=True)
    thread.start()
    served, stop = started.result(timeout=STARTUP_TIMEOUT)
    try:
        yield served
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=STARTUP_TIMEOUT)
        assert not thread.is_alive(), "the server's thread did not stop"
    if failed:
        raise RuntimeError("the server failed while stopping") from failed[0]
