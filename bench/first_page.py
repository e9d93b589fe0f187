"""The first page of a long thread against its whole snapshot: server time and bytes.

    python -m bench.first_page [--comments 10000] [--repeats 20]

A thread of `--comments` comments (bench/first_snapshot.py's `seed`: one top-level comment in
five, four replies under each) in a SQLite file, read through the server's own `Snapshots`
(no HTTP: the time is the server's). Cold: a new `Snapshots`, so the thread is read and encoded
first; warm: the per-seq cache already holds it. Each answer as the widget asks for it (gzip);
the median of `--repeats` runs, in ms, and the answer's size, JSON and gzipped.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bench.first_snapshot import THREAD, seed
from bench.loadgen import SITE
from server.composition import store_for
from server.model import PageOrder, ThreadKey
from server.settings import Settings
from server.storage import Storage
from server.threads import pages
from server.threads.snapshots import Snapshots

LIMIT = pages.DEFAULT_LIMIT


async def _whole(snapshots: Snapshots) -> tuple[int, int]:
    entry = await snapshots.get(ThreadKey(SITE, THREAD))
    return len(entry.body), len(await snapshots.gzipped(entry))


async def _page(snapshots: Snapshots, order: PageOrder) -> tuple[int, int]:
    answer = await snapshots.page(ThreadKey(SITE, THREAD), order, LIMIT)
    return len(await pages.encoded(answer, False)), len(await pages.encoded(answer, True))


async def _timed(
    store: Storage, repeats: int, cold: bool, ask: Callable[[Snapshots], Awaitable[tuple[int, int]]]
) -> tuple[float, tuple[int, int]]:
    warm = Snapshots(store.threads, store.comments, edit_window=900, reactions=store.reactions)
    await ask(warm)
    times: list[float] = []
    sizes = (0, 0)
    for _ in range(repeats):
        snapshots = warm
        if cold:
            snapshots = Snapshots(
                store.threads, store.comments, edit_window=900, reactions=store.reactions
            )
        begun = time.perf_counter()
        sizes = await ask(snapshots)
        times.append((time.perf_counter() - begun) * 1000)
    return statistics.median(times), sizes


async def run(comments: int, repeats: int) -> int:
    with tempfile.TemporaryDirectory(prefix="livethread-pages-") as tmp:
        database = f"sqlite:///{Path(tmp) / 'long.db'}"
        await seed(database, comments)
        store = store_for(Settings(database=database))
        await store.open()
        try:
            rows = [
                ("whole snapshot, cold", await _timed(store, repeats, True, _whole)),
                ("whole snapshot, warm", await _timed(store, repeats, False, _whole)),
                ("first page (oldest), cold", await _timed(store, repeats, True, _oldest)),
                ("first page (oldest), warm", await _timed(store, repeats, False, _oldest)),
                ("first page (best), warm", await _timed(store, repeats, False, _best)),
            ]
        finally:
            await store.close()
    print()
    print(f"| {comments:,} comments, pages of {LIMIT} | ms (median) | JSON bytes | gzip bytes |")
    print("|---|---:|---:|---:|")
    for name, (ms, (plain, zipped)) in rows:
        print(f"| {name} | {ms:.1f} | {plain:,} | {zipped:,} |")
    return 0


async def _oldest(snapshots: Snapshots) -> tuple[int, int]:
    return await _page(snapshots, "oldest")


async def _best(snapshots: Snapshots) -> tuple[int, int]:
    return await _page(snapshots, "best")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.first_page",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--comments", type=int, default=10_000, help="comments in the thread")
    parser.add_argument("--repeats", type=int, default=20, help="runs of each, the median kept")
    args = parser.parse_args(argv)
    if args.comments < 1 or args.repeats < 1:
        parser.error("--comments and --repeats: at least 1")
    return asyncio.run(run(args.comments, args.repeats))


if __name__ == "__main__":
    sys.exit(main())
