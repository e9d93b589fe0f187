"""`livethread webhooks add|list|remove|failed|replay`: a site's webhooks and their deliveries.

`add` checks the URL before anything is stored (a refused destination is an error; a host that
does not resolve yet, a warning) and shows the signing secret once. Deliveries that failed every
attempt stay parked until an operator has looked (`failed`) and sends them again (`replay`); a
running webhooks worker picks them up within its idle interval.
"""

from __future__ import annotations

import argparse
import sys

from server import destinations
from server.cli.command import Commands, subcommand, with_store
from server.settings import Settings
from server.storage import Storage
from workers.webhooks.ports import Webhook
from workers.webhooks.worker import WebhookError, new_webhook


def register(commands: Commands) -> None:
    """Add the `webhooks` commands to the command line."""
    webhooks = commands.add_parser("webhooks", help="manage webhooks and their deliveries")
    webhook_commands = webhooks.add_subparsers(required=True)
    webhook_add = subcommand(
        webhook_commands,
        "add",
        "send SITE's events to URL (prints the signing secret once)",
        _add,
        "site",
        "url",
    )
    webhook_add.add_argument(
        "--event",
        action="append",
        default=[],
        metavar="TYPE",
        help="an event type to send, e.g. comment.created (repeatable; default: every type)",
    )
    subcommand(webhook_commands, "list", "list a site's webhooks", _list, "site")
    subcommand(
        webhook_commands, "remove", "remove a webhook and its queued deliveries", _remove, "id"
    )
    subcommand(
        webhook_commands,
        "failed",
        "list parked deliveries (those that failed every attempt)",
        _failed,
    )
    webhook_replay = subcommand(
        webhook_commands,
        "replay",
        "send parked deliveries again (all of them when no ID is given)",
        _replay,
    )
    webhook_replay.add_argument("ids", nargs="*", metavar="ID", help="delivery ids")


def _add(args: argparse.Namespace, settings: Settings) -> int:
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

    async def work(store: Storage) -> int:
        if await store.sites.get(args.site) is None:
            print(f"livethread: error: no site {args.site!r}; add it first", file=sys.stderr)
            return 2
        await store.webhooks.put(hook)
        print(f"webhook {hook.id} of {hook.site}: {hook.url} ({_event_list(hook)})")
        print("signing secret (shown once, keep it secret):")
        print(hook.secret)
        return 0

    return with_store(settings, work)


def _event_list(hook: Webhook) -> str:
    return ", ".join(hook.events) if hook.events else "every event"


def _list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Storage) -> int:
        hooks = await store.webhooks.of_site(args.site)
        if not hooks:
            print(f"no webhooks for {args.site}")
        for hook in hooks:
            print(f"{hook.id}\t{hook.url}\t{_event_list(hook)}")
        return 0

    return with_store(settings, work)


def _remove(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Storage) -> int:
        if not await store.webhooks.remove(args.id):
            print(f"livethread: error: no webhook {args.id!r}", file=sys.stderr)
            return 2
        print(f"webhook {args.id} removed")
        return 0

    return with_store(settings, work)


def _failed(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Storage) -> int:
        parked = await store.deliveries.in_status("parked")
        if not parked:
            print("no parked deliveries")
            return 0
        print("id\turl\tattempts\tlast error")
        urls: dict[str, str] = {}
        for delivery in parked:
            if delivery.webhook_id not in urls:
                hook = await store.webhooks.get(delivery.webhook_id)
                urls[delivery.webhook_id] = "-" if hook is None else hook.url
            url = urls[delivery.webhook_id]
            print(f"{delivery.id}\t{url}\t{delivery.attempts}\t{delivery.last_error or '-'}")
        return 0

    return with_store(settings, work)


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Storage) -> int:
        ids: list[str] | None = list(args.ids) or None
        count = await store.deliveries.replay(ids)
        print(f"{count} parked deliveries queued again")
        if ids is not None and count < len(set(ids)):
            print(f"livethread: {len(set(ids)) - count} of the ids given are not parked")
        # A running webhooks worker sends them within its idle interval.
        return 0

    return with_store(settings, work)
