"""The composition root's choices: which store, which bus, which workers.

`create_app` (the web edge) and `livethread worker` (worker processes, which may not import the
web edge) both wire themselves from here, so implementations are chosen in this one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.accounts.keys import KeySets
from server.accounts.readers import Readers
from server.adapters.memory_bus import MemoryBus
from server.adapters.memory_store import MemoryDatabase, memory_storage
from server.adapters.sqlite_store import SqliteDatabase, sqlite_storage
from server.bus import Bus
from server.limits import Buckets, Fallback, MemoryBuckets
from server.settings import PREFIX, Settings, SettingsError
from server.storage import Storage
from server.threads.comments import Comments
from workers.classifier import ClassifierWorker
from workers.notifications.worker import Notifications
from workers.runner import Worker
from workers.webhooks.worker import Webhooks

# The other stores' and buses' adapters (asyncpg, redis, the copy's archives) are imported in the
# branch that picks them: a process loads only the ones it runs on, which keeps its memory small.
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from server.archive.ports import Archive
    from server.importing.ports import Source


def store_for(settings: Settings) -> Storage:
    """SQLite (embedded, durable) by default; PostgreSQL for several hosts; `memory:` for
    throwaway runs. A new store is its adapters plus one branch here."""
    if settings.database == "memory:":
        return memory_storage()
    if settings.database.startswith(("postgresql://", "postgres://")):
        from server.adapters.postgres_store import postgres_storage

        return postgres_storage(
            settings.database,
            pool_size=settings.database_pool_size,
            statement_timeout=settings.statement_timeout,
            group_commit=settings.group_commit,
        )
    return sqlite_storage(
        settings.database.removeprefix("sqlite:///"),
        group_commit=settings.group_commit,
        busy_timeout_ms=round(settings.sqlite_busy_timeout * 1000),
    )


def archive_for(store: Storage) -> Archive:
    """The `Archive` of a store `store_for` built (`livethread copy`), on its open database."""
    database = store.database
    if isinstance(database, SqliteDatabase):
        from server.adapters.sqlite_archive import SqliteArchive

        return SqliteArchive(database)
    if not isinstance(database, MemoryDatabase):
        # Neither embedded store, so asyncpg is loaded already if this is PostgreSQL's.
        from server.adapters.postgres_archive import PostgresArchive
        from server.adapters.postgres_database import PostgresDatabase

        if isinstance(database, PostgresDatabase):
            return PostgresArchive(database)
    from server.adapters.memory_archive import memory_archive

    # An in-memory store's archive; anything else is refused there (a StoreError).
    return memory_archive(store)


def read_isso(path: Path) -> Source:
    """Isso's SQLite database, read for `livethread import isso` (an adapter: it opens SQLite)."""
    from server.adapters.isso_file import read_isso as read

    return read(path)


def bus_for(settings: Settings) -> Bus:
    """Redis when configured (many processes; `redis+cluster://` for Redis Cluster, sharded
    pub/sub; `rediss://`, `rediss+cluster://` over TLS); otherwise the in-process bus (one
    process)."""
    if not settings.redis:
        return MemoryBus()
    if settings.redis.lower().startswith(("redis+cluster://", "rediss+cluster://")):
        from server.adapters.redis_cluster_bus import RedisClusterBus

        try:
            return RedisClusterBus(settings.redis, prefix=settings.bus_prefix)
        except ValueError as exc:
            raise SettingsError(f"--redis / {PREFIX}REDIS: {exc}") from None
    from server.adapters.redis_bus import RedisBus
    from server.adapters.redis_cluster_url import check_tls_files

    try:
        check_tls_files(settings.redis)
    except ValueError as exc:
        raise SettingsError(f"--redis / {PREFIX}REDIS: {exc}") from None
    return RedisBus(settings.redis, prefix=settings.bus_prefix)


def buckets_for(settings: Settings) -> Buckets:
    """Where flood and velocity limits count: in the bus's Redis (or Redis Cluster) when the
    bus is Redis, so every process on every host shares one limit, falling back to per-process
    limits while Redis cannot answer; in this process's memory otherwise (one process)."""
    if not settings.redis:
        return MemoryBuckets()
    from server.adapters.redis_buckets import RedisBuckets

    if settings.redis.lower().startswith(("redis+cluster://", "rediss+cluster://")):
        try:
            shared = RedisBuckets.on_cluster(settings.redis, settings.bus_prefix)
        except ValueError as exc:
            raise SettingsError(f"--redis / {PREFIX}REDIS: {exc}") from None
    else:
        shared = RedisBuckets.on_server(settings.redis, settings.bus_prefix)
    return Fallback(shared)


# Every worker livethread has, by name (`livethread worker NAME…`, LIVETHREAD_WORKER_NAMES).
WORKERS = ("webhooks", "notifications", "automod")


def worker_names(settings: Settings) -> tuple[str, ...]:
    """The workers the settings ask for; "all" means every one."""
    asked = settings.worker_names.strip()
    if asked == "all":
        return WORKERS
    names = tuple(n.strip() for n in asked.split(",") if n.strip())
    unknown = sorted(set(names) - set(WORKERS))
    if unknown:
        raise ValueError(f"unknown worker {', '.join(unknown)}: choose from {', '.join(WORKERS)}")
    return names


def readers_for(store: Storage) -> Readers:
    """Signed-in readers on a store's sign-in settings and accounts; JWKS fetched when used."""
    return Readers(store.sign_ins, store.accounts, store.secrets, KeySets())


def comments_for(store: Storage, bus: Bus, **options: Any) -> Comments:
    """The comment use-cases on a store's ports (options: see `Comments`)."""
    return Comments(
        bus,
        threads=store.threads,
        comments=store.comments,
        sites=store.sites,
        moderators=store.moderators,
        bans=store.bans,
        **options,
    )


def workers_for(settings: Settings, store: Storage, bus: Bus) -> list[Worker]:
    """The workers to run, built on the given store (and bus, to announce their decisions)."""
    built: list[Worker] = []
    for name in worker_names(settings):
        if name == "webhooks":
            hooks = Webhooks(
                store.webhooks,
                store.deliveries,
                store.cursors,
                lease=settings.worker_lease_seconds,
                allow_private=settings.allow_private_hooks,
            )
            built.append(Worker(handler=hooks, loops=(hooks.deliver_forever,), close=hooks.aclose))
        elif name == "notifications":
            mails = Notifications(
                settings,
                reads=store.comments,
                threads=store.threads,
                subscriptions=store.subscriptions,
                addresses=store.addresses,
                secrets=store.secrets,
            )
            built.append(Worker(handler=mails, close=mails.aclose))
        elif name == "automod":
            automod = ClassifierWorker(
                store.rules,
                store.comments,
                comments_for(store, bus),
                allow_private=settings.allow_private_hooks,
            )
            built.append(Worker(handler=automod, close=automod.aclose))
    return built


def backup_sqlite(
    settings: Settings, target: str, progress: Callable[[int, int], None] | None = None
) -> tuple[int, int]:
    """`livethread backup`: copy the configured SQLite database, live, to `target`; the pages
    and bytes written. Only SQLite's adapter may touch its file (tests/test_architecture.py)."""
    from server.adapters.sqlite_backup import backup

    copied = backup(
        settings.database.removeprefix("sqlite:///"),
        target,
        busy_timeout_ms=round(settings.sqlite_busy_timeout * 1000),
        progress=progress,
    )
    return copied.pages, copied.bytes
