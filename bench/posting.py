"""Committed posts/s through the HTTP API, alone: fanout's posting scenario, repeated and compared.

    python -m bench.posting [--runs 3] [--posts 5000] [--clients 32] [--group-commit 1,32]
                            [--stores sqlite,postgres]

The same measurement as bench/fanout.py's "committed posts/s through the HTTP API" figure: two
livethread processes on one private redis-server, sharing one SQLite file (WAL,
synchronous=FULL) or one database of a private PostgreSQL cluster (tests/support/postgres.py,
fsync and synchronous_commit on; its own CPU is not in the server CPU column), and the load
generator's `posts` command (`--clients` keep-alive clients over
both processes, each posting to one thread as fast as it is answered; 201 is sent after the
commit). Each `--group-commit` value (LIVETHREAD_GROUP_COMMIT) is measured once per run, the
values interleaved (for run: for value: ...), servers started afresh each time; it prints every
measurement, then per value the median posts/s, answer-time p99 and server CPU per post, and
the ratio of the medians to the first value's. On a shared, noisy machine compare values within
one invocation, not across invocations.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.fanout import LoadGen, Servers, log, measured
from tests.support.postgres import PostgresServer


async def once(
    value: int, posts: int, clients: int, database: str | None = None
) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="livethread-posting-") as tmp:
        servers = Servers(
            "livethread",
            Path(tmp),
            env={"LIVETHREAD_GROUP_COMMIT": str(value)},
            database=database,
        )
        lg = LoadGen(servers)
        try:
            await servers.start()
            await lg.start()
            answer, usage = await measured(
                servers,
                lambda: lg.call(
                    "posts", thread="snap", count=posts, concurrency=clients, max_seconds=120.0
                ),
            )
        finally:
            await lg.stop()
            await servers.stop()
    ok = int(answer["ok"])
    if ok != posts:
        log(f"  only {ok} of {posts} posts committed: {answer['statuses']}")
    return {
        "rate": float(answer["posts_per_s"]),
        "p99": float(answer["p99"] or 0.0),
        "cpu_us": usage.server_cpu / ok * 1e6 if ok else 0.0,
        "box": usage.box,
        "others": usage.others,
    }


async def run(
    values: Sequence[int], stores: Sequence[str], runs: int, posts: int, clients: int
) -> int:
    # PostgreSQL's group commit is its own: LIVETHREAD_GROUP_COMMIT is SQLite's, so PostgreSQL
    # is measured once per run, beside SQLite's values.
    keys = [(store, value) for store in stores for value in (values if store == "sqlite" else [0])]
    results: dict[tuple[str, int], list[dict[str, float]]] = {k: [] for k in keys}
    with contextlib.ExitStack() as stack:
        cluster = stack.enter_context(PostgresServer()) if "postgres" in stores else None
        for i in range(runs):
            for store, value in keys:
                database = None if cluster is None or store == "sqlite" else cluster.database()
                got = await once(max(value, 1), posts, clients, database)
                results[(store, value)].append(got)
                log(
                    f"run {i + 1}/{runs} {_label(store, value)}: {got['rate']:.0f} posts/s, "
                    f"p99 {got['p99']:.1f} ms, {got['cpu_us']:.0f} µs CPU/post, "
                    f"machine {got['box']:.0f}% busy, others {got['others']:.0f}% of a core"
                )
    first = statistics.median(r["rate"] for r in results[keys[0]])
    print()
    print("| store | posts/s (median) | runs | p99 ms | µs CPU/post | ratio |")
    print("|---|---:|---|---:|---:|---:|")
    for key in keys:
        rows = results[key]
        rate = statistics.median(r["rate"] for r in rows)
        each = ", ".join(f"{r['rate']:.0f}" for r in rows)
        print(
            f"| {_label(*key)} | {rate:.0f} | {each} "
            f"| {statistics.median(r['p99'] for r in rows):.1f} "
            f"| {statistics.median(r['cpu_us'] for r in rows):.0f} | x{rate / first:.2f} |"
        )
    return 0


def _label(store: str, value: int) -> str:
    return f"SQLite, LIVETHREAD_GROUP_COMMIT={value}" if store == "sqlite" else "PostgreSQL"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.posting",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runs", type=int, default=3, help="repetitions of each value")
    parser.add_argument("--posts", type=int, default=5000, help="posts per measurement")
    parser.add_argument("--clients", type=int, default=32, help="concurrent posting clients")
    parser.add_argument(
        "--group-commit",
        default="1,32",
        help="comma-separated LIVETHREAD_GROUP_COMMIT values; the first is the baseline",
    )
    parser.add_argument(
        "--stores",
        default="sqlite",
        help="comma-separated: sqlite, postgres (the first is the baseline)",
    )
    args = parser.parse_args(argv)
    values = [int(v) for v in args.group_commit.split(",") if v]
    if not values or min(values) < 1:
        parser.error("--group-commit: one or more values of at least 1")
    stores = [s for s in args.stores.split(",") if s]
    if not stores or set(stores) - {"sqlite", "postgres"}:
        parser.error("--stores: sqlite, postgres or both")
    return asyncio.run(run(values, stores, args.runs, args.posts, args.clients))


if __name__ == "__main__":
    sys.exit(main())
