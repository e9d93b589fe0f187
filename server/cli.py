"""The `livethread` command: serve, migrate, and the admin commands for sites and moderators."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence

import msgspec
import uvicorn

from server import demo, destinations, rules_cli
from server.comments import Comments
from server.composition import worker_names, workers_for
from server.model import Moderator, Site
from server.ports import Store, StoreError, Webhook
from server.requests import RequestError, validate_ids
from server.settings import Settings, SettingsError, export
from server.tokens import new_token, token_hash
from server.web.app import bus_for, store_for
from server.web.serving import FACTORY, uvicorn_options
from workers.runner import Runner
from workers.webhooks import WebhookError, new_webhook


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_environ(
            host=getattr(args, "host", None),
            port=getattr(args, "port", None),
            workers=getattr(args, "workers", None),
            database=getattr(args, "database", None),
            redis=getattr(args, "redis", None),
            demo=True if getattr(args, "demo", False) else None,
            run_workers=False if getattr(args, "no_workers", False) else None,
            worker_names=",".join(args.names) if getattr(args, "names", None) else None,
        )
        handler: Callable[[argparse.Namespace, Settings], int] = args.handler
        return handler(args, settings)
    except (SettingsError, RequestError, StoreError) as exc:
        message = exc.message if isinstance(exc, RequestError) else str(exc)
        print(f"livethread: error: {message}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="livethread", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8000)")
    serve.add_argument("--workers", type=int, help="server processes (more than 1 needs --redis)")
    _database(serve)
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
    _database(worker)
    worker.add_argument("--redis", help="Redis URL, to be woken by new events at once")
    worker.set_defaults(handler=_worker)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    _database(migrate)
    migrate.set_defaults(handler=_migrate)

    site = commands.add_parser("site", help="manage sites").add_subparsers(required=True)
    site_add = site.add_parser("add", help="create or update a site")
    site_add.add_argument("name")
    site_add.add_argument(
        "--origin", action="append", default=[], help="an origin allowed to embed (repeatable)"
    )
    site_add.add_argument("--premoderate", action="store_true", help="hold comments for approval")
    _database(site_add)
    site_add.set_defaults(handler=_site_add)

    user = commands.add_parser("user", help="a person's data, found by email")
    user_commands = user.add_subparsers(required=True)
    export = user_commands.add_parser("export", help="print every comment left with EMAIL (JSON)")
    export.add_argument("email")
    _database(export)
    export.set_defaults(handler=_user_export)
    erase = user_commands.add_parser(
        "delete", help="erase every comment left with EMAIL (live on open pages)"
    )
    erase.add_argument("email")
    _database(erase)
    erase.add_argument("--redis", help="Redis URL, to announce the removals at once")
    erase.set_defaults(handler=_user_delete)

    moderator = commands.add_parser("moderator", help="manage moderators")
    moderator_add = moderator.add_subparsers(required=True).add_parser(
        "add", help="create a moderator (or replace their token) and print the token once"
    )
    moderator_add.add_argument("name")
    moderator_add.add_argument("--site", required=True)
    _database(moderator_add)
    moderator_add.set_defaults(handler=_moderator_add)

    webhooks = commands.add_parser("webhooks", help="manage webhooks and their deliveries")
    webhook_commands = webhooks.add_subparsers(required=True)
    webhook_add = webhook_commands.add_parser(
        "add", help="send SITE's events to URL (prints the signing secret once)"
    )
    webhook_add.add_argument("site")
    webhook_add.add_argument("url")
    webhook_add.add_argument(
        "--event",
        action="append",
        default=[],
        metavar="TYPE",
        help="an event type to send, e.g. comment.created (repeatable; default: every type)",
    )
    _database(webhook_add)
    webhook_add.set_defaults(handler=_webhooks_add)
    webhook_list = webhook_commands.add_parser("list", help="list a site's webhooks")
    webhook_list.add_argument("site")
    _database(webhook_list)
    webhook_list.set_defaults(handler=_webhooks_list)
    webhook_remove = webhook_commands.add_parser(
        "remove", help="remove a webhook and its queued deliveries"
    )
    webhook_remove.add_argument("id")
    _database(webhook_remove)
    webhook_remove.set_defaults(handler=_webhooks_remove)
    webhook_failed = webhook_commands.add_parser(
        "failed", help="list parked deliveries (those that failed every attempt)"
    )
    _database(webhook_failed)
    webhook_failed.set_defaults(handler=_webhooks_failed)
    webhook_replay = webhook_commands.add_parser(
        "replay", help="send parked deliveries again (all of them when no ID is given)"
    )
    webhook_replay.add_argument("ids", nargs="*", metavar="ID", help="delivery ids")
    _database(webhook_replay)
    webhook_replay.set_defaults(handler=_webhooks_replay)
    rules_cli.register(commands, _database, _with_store)
    return parser


def _database(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database", help="sqlite:///PATH (default sqlite:///./livethread.db)")


def _with_store(settings: Settings, work: Callable[[Store], Awaitable[int]]) -> int:
    async def run() -> int:
        store = store_for(settings)
        await store.open()
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


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

        async def prepare(store: Store) -> int:
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
        _with_store(settings, prepare)
    export(settings)
    # uvicorn shuts down gracefully on SIGTERM (stop accepting, finish in-flight requests, close
    # sockets with 1012), then raises the signal again for the handler it found installed. With
    # the default one, a clean stop would end as "killed by SIGTERM" (exit 143), not 0.
    signal.signal(signal.SIGTERM, _stop)
    uvicorn.run(FACTORY, factory=True, workers=settings.workers, **uvicorn_options(settings))
    return 0


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

    async def work(store: Store) -> int:
        bus = bus_for(settings)
        await bus.start()
        runner = Runner(
            store,
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

    return _with_store(settings, work)


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        print(f"database {settings.database} is at schema version {await store.migrate()}")
        return 0

    return _with_store(settings, work)


def _site_add(args: argparse.Namespace, settings: Settings) -> int:
    validate_ids(args.name, "-")

    async def work(store: Store) -> int:
        await store.put_site(
            Site(name=args.name, origins=tuple(args.origin), premoderate=args.premoderate)
        )
        print(f"site {args.name} saved (origins: {', '.join(args.origin) or 'none'})")
        return 0

    return _with_store(settings, work)


class ExportedComment(msgspec.Struct, frozen=True, kw_only=True):
    """What `user export` gives a person: their comments as stored (no secrets of ours)."""

    id: str
    site: str
    thread: str
    parent: str | None
    name: str
    email: str | None
    website: str | None
    body: str
    status: str
    created: float
    edited: float | None


def _user_export(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        found = await store.comments_by_email(args.email.strip().lower())
        exported = [
            ExportedComment(
                id=r.id,
                site=r.site,
                thread=r.thread,
                parent=r.parent,
                name=r.author_name,
                email=r.author_email,
                website=r.author_url,
                body=r.body_source,
                status=r.status,
                created=r.created_at,
                edited=r.edited_at,
            )
            for r in found
        ]
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(exported)).decode() + "\n")
        return 0

    return _with_store(settings, work)


def _user_delete(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        bus = bus_for(settings)
        await bus.start()
        try:
            comments = Comments(store, bus)
            found = await store.comments_by_email(args.email.strip().lower())
            for record in found:
                await comments.erase(record)
        finally:
            await bus.close()
        # Without Redis, every server process finds the removals in the event log's tail.
        print(f"erased {len(found)} comment(s) left with {args.email.strip().lower()}")
        return 0

    return _with_store(settings, work)


def _moderator_add(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        if await store.site(args.site) is None:
            print(f"livethread: error: no site {args.site!r}; add it first", file=sys.stderr)
            return 2
        token = new_token()
        await store.put_moderator(Moderator(name=args.name, site=args.site), token_hash(token))
        print(f"moderator {args.name} of {args.site}; token (shown once, keep it secret):")
        print(token)
        return 0

    return _with_store(settings, work)


def _webhooks_add(args: argparse.Namespace, settings: Settings) -> int:
    try:
        hook = new_webhook(args.site, args.url, tuple(args.event))
        warning = destinations.check_now(
            args.url, allow_private=settings.allow_private_hooks, what="the webhook URL"
        )
    except (WebhookError, destinations.Refused) as exc:
        print(f"livethread: error: {exc}", file=sys.stderr)
        return 2
    if warning is not None:
        print(f"livethread: warning: {warning}", file=sys.stderr)

    async def work(store: Store) -> int:
        if await store.site(args.site) is None:
            print(f"livethread: error: no site {args.site!r}; add it first", file=sys.stderr)
            return 2
        await store.put_webhook(hook)
        print(f"webhook {hook.id} of {hook.site}: {hook.url} ({_event_list(hook)})")
        print("signing secret (shown once, keep it secret):")
        print(hook.secret)
        return 0

    return _with_store(settings, work)


def _event_list(hook: Webhook) -> str:
    return ", ".join(hook.events) if hook.events else "every event"


def _webhooks_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        hooks = await store.webhooks(args.site)
        if not hooks:
            print(f"no webhooks for {args.site}")
        for hook in hooks:
            print(f"{hook.id}\t{hook.url}\t{_event_list(hook)}")
        return 0

    return _with_store(settings, work)


def _webhooks_remove(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        if not await store.remove_webhook(args.id):
            print(f"livethread: error: no webhook {args.id!r}", file=sys.stderr)
            return 2
        print(f"webhook {args.id} removed")
        return 0

    return _with_store(settings, work)


def _webhooks_failed(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        parked = await store.deliveries("parked")
        if not parked:
            print("no parked deliveries")
            return 0
        print("id\turl\tattempts\tlast error")
        urls: dict[str, str] = {}
        for delivery in parked:
            if delivery.webhook_id not in urls:
                hook = await store.webhook(delivery.webhook_id)
                urls[delivery.webhook_id] = "-" if hook is None else hook.url
            url = urls[delivery.webhook_id]
            print(f"{delivery.id}\t{url}\t{delivery.attempts}\t{delivery.last_error or '-'}")
        return 0

    return _with_store(settings, work)


def _webhooks_replay(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        ids: list[str] | None = list(args.ids) or None
        count = await store.replay_deliveries(ids)
        print(f"{count} parked deliveries queued again")
        if ids is not None and count < len(set(ids)):
            print(f"livethread: {len(set(ids)) - count} of the ids given are not parked")
        # A running webhooks worker sends them within its idle interval.
        return 0

    return _with_store(settings, work)


if __name__ == "__main__":
    sys.exit(main())
