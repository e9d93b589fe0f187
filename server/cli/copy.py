"""`livethread copy SOURCE_URL TARGET_URL`: copy a whole deployment to another store.

SQLite to PostgreSQL and back (`memory:` too, for tests). Both stores are opened, so migrated,
first; a SQLite source must exist, a SQLite target is made if it does not. Every table is copied
in batches (`--batch`), with a progress bar on a terminal (one line per table otherwise);
threads keep their seq and events their position and bytes, so open widgets resume on the
target without a resync, and the workers' cursors and webhook deliveries go on where they were.
A row the target already has is left as it is: running the copy again doubles nothing. The
imports' memory of source ids is copied too, so the same import into the copy adds nothing, and
the import runs the admin page lists.

At the end both stores are read whole and compared (server/archive/copying.py): per table its
row count and SHA-256, per thread its seq and comment and event counts, and the event log's
checksum. Exit 0 if they match; 1 naming what differs; 2 for a bad URL or a store that will not
open. Stop the deployment's servers and workers first: a copy of a store being written to would
differ from it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from server.cli.command import Commands, redacted
from server.composition import archive_for, store_for
from server.settings import Settings
from server.storage import Storage, StoreError

if TYPE_CHECKING:
    from server.archive.ports import Table

BAR_WIDTH = 30


def register(commands: Commands) -> None:
    """Add `copy` to the command line."""
    parser = commands.add_parser(
        "copy",
        help="copy a whole deployment to another store, and check the copy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", metavar="SOURCE_URL", help="sqlite:///PATH or postgresql://…")
    parser.add_argument("target", metavar="TARGET_URL", help="sqlite:///PATH or postgresql://…")
    parser.add_argument(
        "--batch", type=_positive, default=500, help="rows read and written at a time (500)"
    )
    parser.set_defaults(handler=_copy)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of 1 or more, not {text!r}")
    return value


def _problem(url: str, *, source: bool) -> str | None:
    """Why `url` cannot be this side of a copy; None if it can."""
    if url == "memory:" or url.startswith(("postgresql://", "postgres://")):
        return None
    if not url.startswith("sqlite:///") or url == "sqlite:///":
        return f"{url!r} is not a database URL (sqlite:///PATH, postgresql://…, memory:)"
    path = Path(url.removeprefix("sqlite:///"))
    if source and not path.exists():
        return f"no SQLite database at {path}"
    if not path.absolute().parent.is_dir():
        return f"no folder {path.absolute().parent} for the SQLite database"
    return None


def _fail(message: str) -> int:
    print(f"livethread: error: {message}", file=sys.stderr)
    return 2


def _copy(args: argparse.Namespace, settings: Settings) -> int:
    for name, url, source in (
        ("SOURCE_URL", args.source, True),
        ("TARGET_URL", args.target, False),
    ):
        problem = _problem(url, source=source)
        if problem is not None:
            return _fail(f"{name}: {problem}")
    if args.source == args.target and args.source != "memory:":
        return _fail("SOURCE_URL and TARGET_URL are the same database")
    return asyncio.run(_run(args, settings))


async def _open(name: str, url: str, settings: Settings) -> Storage | None:
    store = store_for(settings.replace(database=url))
    try:
        await store.open()
    except StoreError as exc:
        _fail(f"{name}: cannot open {redacted(url)}: {exc}")
        return None
    return store


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    source = await _open("SOURCE_URL", args.source, settings)
    if source is None:
        return 2
    try:
        target = await _open("TARGET_URL", args.target, settings)
        if target is None:
            return 2
        try:
            return await _copy_between(source, target, args.batch)
        finally:
            await target.close()
    finally:
        await source.close()


async def _copy_between(source: Storage, target: Storage, batch: int) -> int:
    # Loaded by the copy alone, not by every process that parses the command line.
    from server.archive import copying

    report = Report(sys.stderr)
    mine, theirs = archive_for(source), archive_for(target)
    written = await copying.copy(mine, theirs, batch=batch, progress=report.progress)
    report.finish()
    before, after = (
        await copying.summarise(mine, batch=batch),
        await copying.summarise(theirs, batch=batch),
    )
    total = sum(summary.rows for summary in before.tables.values())
    differences = copying.differences(before, after)
    if differences:
        print("livethread: error: the copy differs from the source:", file=sys.stderr)
        for line in differences:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(
        f"copied {total} rows ({sum(written.values())} new) in {len(before.tables)} tables; "
        f"verified: {len(before.threads)} threads, event log SHA-256 {before.log_sha256}"
    )
    return 0


class Report:
    """The copy's progress: a bar redrawn in place on a terminal, else a line per table."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._live = out.isatty()
        self._table: Table | None = None
        self._line = ""

    def progress(self, table: Table, done: int, total: int) -> None:
        if self._table is not None and table is not self._table:
            self._end_table()
        self._table = table
        filled = BAR_WIDTH if total == 0 else BAR_WIDTH * done // total
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self._line = f"{table.name:<20} [{bar}] {done}/{total} rows"
        if self._live:
            self._out.write(f"\r{self._line}")
            self._out.flush()

    def _end_table(self) -> None:
        self._out.write("\n" if self._live else f"{self._line}\n")
        self._out.flush()

    def finish(self) -> None:
        if self._table is not None:
            self._end_table()
            self._table = None
