"""Committed posts through the HTTP API on each store, beside each other in one run.

    python -m bench.posting [--runs 3] [--posts 5000] [--clients 32] [--group-commit 32]
                            [--spread 100] [--stores sqlite,postgres] [--paced-rate 200]
                            [--paced-seconds 10]
                            [--snapshot-comments 10000] [--snapshot-starts 3] [--json PATH]

Two livethread processes on one private redis-server, sharing one SQLite file (WAL,
synchronous=FULL) or one database of a private PostgreSQL cluster (tests/support/postgres.py,
fsync and synchronous_commit on), every post to one thread but in the spread burst. Per run and
per store (stores alternate: sqlite, postgres, sqlite, postgres, ...; servers started afresh
each time):

- burst: the load generator's `posts` command (`--clients` keep-alive clients over both
  processes, each posting as fast as it is answered; 201 is sent after the commit): posts/s,
  answer time p50/p99, the servers' CPU per post and, for PostgreSQL, the cluster's own CPU
  (% of a core; not in the servers' column);
- spread: the same burst again, each post to the next of `--spread` threads (posts to different
  threads do not wait for each other's locks): posts/s and the servers' CPU per post;
- paced: `--paced-rate` posts/s for `--paced-seconds`, sent on a fixed schedule by this process
  whatever the answers do (open loop), each answer timed from its scheduled send, so a slow
  answer delays none of the next sends and queueing is counted: answer p50/p99.

Then bench/first_snapshot.py's figure: the first snapshot of a `--snapshot-comments` thread
from freshly started processes (0 skips it). `--group-commit` is LIVETHREAD_GROUP_COMMIT, each
value measured per run. Prints every measurement, a table of medians, and writes the medians to
`--json` (bench/posting.json, read by the capacity model). On a shared, noisy machine compare
stores within one invocation, not across invocations.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import shlex
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import first_snapshot
from bench.fanout import ROOT, LoadGen, Servers, log, measured, proc_cpu
from bench.loadgen import PAD, ApiPublisher
from tests.support.postgres import PostgresServer

PACED_THREAD = "paced"


def cluster_cpu(cluster: PostgresServer | None) -> float:
    """CPU seconds of the PostgreSQL cluster so far: the postmaster and its children (the
    backends, the WAL writer, the checkpointer...)."""
    if cluster is None:
        return 0.0
    try:
        postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    total = proc_cpu(postmaster)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rpartition(")")[2].split()[1]) == postmaster:
                total += proc_cpu(int(stat.parent.name))
    return total


async def paced(ports: Sequence[int], rate: float, seconds: float) -> dict[str, Any]:
    """`rate` posts/s for `seconds` on a fixed schedule (open loop); answer times in ms, each
    from its scheduled send."""
    publisher = ApiPublisher(ports)
    loop = asyncio.get_running_loop()
    count = max(1, round(rate * seconds))
    times: list[float] = []
    statuses: dict[int, int] = {}

    async def one(n: int, due: float) -> None:
        status, _ = await publisher.post(PACED_THREAD, f"paced {n} {PAD}")
        statuses[status] = statuses.get(status, 0) + 1
        if status == 201:
            times.append((loop.time() - due) * 1000)

    try:
        await publisher.post(PACED_THREAD, "warm-up")  # the thread exists, connections open
        sends: list[asyncio.Task[None]] = []
        begun = loop.time() + 0.05
        for n in range(count):
            due = begun + n / rate
            # The generator's own schedule (not a synchronisation): it sends at the fixed rate.
            await asyncio.sleep(max(0.0, due - loop.time()))
            sends.append(asyncio.create_task(one(n, due)))
        async with asyncio.timeout(120):
            await asyncio.gather(*sends)
    finally:
        await publisher.close()
    ordered = sorted(times)
    return {
        "ok": len(ordered),
        "statuses": statuses,
        "p50": ordered[len(ordered) // 2] if ordered else 0.0,
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0,
    }


async def once(
    value: int,
    posts: int,
    clients: int,
    spread: int,
    pace: tuple[float, float],
    database: str | None,
    cluster: PostgresServer | None,
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
            db0 = cluster_cpu(cluster)
            answer, usage = await measured(
                servers,
                lambda: lg.call(
                    "posts", thread="snap", count=posts, concurrency=clients, max_seconds=120.0
                ),
            )
            db_cpu = cluster_cpu(cluster) - db0
            await servers.settle()
            spread_answer, spread_usage = await measured(
                servers,
                lambda: lg.call(
                    "posts",
                    thread="spread",
                    threads=spread,
                    count=posts,
                    concurrency=clients,
                    max_seconds=120.0,
                ),
            )
            await servers.settle()
            steady = await paced(servers.ports, *pace) if pace[0] > 0 else None
        finally:
            await lg.stop()
            await servers.stop()
    ok = int(answer["ok"])
    if ok != posts:
        log(f"  only {ok} of {posts} posts committed: {answer['statuses']}")
    if steady is not None and steady["ok"] != round(pace[0] * pace[1]):
        log(f"  paced: only {steady['ok']} posts committed: {steady['statuses']}")
    return {
        "rate": float(answer["posts_per_s"]),
        "p50": float(answer["p50"] or 0.0),
        "p99": float(answer["p99"] or 0.0),
        "cpu_us": usage.server_cpu / ok * 1e6 if ok else 0.0,
        "spread_rate": float(spread_answer["posts_per_s"]),
        "spread_cpu_us": spread_usage.server_cpu / int(spread_answer["ok"]) * 1e6
        if spread_answer["ok"]
        else 0.0,
        "db_cpu": db_cpu / usage.wall * 100,
        "paced_p50": steady["p50"] if steady else 0.0,
        "paced_p99": steady["p99"] if steady else 0.0,
        "box": usage.box,
        "others": usage.others,
    }


def _median(rows: list[dict[str, float]], name: str) -> float:
    return statistics.median(r[name] for r in rows)


async def run(args: argparse.Namespace, values: Sequence[int], stores: Sequence[str]) -> int:
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    keys = [(store, value) for store in stores for value in values]
    results: dict[tuple[str, int], list[dict[str, float]]] = {k: [] for k in keys}
    snapshots: dict[str, list[float]] = {}
    pace = (args.paced_rate, args.paced_seconds)
    with contextlib.ExitStack() as stack:
        cluster = stack.enter_context(PostgresServer()) if "postgres" in stores else None
        for i in range(args.runs):
            for value in values:
                for store in stores:
                    pg = cluster if store == "postgres" else None
                    database = pg.database() if pg is not None else None
                    got = await once(
                        value, args.posts, args.clients, args.spread, pace, database, pg
                    )
                    results[(store, value)].append(got)
                    log(
                        f"run {i + 1}/{args.runs} {_label(store, value)}: {got['rate']:.0f} "
                        f"posts/s, p50 {got['p50']:.1f} ms, p99 {got['p99']:.1f} ms, "
                        f"{got['cpu_us']:.0f} µs CPU/post"
                        + (f", PostgreSQL {got['db_cpu']:.0f}% of a core" if pg else "")
                        + f"; over {args.spread} threads {got['spread_rate']:.0f} posts/s, "
                        f"{got['spread_cpu_us']:.0f} µs CPU/post"
                        + f"; paced {pace[0]:.0f}/s p50 {got['paced_p50']:.1f} ms, "
                        f"p99 {got['paced_p99']:.1f} ms; machine {got['box']:.0f}% busy, "
                        f"others {got['others']:.0f}% of a core"
                    )
        if args.snapshot_comments > 0:
            snapshots = await first_snapshot.measure(
                stores, args.snapshot_comments, args.snapshot_starts, cluster
            )
    first = _median(results[keys[0]], "rate")
    print()
    print(
        "| store | posts/s (median) | runs | answer p50 / p99 ms | µs CPU/post | database "
        f"% of a core | over {args.spread} threads: posts/s, µs CPU/post "
        f"| paced {pace[0]:.0f}/s p50 / p99 ms | first snapshot ms | ratio |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for key in keys:
        rows = results[key]
        rate = _median(rows, "rate")
        each = ", ".join(f"{r['rate']:.0f}" for r in rows)
        db = f"{_median(rows, 'db_cpu'):.0f}" if key[0] == "postgres" else "-"
        snap = snapshots.get(key[0])
        print(
            f"| {_label(*key)} | {rate:.0f} | {each} "
            f"| {_median(rows, 'p50'):.1f} / {_median(rows, 'p99'):.1f} "
            f"| {_median(rows, 'cpu_us'):.0f} | {db} "
            f"| {_median(rows, 'spread_rate'):.0f}, {_median(rows, 'spread_cpu_us'):.0f} "
            f"| {_median(rows, 'paced_p50'):.1f} / {_median(rows, 'paced_p99'):.1f} "
            f"| {statistics.median(snap) if snap else 0.0:.1f} | x{rate / first:.2f} |"
        )
    if args.json:
        write_json(Path(args.json), started, args.runs, values[0], args.spread, results, snapshots)
        log(f"medians written to {args.json}")
    return 0


def write_json(
    path: Path,
    started: str,
    runs: int,
    value: int,
    spread: int,
    results: dict[tuple[str, int], list[dict[str, float]]],
    snapshots: dict[str, list[float]],
) -> None:
    """The medians of the first --group-commit value, in the shape the capacity model reads."""
    stores: dict[str, dict[str, float]] = {}
    for (store, each), rows in results.items():
        if each != value:
            continue
        figures = {
            "posts_per_second": round(_median(rows, "rate"), 1),
            "answer_p99_ms": round(_median(rows, "p99"), 1),
            "server_cpu_us_per_post": round(_median(rows, "cpu_us"), 1),
            "spread_posts_per_second": round(_median(rows, "spread_rate"), 1),
            "spread_server_cpu_us_per_post": round(_median(rows, "spread_cpu_us"), 1),
            "spread_threads": spread,
            "paced_200_p99_ms": round(_median(rows, "paced_p99"), 1),
            "snapshot_10k_ms": round(statistics.median(snapshots[store]), 1)
            if snapshots.get(store)
            else 0.0,
        }
        if store == "postgres":
            figures["database_cpu_percent"] = round(_median(rows, "db_cpu"), 1)
        stores[store] = figures
    command = shlex.join(["python", "-m", "bench.posting", *sys.argv[1:]])
    document = {"command": command, "started": started, "runs": runs, "stores": stores}
    path.write_text(json.dumps(document, indent=2) + "\n")


def _label(store: str, value: int) -> str:
    name = "SQLite" if store == "sqlite" else "PostgreSQL"
    return f"{name}, LIVETHREAD_GROUP_COMMIT={value}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.posting",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runs", type=int, default=3, help="repetitions of each measurement")
    parser.add_argument("--posts", type=int, default=5000, help="posts per burst")
    parser.add_argument("--clients", type=int, default=32, help="concurrent posting clients")
    parser.add_argument(
        "--group-commit",
        default="32",
        help="comma-separated LIVETHREAD_GROUP_COMMIT values (the JSON holds the first's)",
    )
    parser.add_argument(
        "--stores",
        default="sqlite,postgres",
        help="comma-separated: sqlite, postgres (the first is the ratio's baseline)",
    )
    parser.add_argument(
        "--spread", type=int, default=100, help="threads the second burst's posts go to"
    )
    parser.add_argument("--paced-rate", type=float, default=200.0, help="paced posts/s (0: none)")
    parser.add_argument("--paced-seconds", type=float, default=10.0, help="paced duration, s")
    parser.add_argument(
        "--snapshot-comments", type=int, default=10_000, help="the long thread (0: no snapshot)"
    )
    parser.add_argument("--snapshot-starts", type=int, default=3, help="fresh starts per store")
    parser.add_argument(
        "--json",
        default=str(ROOT / "bench" / "posting.json"),
        help="where the medians go ('' for nowhere)",
    )
    args = parser.parse_args(argv)
    values = [int(v) for v in args.group_commit.split(",") if v]
    if not values or min(values) < 1:
        parser.error("--group-commit: one or more values of at least 1")
    stores = [s for s in args.stores.split(",") if s]
    if not stores or set(stores) - {"sqlite", "postgres"}:
        parser.error("--stores: sqlite, postgres or both")
    if (
        args.runs < 1
        or args.posts < 1
        or args.spread < 1
        or args.paced_rate < 0
        or args.snapshot_starts < 1
    ):
        parser.error(
            "--runs, --posts, --spread and --snapshot-starts at least 1, --paced-rate at least 0"
        )
    return asyncio.run(run(args, values, stores))


if __name__ == "__main__":
    sys.exit(main())
