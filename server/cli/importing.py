"""`livethread import FORMAT FILE --site S [--map FILE] [--dry-run]`: bring a site's comments in
from Disqus (its XML export), WordPress (WXR), Isso (its SQLite database), Remark42 (its
backup) or livethread (`livethread export`).

The whole file is read first: a malformed or hostile one (XML declaring entities) writes nothing
and exits 2. Then each thread is written in one transaction, its comments with their events, so
open pages and replays see them; workers pass over them (no mail, webhook or classifier for
years-old comments). Running it again adds nothing: source ids are remembered. A source thread
goes to the thread its `--map` entry names (by the source's thread id or URL), else to our own
id (a livethread export), else to the last segment of its URL's path (`https://news.example/
2024/05/nato-visit/` -> `nato-visit`), else to the source's thread id. Progress is a bar on a
terminal; the summary names what was skipped and why. Each run (not `--dry-run`) is recorded in
the store with its progress, at most once a second, and its summary, for the site's admin page
(/admin, Imports). Exit 0; 1 if a thread could not be written (rolled back, named); 2 for bad
input or an unknown site.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from server import channels
from server.bus import Bus
from server.cli.command import Commands, database, with_store
from server.cli.copy import BAR_WIDTH
from server.composition import bus_for, read_isso
from server.importing.ports import FORMATS, BadInput, Format, Source
from server.model import ThreadKey
from server.settings import Settings
from server.storage import Storage
from server.validation import validate_ids

if TYPE_CHECKING:
    from server.importing.writing import Announce, Summary

# Seconds to wait for the bus to connect before importing without it.
BUS_WAIT = 5.0
# At most this many skipped records are listed one by one; the rest are counted by reason.
LISTED = 20


def register(commands: Commands) -> None:
    """Add `import` to the command line."""
    parser = commands.add_parser(
        "import",
        help="import comments from Disqus, WordPress, Isso, Remark42 or a livethread export",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("format", choices=FORMATS, metavar="FORMAT", help=", ".join(FORMATS))
    parser.add_argument("file", metavar="FILE", type=Path, help="the export (Isso: its database)")
    parser.add_argument("--site", required=True, help="the site the comments go into")
    parser.add_argument(
        "--map",
        metavar="FILE",
        type=Path,
        help="CSV `source,thread` lines or a JSON object: source thread id or URL -> thread id",
    )
    parser.add_argument("--dry-run", action="store_true", help="read and report; write nothing")
    database(parser)
    parser.set_defaults(handler=_import)


class Bar:
    """The import's progress: a bar redrawn in place on a terminal, nothing otherwise (the
    summary follows either way)."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._live = out.isatty()
        self._drawn = False

    def progress(self, thread: str, done: int, total: int) -> None:
        if not self._live:
            return
        filled = BAR_WIDTH if total == 0 else BAR_WIDTH * done // total
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self._out.write(f"\r[{bar}] {done}/{total} comments  {thread[:40]:<40}")
        self._out.flush()
        self._drawn = True

    def finish(self) -> None:
        if self._drawn:
            self._out.write("\n")
            self._out.flush()


def _fail(message: str) -> int:
    print(f"livethread: error: {message}", file=sys.stderr)
    return 2


def _import(args: argparse.Namespace, settings: Settings) -> int:
    # The readers and the writing (with the XML library under them) load when an import runs:
    # every `livethread` process imports this module, `serve` among them.
    from server.importing import formats
    from server.importing.naming import read_map
    from server.importing.runs import RunRecorder, finish_run, totals
    from server.importing.writing import Writer, plan

    site = validate_ids(args.site, "x").site
    fmt: Format = args.format
    try:
        mapping = read_map(args.map) if args.map is not None else {}
        source = formats.read(fmt, args.file, read_isso)
    except BadInput as exc:
        return _fail(str(exc))

    async def work(store: Storage) -> int:
        if await store.sites.get(site) is None:
            return _fail(f"no site {site!r}: add it first with `livethread site add`")
        planned, summary = plan(source, site, mapping)
        bar = Bar(sys.stderr)
        bus = await _bus(settings) if not args.dry_run else None
        writer = Writer(store.threads, store.comments, store.imports)
        if bus is not None:
            writer.announce = _announcer(bus)
        run = None if args.dry_run else RunRecorder(store.import_runs)
        if run is not None:
            await run.start(site, fmt, args.file.name, *totals(planned))
            writer.done = run.thread_done
        try:
            await writer.write(source, planned, summary, bar.progress, dry=args.dry_run)
        except BaseException as exc:
            if run is not None:
                # The store may be what failed: the import's own error is the one to see.
                with contextlib.suppress(Exception):
                    await finish_run(run, planned, summary, error=str(exc) or repr(exc))
            raise
        finally:
            if bus is not None:
                await bus.close()
        if run is not None:
            await finish_run(run, planned, summary)
        bar.finish()
        report(source, site, summary, dry=args.dry_run)
        return 1 if summary.failed else 0

    return with_store(settings, work)


async def _bus(settings: Settings) -> Bus | None:
    """The deployment's bus (Redis when configured: the servers' pages and workers hear of the
    import at once); None if it does not answer soon, and the log alone tells them."""
    bus = bus_for(settings)
    try:
        async with asyncio.timeout(BUS_WAIT):
            await bus.start()
    except Exception as exc:
        message = f"livethread: the bus did not answer ({exc!r}); pages see the import on reload"
        print(message, file=sys.stderr)
        return None
    return bus


def _announcer(bus: Bus) -> Announce:
    async def announce(key: ThreadKey, payloads: list[bytes]) -> None:
        messages = [(channels.thread(key), p) for p in payloads]
        # Committed either way: a page or worker that misses this finds it in the log.
        await bus.publish_all([*messages, (channels.LOG, b"")])

    return announce


def report(source: Source, site: str, summary: Summary, *, dry: bool) -> None:
    """The summary: threads and comments written, already there, skipped (with reasons)."""
    verb = "would import" if dry else "imported"
    threads = sum(1 for n in summary.threads.values() if n)
    print(
        f"{'dry run: ' if dry else ''}{verb} {summary.written} comments into {threads} threads "
        f"of {site} from {source.format} ({len(summary.threads)} threads in the file, "
        f"{summary.already} comments already imported, {len(summary.skipped)} skipped)"
    )
    for skipped in summary.skipped[:LISTED]:
        print(f"  skipped {skipped.id}: {skipped.reason}")
    if len(summary.skipped) > LISTED:
        print(f"  … and {len(summary.skipped) - LISTED} more skipped")
    for thread, why in summary.failed.items():
        print(
            f"livethread: error: thread {thread} not written (rolled back): {why}", file=sys.stderr
        )
