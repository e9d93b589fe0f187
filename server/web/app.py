"""The composition root: the one place that chooses implementations and wires them together."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from server import demo, faults
from server.adapters.memory_bus import MemoryBus
from server.adapters.memory_store import MemoryStore
from server.adapters.redis_bus import RedisBus
from server.adapters.sqlite_store import SqliteStore
from server.comments import CommentError, Comments
from server.hub import Hub
from server.ports import Bus, Store
from server.requests import RequestError
from server.settings import Settings
from server.web.api import Api, on_comment_error, on_request_error
from server.web.guard import Guard
from server.web.pages import Pages
from server.web.socket import ThreadSocket

log = logging.getLogger(__name__)


def store_for(settings: Settings) -> Store:
    """SQLite (embedded, durable) by default; `memory:` for throwaway runs."""
    if settings.database == "memory:":
        return MemoryStore()
    return SqliteStore(settings.database.removeprefix("sqlite:///"))


def bus_for(settings: Settings) -> Bus:
    """Redis when configured (many processes); otherwise the in-process bus (one process)."""
    if settings.redis:
        return RedisBus(settings.redis, prefix=settings.bus_prefix)
    return MemoryBus()


def create_app(settings: Settings) -> Starlette:
    store = store_for(settings)
    bus = bus_for(settings)
    comments = Comments(
        store,
        bus,
        edit_window=settings.edit_window_seconds,
        backlog_limit=settings.backlog_limit,
        after_commit=faults.after_commit(settings.fault),
    )
    hub = Hub(
        store, bus, backlog_limit=settings.backlog_limit, tail_interval=settings.tail_interval
    )
    guard = Guard(settings)
    api = Api(
        comments,
        store,
        guard,
        max_body=settings.http_max_bytes,
        edit_window=settings.edit_window_seconds,
    )
    sockets = ThreadSocket(
        comments,
        hub,
        guard,
        inbox=settings.socket_inbox,
        max_buffer=settings.socket_buffer_bytes,
    )
    pages = Pages(store, bus)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await store.open()
        try:
            await bus.start()
            try:
                if settings.demo:
                    await demo.install(store)
                await hub.start()
                await guard.start()
                yield
            finally:
                await guard.close()
                await hub.close()
                await bus.close()
        finally:
            await store.close()

    app = Starlette(
        routes=[*api.routes(), *sockets.routes(), *pages.routes()],
        lifespan=lifespan,
        exception_handlers={CommentError: on_comment_error, RequestError: on_request_error},
        middleware=[
            # The widget calls the API from publishers' pages. No cookies are involved (every
            # privileged call carries its token), so CORS is not what guards writes.
            Middleware(
                CORSMiddleware,
                allow_origins=["*"],
                allow_methods=["GET", "POST", "PATCH", "DELETE"],
                allow_headers=["Content-Type", "Authorization", "Idempotency-Key", "X-Edit-Token"],
                max_age=600,
            )
        ],
    )
    app.state.hub = hub
    return app


def app_from_environ() -> Starlette:
    """The uvicorn factory for worker processes, which learn their settings from the environment."""
    return create_app(Settings.from_environ())
