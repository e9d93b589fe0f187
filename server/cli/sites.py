"""`livethread site add|set|show NAME`: a site's origins and pre-moderation.

`add` creates a site and refuses a name that exists: replacing the whole site would drop its
origins, and every embed of it with them. `set` changes only the options given. Every origin is
checked before anything is written, so a command with one bad value changes nothing; each
command prints the site as it now is.
"""

from __future__ import annotations

import argparse
import sys

from server.cli.command import Commands, subcommand, with_store
from server.model import Site
from server.settings import Settings
from server.sites.administration import (
    EXAMPLE,
    OriginError,
    changed_site,
    origin,
)
from server.sites.administration import origins as checked_origins
from server.storage import Storage
from server.validation import validate_ids

# `origin` and `OriginError` are this module's as much as the shared one's: callers import them.
__all__ = ["OriginError", "origin", "register"]


def register(commands: Commands) -> None:
    """Add `site add`, `site set`, `site show`, `site list` and `site remove` to the command
    line."""
    site = commands.add_parser("site", help="manage sites").add_subparsers(required=True)
    add = subcommand(site, "add", "create a site (an existing one: use `site set`)", _add, "name")
    add.add_argument(
        "--origin",
        action="append",
        default=[],
        metavar="URL",
        help=f"an origin whose pages may embed the thread, e.g. {EXAMPLE} (repeatable)",
    )
    add.add_argument("--premoderate", action="store_true", help="hold comments for approval")
    put = subcommand(site, "set", "change some of a site's settings", _set, "name")
    put.add_argument(
        "--origin",
        action="append",
        metavar="URL",
        help="the site's origins: replaces the whole list (repeatable)",
    )
    put.add_argument(
        "--add-origin", action="append", default=[], metavar="URL", help="add one (repeatable)"
    )
    put.add_argument(
        "--remove-origin",
        action="append",
        default=[],
        metavar="URL",
        help="remove one (repeatable)",
    )
    put.add_argument(
        "--premoderate",
        action=argparse.BooleanOptionalAction,
        help="hold comments for approval, or (--no-premoderate) publish them at once",
    )
    subcommand(site, "show", "print a site's origins and pre-moderation", _show, "name")
    subcommand(site, "list", "every site, with its origins and pre-moderation", _list)
    remove = subcommand(
        site,
        "remove",
        "delete a site with its moderators, rules, webhooks and sign-in; its comments stay",
        _remove,
        "name",
    )
    remove.add_argument("--yes", action="store_true", help="yes, remove it (required)")


def _describe(site: Site) -> str:
    origins = ", ".join(site.origins) or "none (only livethread's own pages can post or go live)"
    moderation = "on (comments wait for a moderator)" if site.premoderate else "off"
    return f"  origins: {origins}\n  premoderation: {moderation}\n"


def _error(message: str) -> int:
    print(f"livethread: error: {message}", file=sys.stderr)
    return 2


def _add(args: argparse.Namespace, settings: Settings) -> int:
    validate_ids(args.name, "-")
    try:
        listed = checked_origins(args.origin, "--origin")
    except OriginError as exc:
        return _error(str(exc))

    async def work(store: Storage) -> int:
        if await store.sites.get(args.name) is not None:
            return _error(
                f"site {args.name!r} exists; change it with `livethread site set {args.name} …` "
                f"(add does not replace a site: see it with `livethread site show {args.name}`)"
            )
        site = Site(name=args.name, origins=tuple(listed), premoderate=args.premoderate)
        await store.sites.put(site)
        print(f"site {site.name} added\n{_describe(site)}", end="")
        return 0

    return with_store(settings, work)


def _set(args: argparse.Namespace, settings: Settings) -> int:
    try:
        replaced = None if args.origin is None else checked_origins(args.origin, "--origin")
        added = checked_origins(args.add_origin, "--add-origin")
    except OriginError as exc:
        return _error(str(exc))

    async def work(store: Storage) -> int:
        current = await store.sites.get(args.name)
        if current is None:
            return _error(f"no site {args.name!r}; add it with `livethread site add {args.name}`")
        try:
            site = changed_site(
                current,
                replaced=replaced,
                added=added,
                removed=args.remove_origin,
                premoderate=args.premoderate,
            )
        except OriginError as exc:
            return _error(str(exc))
        if site == current:
            print(f"site {site.name} unchanged\n{_describe(site)}", end="")
            return 0
        await store.sites.put(site)
        print(f"site {site.name} changed\n{_describe(site)}", end="")
        return 0

    return with_store(settings, work)


def _show(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Storage) -> int:
        site = await store.sites.get(args.name)
        if site is None:
            return _error(f"no site {args.name!r}; add it with `livethread site add {args.name}`")
        print(f"site {site.name}\n{_describe(site)}", end="")
        return 0

    return with_store(settings, work)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Storage) -> int:
        for site in await store.sites.all():
            print(f"site {site.name}\n{_describe(site)}", end="")
        return 0

    return with_store(settings, work)


def _remove(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Storage) -> int:
        if await store.sites.get(args.name) is None:
            return _error(f"no site {args.name!r}")
        if not args.yes:
            return _error(
                f"removing {args.name!r} deletes its moderators (their tokens stop working), "
                "rules, webhooks and sign-in settings; its pages can no longer load comments. "
                "Its threads and comments stay in the database (`livethread export` them first "
                f"if they should go elsewhere). Run again with --yes: "
                f"`livethread site remove {args.name} --yes`"
            )
        await store.sites.remove(args.name)
        print(f"site {args.name} removed (its comments are kept)")
        return 0

    return with_store(settings, work)
