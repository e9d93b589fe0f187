"""`livethread rules show|set SITE`: a site's auto-moderation rules from the command line.

`set` changes only the options given; the rest keep their stored (or default) values. A word
list option replaces the whole list (`--banned` with no words empties it).
"""

from __future__ import annotations

import argparse
import sys

import msgspec

from server import destinations
from server.cli.command import Commands, subcommand, with_store
from server.moderation.rules import CLASSIFIER_KINDS, Rules, RulesError
from server.settings import Settings
from server.sites.administration import NoSuchSite, changed_rules, off, site_rules
from server.storage import Storage


def register(commands: Commands) -> None:
    """Add `rules show` and `rules set` to the command line."""
    rules = commands.add_parser("rules", help="a site's auto-moderation rules")
    sub = rules.add_subparsers(required=True)
    subcommand(sub, "show", "print a site's rules (defaults if never set)", _show, "site")
    put = subcommand(sub, "set", "change some of a site's rules", _set, "site")
    put.add_argument(
        "--links-max", type=int, metavar="N", help="hold comments with more links than N"
    )
    put.add_argument(
        "--banned", nargs="*", metavar="WORD", help="refuse comments with these (replaces)"
    )
    put.add_argument(
        "--suspect", nargs="*", metavar="WORD", help="publish but flag these (replaces)"
    )
    put.add_argument(
        "--velocity-author", metavar="RATE", help="COUNT/SECONDS per author, or off (429 above)"
    )
    put.add_argument(
        "--velocity-address", metavar="RATE", help="COUNT/SECONDS per address, or off (429 above)"
    )
    put.add_argument(
        "--repeat-window",
        type=float,
        metavar="SECONDS",
        help="hold the same text in another thread within this long (0: off)",
    )
    put.add_argument(
        "--reports-hold",
        type=int,
        metavar="N",
        help="hold a comment once N distinct readers report it (0: reports only flag it)",
    )
    put.add_argument(
        "--first-time-hold",
        action=argparse.BooleanOptionalAction,
        help="hold a new account's or email's comments until a moderator approves one",
    )
    put.add_argument("--classifier-url", metavar="URL", help="external spam classifier, or off")
    put.add_argument("--classifier-kind", choices=CLASSIFIER_KINDS, help="its protocol")
    put.add_argument("--classifier-key", metavar="KEY", help="API key (akismet), or off")


def _print(site: str, rules: Rules) -> None:
    shown = msgspec.structs.replace(rules, classifier_key="(set)" if rules.classifier_key else None)
    sys.stdout.write(f"rules of {site}:\n")
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(shown)).decode() + "\n")


async def _site_rules(store: Storage, site: str) -> Rules | None:
    try:
        return await site_rules(store.sites, store.rules, site)
    except NoSuchSite as exc:
        print(f"livethread: error: {exc}", file=sys.stderr)
        return None


def _show(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Storage) -> int:
        rules = await _site_rules(store, args.site)
        if rules is None:
            return 2
        _print(args.site, rules)
        return 0

    return with_store(settings, work)


def _changes(args: argparse.Namespace) -> dict[str, object]:
    changes: dict[str, object] = {}
    for name in (
        "links_max",
        "repeat_window",
        "classifier_kind",
        "reports_hold",
        "first_time_hold",
    ):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    for name in ("banned", "suspect"):
        if getattr(args, name) is not None:
            changes[name] = tuple(getattr(args, name))
    for name in ("velocity_author", "velocity_address", "classifier_url", "classifier_key"):
        if getattr(args, name) is not None:
            changes[name] = off(getattr(args, name))
    return changes


def _set(args: argparse.Namespace, settings: Settings) -> int:
    changes = _changes(args)
    url = changes.get("classifier_url")
    if isinstance(url, str):
        try:
            warning = destinations.check_now(
                url, allow_private=settings.allow_private_hooks, what="--classifier-url"
            )
        except destinations.Refused as exc:
            print(f"livethread: error: {exc}", file=sys.stderr)
            return 2
        if warning is not None:
            print(f"livethread: warning: {warning}", file=sys.stderr)

    async def work(store: Storage) -> int:
        current = await _site_rules(store, args.site)
        if current is None:
            return 2
        try:
            updated = changed_rules(current, changes)
        except RulesError as exc:
            print(f"livethread: error: {exc}", file=sys.stderr)
            return 2
        await store.rules.put(args.site, updated)
        _print(args.site, updated)
        return 0

    return with_store(settings, work)
