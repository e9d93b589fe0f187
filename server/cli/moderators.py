"""`livethread moderator add|rotate|revoke|list`: who may moderate a site.

A moderator has one token, kept only as its hash: `add` makes one (replacing the old one, which
stops working), `rotate` gives an existing moderator a new one (the old one stops working, their
role stays), `revoke` deletes it, `list` shows names, never tokens. A token that stops
working must also stop the moderation sockets it opened, on every server process: with
`--redis` (or LIVETHREAD_REDIS) the command says so on the site's moderators channel and every
socket checks its token at once; without it, each socket finds out within
LIVETHREAD_MODERATOR_RECHECK_SECONDS. HTTP calls check the token on every request.
"""

from __future__ import annotations

import argparse
import sys

from server import channels
from server.cli.command import Commands, subcommand, with_store
from server.composition import bus_for
from server.settings import Settings
from server.sites.administration import (
    NoSuchModerator,
    NoSuchSite,
    add_moderator,
    revoke_moderator,
    rotate_moderator,
)
from server.storage import Storage


def register(commands: Commands) -> None:
    """Add `moderator add`, `moderator rotate`, `moderator revoke` and `moderator list` to the
    command line."""
    moderator = commands.add_parser("moderator", help="manage moderators")
    actions = moderator.add_subparsers(required=True)
    add = subcommand(
        actions,
        "add",
        "create a moderator (or replace their token) and print the token once",
        _add,
        "name",
    )
    rotate = subcommand(
        actions,
        "rotate",
        "give a moderator a new token, printed once (the old one stops working)",
        _rotate,
        "name",
    )
    revoke = subcommand(
        actions, "revoke", "delete a moderator's token (closes their sockets)", _revoke, "name"
    )
    listed = subcommand(actions, "list", "the site's moderators, by name (never tokens)", _list)
    for parser in (add, rotate, revoke, listed):
        parser.add_argument("--site", required=True)
    for parser in (add, rotate, revoke):
        parser.add_argument(
            "--redis", help="Redis URL, to close the old token's open sockets at once"
        )
    add.add_argument(
        "--role",
        choices=("moderator", "admin"),
        default="moderator",
        help="shown as a badge on what they post with the token (default: moderator)",
    )


async def _announce(settings: Settings, site: str) -> None:
    """Tell every server process that the site's tokens changed (a no-op without Redis: the
    in-process bus of this command reaches no server)."""
    if not settings.redis:
        return
    bus = bus_for(settings)
    await bus.start()
    try:
        if not await bus.publish(channels.moderators(site), b"changed"):
            print(
                "livethread: warning: Redis did not take the announcement; open sockets of the "
                "old token close within LIVETHREAD_MODERATOR_RECHECK_SECONDS",
                file=sys.stderr,
            )
    finally:
        await bus.close()


def _add(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Storage) -> int:
        try:
            token = await add_moderator(
                store.sites, store.moderators, args.site, args.name, args.role
            )
        except NoSuchSite as exc:
            print(f"livethread: error: {exc}", file=sys.stderr)
            return 2
        # A replaced token stops working now: its sockets too.
        await _announce(settings, args.site)
        print(f"moderator {args.name} of {args.site}; token (shown once, keep it secret):")
        print(token)
        return 0

    return with_store(settings, work)


def _rotate(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Storage) -> int:
        try:
            token = await rotate_moderator(store.moderators, args.site, args.name)
        except NoSuchModerator as exc:
            print(f"livethread: error: {exc}", file=sys.stderr)
            return 2
        await _announce(settings, args.site)
        print(f"new token for moderator {args.name} of {args.site} (shown once, keep it secret):")
        print(token)
        return 0

    return with_store(settings, work)


def _revoke(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Storage) -> int:
        try:
            await revoke_moderator(store.moderators, args.site, args.name)
        except NoSuchModerator as exc:
            print(f"livethread: error: {exc}", file=sys.stderr)
            return 2
        await _announce(settings, args.site)
        print(f"revoked the token of moderator {args.name} of {args.site}")
        return 0

    return with_store(settings, work)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Storage) -> int:
        if await store.sites.get(args.site) is None:
            print(f"livethread: error: no site {args.site!r}", file=sys.stderr)
            return 2
        for moderator in await store.moderators.of_site(args.site):
            print(moderator.name if moderator.role == "moderator" else f"{moderator.name} (admin)")
        return 0

    return with_store(settings, work)
