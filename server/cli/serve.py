"""`livethread serve|worker|migrate`: run the server, run the background workers, migrate.

These three may create the database; the admin commands refuse one that does not exist yet.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import resource
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from server import demo, logs
from server.cli.command import Commands, database, subcommand, with_store
from server.composition import bus_for, worker_names, workers_for
from server.settings import Settings, export
from server.storage import Storage
from workers.runner import Runner


def register(commands: Commands) -> None:
    """Add `serve`, `worker` and `migrate` to the command line."""
    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8000)")
    serve.add_argument("--workers", type=int, help="server processes (more than 1 needs --redis)")
    database(serve)
    serve.add_argument("--redis", help="Redis URL for the bus between processes (default: none)")
    serve.add_argument("--demo", action="store_true", help="load and serve the demo article")
    serve.add_argument(
        "--no-workers",
        action="store_true",
        help="do not run the background workers in this process (run `livethread worker`)",
    )
    serve.set_defaults(handler=_serve)

    worker = commands.add_parser("worker", help="run background workers as this process")
    worker.add_argument("names", nargs="+", metavar="NAME", help="worker names, or all")
    database(worker)
    worker.add_argument("--redis", help="Redis URL, to be woken by new events at once")
    worker.set_defaults(handler=_worker)

    subcommand(commands, "migrate", "apply database migrations", _migrate)


def _raise_file_limit() -> None:
    """Every socket is a file descriptor; the usual soft limit of 1024 is far below what one
    server process can hold. Raise it to the hard limit this process is allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = 1 << 20 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    _raise_file_limit()
    if settings.database != "memory:":

        async def prepare(store: Storage) -> int:
            if settings.demo:
                await demo.install(store)
                token = await demo.issue_moderator_token(store)
                base = f"http://{settings.host}:{settings.port}"
                byline = demo.seed().article.byline
                print(f"livethread demo: {base}/  (moderator {byline}: {token})")
            return 0

        # Opening the store checks that it can keep acknowledged comments (WAL, synchronous=FULL)
        # and migrates it: a database that cannot is refused here in one line (a StoreError,
        # reported by main), not by a traceback from every server process's startup.
        with_store(settings, prepare, create=True)
    made = None
    if settings.workers > 1:
        # /metrics sums this serve's processes from here (server/metrics.py).
        if settings.metrics_dir is None:
            made = tempfile.mkdtemp(prefix="livethread-metrics-")
            settings = settings.replace(metrics_dir=made)
        else:
            clear_metric_files(Path(settings.metrics_dir))
    export(settings)
    # uvicorn shuts down gracefully on SIGTERM (stop accepting, finish in-flight requests, close
    # sockets with 1012), then raises the signal again for the handler it found installed. With
    # the default one, a clean stop would end as "killed by SIGTERM" (exit 143), not 0.
    signal.signal(signal.SIGTERM, _stop)
    # The web edge's modules load only for `serve`, not for every admin command.
    import uvicorn

    from server.web.serving import FACTORY, uvicorn_options

    options = uvicorn_options(settings)
    options["log_config"] = logs.config(settings.log_level, settings.log_format)
    try:
        uvicorn.run(FACTORY, factory=True, workers=settings.workers, **options)
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
    return 0


# prometheus-client's multiprocess files (counter_PID.db, gauge_livesum_PID.db, …): only these
# are removed, never another file a mistaken LIVETHREAD_METRICS_DIR holds (a database).
METRIC_FILE = re.compile(r"(counter|gauge_[a-z]+|histogram|summary)_\d+\.db")


def clear_metric_files(directory: Path) -> None:
    """Drop a previous serve's metric files: counters must start from this serve's zero."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        if METRIC_FILE.fullmatch(stale.name):
            stale.unlink(missing_ok=True)


def _stop(signum: int, frame: object) -> None:
    """SIGTERM outside uvicorn's own handling (before it starts, or re-raised once it has shut
    down gracefully): end the process with status 0."""
    raise SystemExit(0)


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    try:
        worker_names(settings)
    except ValueError as exc:
        print(f"livethread: error: {exc}", file=sys.stderr)
        return 2

    # The same lines as the server processes' (serve hands this to uvicorn as log_config).
    logs.setup(settings.log_level, settings.log_format)

    async def work(store: Storage) -> int:
        bus = bus_for(settings)
        await bus.start()
        runner = Runner(
            store.cursors,
            store.log,
            bus,
            workers_for(settings, store, bus),
            poll=settings.worker_poll_seconds,
            lease=settings.worker_lease_seconds,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await runner.start()
            print(f"livethread workers running: {', '.join(runner.names)}", flush=True)
            await stop.wait()
        finally:
            await runner.close()
            await bus.close()
        return 0

    return with_store(settings, work, create=True)


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Storage) -> int:
        print(f"database {settings.database} is at schema version {await store.database.migrate()}")
        return 0

    return with_store(settings, work, create=True)
