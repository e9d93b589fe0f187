"""The first snapshot of a long thread, from a server process that has not built it yet.

    python -m bench.first_snapshot [--comments 10000] [--starts 3] [--stores sqlite,postgres]

A thread of `--comments` comments is written straight through the store (one transaction per
500 comments, each comment with its `comment.created` event, as a post writes them), then the
servers (bench/fanout.py's `Servers`: two livethread processes) are started afresh `--starts`
times; each time every process is asked once for the thread's snapshot the way the widget asks
(`GET /api/v1/threads?site=…&thread=…`, `Accept-Encoding: gzip`), so its snapshot cache is cold
and the time is the first reader's: the store's read, the encoding, the gzip. Time to the last
byte, in ms; the median of all of them is the figure (bench/posting.py puts it in its table and
in bench/posting.json). Starts alternate between the stores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from bench.fanout import Servers, log
from bench.loadgen import PAD, SITE
from server.model import CommentRecord, ThreadKey
from server.settings import Settings
from tests.support.postgres import PostgresServer
from tests.support.seeding import write

THREAD = "long"
TIMEOUT = 60.0


async def seed(database: str, comments: int) -> None:
    """`comments` visible comments and their events in the thread `THREAD` of the site."""
    records = [
        CommentRecord(
            id=f"seed{n:06d}",
            site=SITE,
            thread=THREAD,
            parent=None if n % 5 == 0 else f"seed{n - n % 5:06d}",
            author_name=f"Reader {n % 97}",
            body_source=f"comment {n} {PAD}",
            body_html=f"<p>comment {n} {PAD}</p>",
            created_at=1_700_000_000.0 + n,
        )
        for n in range(comments)
    ]
    await write(Settings(database=database), ThreadKey(SITE, THREAD), records)


async def cold(database: str, workdir: Path, comments: int) -> list[float]:
    """Start the servers afresh on `database`; each process's first snapshot time, in ms."""
    servers = Servers("livethread", workdir, database=database)
    times: list[float] = []
    try:
        await servers.start()
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            for port in servers.ports:
                begun = time.monotonic()
                answer = await http.get(
                    f"http://127.0.0.1:{port}/api/v1/threads",
                    params={"site": SITE, "thread": THREAD},
                    headers={"Accept-Encoding": "gzip"},
                )
                took = (time.monotonic() - begun) * 1000
                if answer.status_code != 200 or answer.json()["count"] != comments:
                    raise RuntimeError(
                        f"snapshot answered {answer.status_code}: {answer.text[:200]}"
                    )
                times.append(took)
    finally:
        await servers.stop()
    return times


async def measure(
    stores: Sequence[str], comments: int, starts: int, cluster: PostgresServer | None
) -> dict[str, list[float]]:
    """Each store's first-snapshot times (ms), `starts` fresh starts of two processes each."""
    results: dict[str, list[float]] = {store: [] for store in stores}
    with tempfile.TemporaryDirectory(prefix="livethread-snapshot-") as tmp:
        databases: dict[str, str] = {}
        for store in stores:
            if store == "postgres":
                assert cluster is not None
                databases[store] = cluster.database()
            else:
                databases[store] = f"sqlite:///{Path(tmp) / 'long.db'}"
            begun = time.monotonic()
            await seed(databases[store], comments)
            log(f"{store}: {comments} comments seeded in {time.monotonic() - begun:.1f} s")
        for i in range(starts):
            for store in stores:
                with tempfile.TemporaryDirectory(prefix="livethread-snapshot-run-") as run:
                    got = await cold(databases[store], Path(run), comments)
                results[store].extend(got)
                shown = ", ".join(f"{t:.1f}" for t in got)
                log(f"start {i + 1}/{starts} {store}: first snapshot {shown} ms")
    return results


async def run(stores: Sequence[str], comments: int, starts: int) -> int:
    with contextlib.ExitStack() as stack:
        cluster = stack.enter_context(PostgresServer()) if "postgres" in stores else None
        results = await measure(stores, comments, starts, cluster)
    print()
    print(f"| store | first snapshot of {comments:,} comments, ms (median) | each |")
    print("|---|---:|---|")
    for store, times in results.items():
        each = ", ".join(f"{t:.1f}" for t in times)
        print(f"| {store} | {statistics.median(times):.1f} | {each} |")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.first_snapshot",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--comments", type=int, default=10_000, help="comments in the thread")
    parser.add_argument("--starts", type=int, default=3, help="fresh starts per store")
    parser.add_argument("--stores", default="sqlite,postgres", help="sqlite, postgres or both")
    args = parser.parse_args(argv)
    stores = [s for s in args.stores.split(",") if s]
    if not stores or set(stores) - {"sqlite", "postgres"}:
        parser.error("--stores: sqlite, postgres or both")
    if args.comments < 1 or args.starts < 1:
        parser.error("--comments and --starts: at least 1")
    return asyncio.run(run(stores, args.comments, args.starts))


if __name__ == "__main__":
    sys.exit(main())
