"""The production shape, on loopback: two `livethread serve` processes on one private Redis and
one SQLite file, with the shipped nginx config in front over TLS (deploy/README.md's picture)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import msgspec

from server.settings import Settings
from server.web.app import store_for
from tests.support.clients import Tokens, provision
from tests.support.nginx import Proxy, proxy
from tests.support.redis_server import RedisServer
from tests.support.server import ServerProcess, serve_process


async def _add_origins(settings: Settings, origins: tuple[str, ...]) -> None:
    store = store_for(settings)
    await store.open()
    try:
        site = await store.sites.get("news")
        assert site is not None
        await store.sites.put(msgspec.structs.replace(site, origins=(*site.origins, *origins)))
    finally:
        await store.close()


@dataclass(frozen=True)
class Deployment:
    """nginx (`proxy`) in front of `servers`; the sites "news" and "other" with a moderator each."""

    proxy: Proxy
    servers: tuple[ServerProcess, ServerProcess]
    tokens: Tokens
    settings: Settings


@asynccontextmanager
async def deployment(
    folder: Path,
    env: dict[str, str] | None = None,
    *,
    demo: bool = False,
    origins: tuple[str, ...] = (),
) -> AsyncIterator[Deployment]:
    """Everything started in `folder`, stopped on exit. The rate limits are on, as in production
    (`env` overrides them and any other LIVETHREAD_* setting); the workers run elsewhere
    (`--no-workers`), as with the shipped systemd units. `origins` are added to site "news"."""
    settings = Settings(database=f"sqlite:///{folder / 'livethread.db'}")
    tokens = await provision(settings)
    if origins:
        await _add_origins(settings, origins)
    args = ["--no-workers", *(["--demo"] if demo else [])]
    with RedisServer() as redis:
        variables = {
            "LIVETHREAD_DATABASE": settings.database,
            "LIVETHREAD_REDIS": redis.url,
            "LIVETHREAD_BUS_PREFIX": "livethread:",
            "LIVETHREAD_RATE_LIMIT": "1",
            **(env or {}),
        }
        async with (
            serve_process(*args, env=variables) as first,
            serve_process(*args, env=variables) as second,
            proxy(folder / "nginx", [first.port, second.port]) as nginx,
        ):
            yield Deployment(proxy=nginx, servers=(first, second), tokens=tokens, settings=settings)
