"""`livethread export --site S [--thread T] [-o FILE]`: a site's threads (or one) with every
comment, in livethread's export format (server/importing/livethread.py: versioned JSON), which
`livethread import livethread FILE --site S` reads back. It holds commenters' emails: keep it as
private as the database."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import msgspec

from server.cli.command import Commands, database, with_store
from server.importing.exporting import export
from server.settings import Settings
from server.storage import Storage
from server.validation import validate_ids


def register(commands: Commands) -> None:
    """Add `export` to the command line."""
    parser = commands.add_parser(
        "export",
        help="export a site's comments as JSON (livethread's own format)",
        description=__doc__,
    )
    parser.add_argument("--site", required=True)
    parser.add_argument("--thread", help="only this thread")
    parser.add_argument("-o", "--output", metavar="FILE", type=Path, help="default: stdout")
    database(parser)
    parser.set_defaults(handler=_export)


def _export(args: argparse.Namespace, settings: Settings) -> int:
    key = validate_ids(args.site, args.thread or "x")

    async def work(store: Storage) -> int:
        if await store.sites.get(key.site) is None:
            print(f"livethread: error: no site {key.site!r}", file=sys.stderr)
            return 2
        threads = [key.thread] if args.thread else await store.imports.site_threads(key.site)
        exported = await export(store.comments, key.site, threads)
        data = msgspec.json.format(msgspec.json.encode(exported))
        if args.output is None:
            sys.stdout.write(data.decode() + "\n")
        else:
            args.output.write_bytes(data + b"\n")
            count = sum(len(t.comments) for t in exported.threads)
            print(
                f"exported {len(threads)} threads, {count} comments of {key.site} to {args.output}"
            )
        return 0

    return with_store(settings, work)
