"""Committed posts/s through the HTTP API, alone: fanout's posting scenario, repeated and compared.

    python -m bench.posting [--runs 3] [--posts 5000] [--clients 32] [--group-commit 1,32]

The same measurement as bench/fanout.py's "committed posts/s through the HTTP API" figure: two
livethread processes on one private redis-server, sharing one SQLite file (WAL,
synchronous=FULL), and the load generator's `posts` command (`--clients` keep-alive clients over
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
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.fanout import LoadGen, Servers, log, measured


async def once(value: int, posts: int, clients: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="livethread-posting-") as tmp:
        servers = Servers("livethread", Path(tmp), env={"LIVETHREAD_GROUP_COMMIT": str(value)})
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


async def run(values: Sequence[int], runs: int, posts: int, clients: int) -> int:
    results: dict[int, list[dict[str, float]]] = {v: [] for v in values}
    for i in range(runs):
        for value in values:
            got = await once(value, posts, clients)
            results[value].append(got)
            log(
                f"run {i + 1}/{runs} group_commit={value}: {got['rate']:.0f} posts/s, "
                f"p99 {got['p99']:.1f} ms, {got['cpu_us']:.0f} µs CPU/post, "
                f"machine {got['box']:.0f}% busy, others {got['others']:.0f}% of a core"
            )
    first = statistics.median(r["rate"] for r in results[values[0]])
    print()
    print("| LIVETHREAD_GROUP_COMMIT | posts/s (median) | runs | p99 ms | µs CPU/post | ratio |")
    print("|---:|---:|---|---:|---:|---:|")
    for value in values:
        rows = results[value]
        rate = statistics.median(r["rate"] for r in rows)
        each = ", ".join(f"{r['rate']:.0f}" for r in rows)
        print(
            f"| {value} | {rate:.0f} | {each} "
            f"| {statistics.median(r['p99'] for r in rows):.1f} "
            f"| {statistics.median(r['cpu_us'] for r in rows):.0f} | x{rate / first:.2f} |"
        )
    return 0


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
    args = parser.parse_args(argv)
    values = [int(v) for v in args.group_commit.split(",") if v]
    if not values or min(values) < 1:
        parser.error("--group-commit: one or more values of at least 1")
    return asyncio.run(run(values, args.runs, args.posts, args.clients))


if __name__ == "__main__":
    sys.exit(main())
