"""`livethread backup PATH`: a consistent copy of the running SQLite database, safe while serving.

SQLite's online backup API copies the file from one read snapshot (server/adapters/
sqlite_backup.py), so servers and workers go on writing meanwhile and the copy holds every
change committed before it began. PostgreSQL is refused: its own tools do this better (pg_dump
for a logical copy, pg_basebackup with WAL archiving for point-in-time recovery).
"""

from __future__ import annotations

import argparse
import sys

from server.cli.command import Commands, database, redacted
from server.composition import backup_sqlite
from server.settings import PREFIX, Settings


def register(commands: Commands) -> None:
    """Add `backup` to the command line."""
    parser = commands.add_parser(
        "backup",
        help="copy the running SQLite database to PATH (consistent, safe while serving)",
    )
    parser.add_argument("path", metavar="PATH", help="the copy's file (replaced if it exists)")
    database(parser)
    parser.set_defaults(handler=_backup)


def _backup(args: argparse.Namespace, settings: Settings) -> int:
    url = settings.database
    if url.startswith(("postgresql://", "postgres://")):
        print(
            f"livethread: error: {redacted(url)} is PostgreSQL: `livethread backup` copies a "
            "SQLite file. Use PostgreSQL's own tools: pg_dump (a logical copy) or pg_basebackup "
            "with WAL archiving (point-in-time recovery).",
            file=sys.stderr,
        )
        return 2
    if not url.startswith("sqlite:///"):
        print(
            f"livethread: error: {url} keeps nothing to back up; name the SQLite database with "
            f"--database sqlite:///PATH or {PREFIX}DATABASE",
            file=sys.stderr,
        )
        return 2
    # A StoreError (no such file, a failed copy) is reported by main, with exit 2.
    pages, size = backup_sqlite(settings, args.path, _progress if sys.stderr.isatty() else None)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(f"backed up {url.removeprefix('sqlite:///')} to {args.path}: {pages} pages, {size} bytes")
    return 0


def _progress(done: int, total: int) -> None:
    print(f"\rcopying pages: {done}/{total}", end="", file=sys.stderr, flush=True)
