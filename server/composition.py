"""The composition root's choices: which store, which bus, which workers.

`create_app` (the web edge) and `livethread worker` (worker processes, which may not import the
web edge) both wire themselves from here, so implementations are chosen in this one place.
"""

from __future__ import annotations

from server.adapters.memory_bus import MemoryBus
from server.adapters.memory_store import MemoryStore
from server.adapters.redis_bus import RedisBus
from server.adapters.sqlite_store import SqliteStore
from server.ports import Bus, Store
from server.settings import Settings
from workers.classifier import ClassifierWorker
from workers.notifications import Notifications
from workers.runner import Worker
from workers.webhooks import Webhooks


def store_for(settings: Settings) -> Store:
    """SQLite (embedded, durable) by default; `memory:` for throwaway runs."""
    if settings.database == "memory:":
        return MemoryStore()
    return SqliteStore(
        settings.database.removeprefix("sqlite:///"),
        group_commit=settings.group_commit,
        busy_timeout_ms=round(settings.sqlite_busy_timeout * 1000),
    )


def bus_for(settings: Settings) -> Bus:
    """Redis when configured (many processes); otherwise the in-process bus (one process)."""
    if settings.redis:
        return RedisBus(settings.redis, prefix=settings.bus_prefix)
    return MemoryBus()


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


def workers_for(settings: Settings, store: Store, bus: Bus) -> list[Worker]:
    """The workers to run, built on the given store (and bus, to announce their decisions)."""
    built: list[Worker] = []
    for name in worker_names(settings):
        if name == "webhooks":
            hooks = Webhooks(
                store,
                lease=settings.worker_lease_seconds,
                allow_private=settings.allow_private_hooks,
            )
            built.append(Worker(handler=hooks, loops=(hooks.deliver_forever,), close=hooks.aclose))
        elif name == "notifications":
            mails = Notifications(store, settings)
            built.append(Worker(handler=mails, close=mails.aclose))
        elif name == "automod":
            automod = ClassifierWorker(store, bus, allow_private=settings.allow_private_hooks)
            built.append(Worker(handler=automod, close=automod.aclose))
    return built
