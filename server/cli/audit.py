"""`livethread audit SITE`: every moderation decision on a site, oldest first; `--json` prints
one JSON object a line (an export any log tool reads); `--comment ID` one comment's history."""

from __future__ import annotations

import argparse
import datetime
import sys

import msgspec

from server.cli.command import Commands, subcommand, with_store
from server.moderation.ports import AuditEntry
from server.settings import Settings
from server.storage import Storage
from server.validation import validate_ids

PAGE = 1000


def register(commands: Commands) -> None:
    """Add `audit` to the command line."""
    audit = subcommand(commands, "audit", "print a site's moderation decisions", _audit, "site")
    audit.add_argument("--after", type=int, default=0, metavar="ID", help="entries after this id")
    audit.add_argument("--limit", type=int, metavar="N", help="at most this many (default: all)")
    audit.add_argument("--comment", metavar="ID", help="only this comment's decisions")
    audit.add_argument("--json", action="store_true", help="one JSON object a line")


def line(entry: AuditEntry) -> str:
    """One entry for people: id, time (UTC), who, what, on what, why."""
    when = datetime.datetime.fromtimestamp(entry.at, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
    target = (
        f"comment {entry.comment_id} in {entry.thread}"
        if entry.comment_id
        else f"thread {entry.thread}"
        if entry.thread
        else entry.subject or "-"
    )
    why = f" ({entry.reason})" if entry.reason else ""
    return f"{entry.id:>6}  {when}  {entry.by}: {entry.action} {target}{why}"


def _audit(args: argparse.Namespace, settings: Settings) -> int:
    validate_ids(args.site, "-")

    async def work(store: Storage) -> int:
        if await store.sites.get(args.site) is None:
            print(f"livethread: error: no site {args.site!r}", file=sys.stderr)
            return 2
        for entry in await _entries(store, args):
            if args.json:
                sys.stdout.write(msgspec.json.encode(entry).decode() + "\n")
            else:
                sys.stdout.write(line(entry) + "\n")
        return 0

    return with_store(settings, work)


async def _entries(store: Storage, args: argparse.Namespace) -> list[AuditEntry]:
    if args.comment is not None:
        found = await store.audit.of_comment(args.comment)
        return [e for e in found if e.site == args.site and e.id > args.after][: args.limit]
    entries: list[AuditEntry] = []
    after = args.after
    while args.limit is None or len(entries) < args.limit:
        wanted = PAGE if args.limit is None else min(PAGE, args.limit - len(entries))
        page = await store.audit.of_site(args.site, after, wanted)
        entries.extend(page)
        if len(page) < wanted:
            break
        after = page[-1].id
    return entries
