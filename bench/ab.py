"""Two livethread trees, side by side in one run: the post path's steps of bench/fanout.py.

    python -m bench.ab --before DIR [--after DIR] [--rounds 3] [--readers 5000]

DIR is a tree whose `server` package the server processes import (on PYTHONPATH), e.g. a
`git worktree add /tmp/before COMMIT`; without `--after`, this tree. Each round starts each
tree's servers afresh, as bench/fanout.py does (two processes on a private redis-server, one
SQLite file, the workers in process), the trees taking turns so that a noisy box weighs on both,
and measures:

- a post's trip to two readers (one on each process) at 20 posts/s for 10 s: p50 and p99, from
  the publisher's send to the frame at each reader;
- 1,000 threads x 5 readers at 200 posts/s for 10 s: the servers' CPU per delivery and p99;
- `--readers` (5,000) new readers of one thread (200 handshakes at a time): the servers' CPU per
  new reader and their memory (RSS, both processes); then, after 3 s of posts at 20/s, the
  reconnect storm: all of them closed and back at once with `since`, the time until the last is
  in and the servers' CPU per reconnect.

Prints one row per round and tree, then each tree's medians. Figures go to bench/RESULTS.md by
hand, with the command that measured them.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.fanout import LoadGen, Servers, log, measured, stream

SECONDS = 10.0
DRAIN = 10.0
THREADS, PER_THREAD, RATE = 1000, 5, 200.0


async def measure(source: Path | None, readers: int) -> dict[str, float]:
    """One tree's servers, started afresh: the trip, then the many small threads."""
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as tmp:
        env = {"PYTHONPATH": str(source)} if source is not None else {}
        servers = Servers("livethread", Path(tmp), env=env)
        lg = LoadGen(servers)
        try:
            await servers.start()
            await lg.start()
            # Warm-up (not measured): code paths, the bus's first subscriptions.
            await lg.call("connect", group="warm", threads=["warm"], count=20, concurrency=20)
            await lg.call("publish", streams=[stream("warm", "warm", 10.0)], seconds=2.0, drain=3.0)
            await lg.call("close", group="warm")

            await lg.call("connect", group="two", threads=["two"], count=2, concurrency=2)
            answer, _ = await measured(
                servers,
                lambda: lg.call(
                    "publish", streams=[stream("two", "two", 20.0)], seconds=SECONDS, drain=DRAIN
                ),
            )
            two = answer["streams"]["two"]
            await lg.call("close", group="two")

            threads = [f"t{i}" for i in range(THREADS)]
            await lg.call(
                "connect",
                group="many",
                threads=threads,
                per_thread=PER_THREAD,
                count=THREADS * PER_THREAD,
                concurrency=200,
            )
            many: dict[str, Any] = {"name": "many", "group": "many", "threads": threads}
            answer, usage = await measured(
                servers,
                lambda: lg.call(
                    "publish", streams=[many | {"rate": RATE}], seconds=SECONDS, drain=DRAIN
                ),
            )
            got = answer["streams"]["many"]
            await lg.call("close", group="many")
            return {
                "trip p50 (ms)": two["p50"],
                "trip p99 (ms)": two["p99"],
                "1,000 x 5: CPU per delivery (µs)": usage.per_delivery(got["received"]) or 0.0,
                "1,000 x 5: p99 (ms)": got["p99"],
                "1,000 x 5: lost": float(got["lost"]),
                **await storm(servers, lg, readers),
            }
        finally:
            await lg.stop()
            await servers.stop()


async def storm(servers: Servers, lg: LoadGen, readers: int) -> dict[str, float]:
    """`readers` new readers of one thread, then all of them reconnecting at once."""
    connect = {"group": "storm", "threads": ["storm"], "count": readers, "concurrency": 200}
    answer, usage = await measured(servers, lambda: lg.call("connect", **connect))
    failed = float(answer["failed"])
    per_reader = usage.server_cpu / readers * 1e6
    rss = servers.rss_kib() / 1024
    posts = {"name": "storm", "group": "storm", "threads": ["storm"], "rate": 20.0}
    await lg.call("publish", streams=[posts], seconds=3.0, drain=DRAIN)
    await lg.call("close", group="storm", keep=True)
    answer, usage = await measured(servers, lambda: lg.call("reconnect", group="storm"))
    await lg.call("close", group="storm")
    return {
        "CPU per new reader (µs)": per_reader,
        "storm: all back in (s)": answer["seconds"],
        "readers' RSS (MB)": rss,
        "storm: CPU per reconnect (µs)": usage.server_cpu / readers * 1e6,
        "new readers and storm: failed": failed + float(answer["failed"]),
    }


def table(rows: list[tuple[str, dict[str, float]]]) -> list[str]:
    names = list(rows[0][1])
    lines = ["| tree | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    lines += [
        f"| {label} | " + " | ".join(f"{v:,.2f}" for v in r.values()) + " |" for label, r in rows
    ]
    return lines


async def run(trees: dict[str, Path | None], rounds: int, readers: int) -> None:
    results: dict[str, list[dict[str, float]]] = {label: [] for label in trees}
    rows: list[tuple[str, dict[str, float]]] = []
    for n in range(rounds):
        for label, source in trees.items():
            log(f"round {n + 1}/{rounds}: {label}")
            figures = await measure(source, readers)
            results[label].append(figures)
            rows.append((f"{label}, round {n + 1}", figures))
    medians = [
        (f"{label}, median", {k: statistics.median(r[k] for r in runs) for k in runs[0]})
        for label, runs in results.items()
    ]
    print("\n".join(table(rows + medians)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ab",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--before", type=Path, required=True, help="the older tree")
    parser.add_argument("--after", type=Path, help="the newer tree (default: this one)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--readers", type=int, default=5000, help="readers of the storm step")
    args = parser.parse_args(argv)
    trees: dict[str, Path | None] = {
        f"before ({args.before})": args.before.resolve(),
        f"after ({args.after or 'this tree'})": args.after.resolve() if args.after else None,
    }
    asyncio.run(run(trees, args.rounds, args.readers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
