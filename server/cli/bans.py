"""`livethread ban add|list|lift SITE`: the site's bans, from the terminal.

The same use-case as the moderators' page and `POST /api/v1/bans` (server/moderation/bans.py):
each ban and lift is kept in the audit log as the operator's ("cli"), and a removal of the
person's comments reaches open pages live through `--redis` (without it, every server process
finds the removals in the event log's tail).
"""

from __future__ import annotations

import argparse
import datetime
import sys
from collections.abc import Awaitable, Callable

import msgspec

from server.cli.command import Commands, subcommand, with_store
from server.composition import bus_for, comments_for
from server.limits import LIMITS_SECRET, Addresses
from server.model import Moderator
from server.moderation.bans import Banning, BanRequest, view
from server.moderation.ports import Ban, BanKey
from server.settings import Settings
from server.storage import Storage
from server.validation import validate_ids

Work = Callable[[Banning, Moderator], Awaitable[int]]
# Who the audit log says decided, for what is done here.
OPERATOR = "cli"
DAY = 86400.0


def register(commands: Commands) -> None:
    """Add `ban add`, `ban list` and `ban lift` to the command line."""
    ban = commands.add_parser("ban", help="ban, suspend or shadow-ban people on a site")
    ban_commands = ban.add_subparsers(required=True)
    add = subcommand(ban_commands, "add", "ban a person (by account, email or address)", _add)
    add.add_argument("site")
    whom = add.add_mutually_exclusive_group(required=True)
    whom.add_argument("--account", help="a signed-in reader's account id")
    whom.add_argument("--email", help="an email address")
    whom.add_argument("--address", help="a client IP address (kept only as a keyed hash)")
    add.add_argument("--mode", choices=("ban", "suspend", "shadow"), default="ban")
    add.add_argument("--days", type=float, help="end it after this many days (suspend needs it)")
    add.add_argument("--reason", help="why (kept in the audit log)")
    remove = add.add_mutually_exclusive_group()
    remove.add_argument("--remove-in", metavar="THREAD", help="remove their comments in THREAD")
    remove.add_argument("--remove-all", action="store_true", help="remove all their comments")
    add.add_argument("--redis", help="Redis URL, to announce removals at once")
    listing = subcommand(ban_commands, "list", "print a site's bans in force", _list, "site")
    listing.add_argument("--json", action="store_true", help="one JSON object a line")
    lift = subcommand(ban_commands, "lift", "lift a ban (by its id)", _lift, "site", "id")
    lift.add_argument("--redis", help="Redis URL, to tell moderators' pages at once")


def line(ban: Ban) -> str:
    """One ban for people: id, mode, whom, until, by, why."""
    until = "" if ban.until is None else f" until {_when(ban.until)}"
    whom = (
        f"{ban.key} {ban.label or ban.value}" if ban.key == "address" else f"{ban.key} {ban.value}"
    )
    why = f" ({ban.reason})" if ban.reason else ""
    return f"{ban.id:>6}  {ban.mode:<7} {whom}{until}, by {ban.by} {_when(ban.at)}{why}"


def _add(args: argparse.Namespace, settings: Settings) -> int:
    validate_ids(args.site, "-")
    if args.remove_in is not None:
        validate_ids(args.site, args.remove_in)
    key: BanKey = (
        "account" if args.account is not None else "email" if args.email is not None else "address"
    )
    value: str = args.account or args.email or args.address
    until = None
    if args.days is not None:
        if args.days <= 0:
            print("livethread: error: --days must be more than 0", file=sys.stderr)
            return 2
        until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=args.days)
    wanted = BanRequest(
        site=args.site,
        key=key,
        value=value,
        mode=args.mode,
        until=until,
        reason=args.reason,
        remove="thread" if args.remove_in else "site" if args.remove_all else "none",
        thread=args.remove_in,
    )

    async def work(banning: Banning, moderator: Moderator) -> int:
        ban, removed = await banning.ban(moderator, wanted)
        print(line(ban))
        if removed:
            print(f"removed {removed} comment(s)")
        return 0

    return _with_banning(args, settings, work)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(banning: Banning, moderator: Moderator) -> int:
        for ban in await banning.of_site(moderator, args.site):
            if args.json:
                sys.stdout.write(msgspec.json.encode(view(ban)).decode() + "\n")
            else:
                sys.stdout.write(line(ban) + "\n")
        return 0

    return _with_banning(args, settings, work)


def _lift(args: argparse.Namespace, settings: Settings) -> int:
    if not args.id.isdigit():
        print("livethread: error: a ban's id is a whole number", file=sys.stderr)
        return 2

    async def work(banning: Banning, moderator: Moderator) -> int:
        ban = await banning.lift(moderator, args.site, int(args.id))
        print(f"lifted: {line(ban)}")
        return 0

    return _with_banning(args, settings, work)


def _with_banning(args: argparse.Namespace, settings: Settings, work: Work) -> int:
    """Run `work` with the site's bans, as the operator, on the store and bus configured."""
    validate_ids(args.site, "-")

    async def run(store: Storage) -> int:
        if await store.sites.get(args.site) is None:
            print(f"livethread: error: no site {args.site!r}", file=sys.stderr)
            return 2
        bus = bus_for(settings)
        await bus.start()
        try:
            addresses = Addresses((await store.secrets.get(LIMITS_SECRET)).encode())
            banning = Banning(
                store.bans,
                store.audit,
                store.comments,
                bus,
                moderate=comments_for(store, bus).moderate,
                address_key=addresses.key,
                retention=settings.address_retention_days * DAY,
            )
            return await work(banning, Moderator(name=OPERATOR, site=args.site, role="admin"))
        finally:
            await bus.close()

    return with_store(settings, run)


def _when(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
