"""A capacity model printed from the measured figures: deploy/CAPACITY.md.

    python -m bench.capacity [--fanout bench/results.json] [--posting bench/posting.json]
                             [--out deploy/CAPACITY.md] [--hot-share 0.1] [--hot-posts 20]
                             [--small-readers 5] [--host-cores 8] [--host-memory-gb 16]

For 10 k, 100 k and 1 M concurrent readers at 1 k posts/s: server processes, hosts, Redis
shards, PostgreSQL, memory per host, the reconnect storm after a deploy and the first
bottleneck, each number traced to a measured row of bench/results.json (`python -m
bench.fanout`; medians over its runs, as its report takes them) or bench/posting.json (`python
-m bench.posting`; without it, PostgreSQL's rows are left out and the document says so).
`render` is a pure function of the files' bytes and the shape (no clock), so the document is
reproducible and tests/test_capacity.py holds it to the figures. A file that lacks a figure
exits 2, naming the file and the metric.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

import msgspec

from bench.capacity_model import (
    ENVELOPE_BYTES,
    InputError,
    Row,
    Shape,
    Size,
    costs,
    num,
    size,
)

ROOT = Path(__file__).resolve().parent.parent


class Environment(msgspec.Struct):
    revision: str = ""
    machine: str = ""


class Plan(msgspec.Struct):
    five: int
    per_thread: int
    many_rate: float


class ServerRun(msgspec.Struct):
    metrics: dict[str, float | None]


class FanoutFile(msgspec.Struct):
    started: str
    environment: Environment
    plan: Plan
    runs: list[dict[str, ServerRun]]


class StoreFigures(msgspec.Struct):
    posts_per_second: float
    answer_p99_ms: float
    server_cpu_us_per_post: float
    paced_200_p99_ms: float
    snapshot_10k_ms: float
    database_cpu_percent: float | None = None
    spread_posts_per_second: float | None = None
    spread_server_cpu_us_per_post: float | None = None


class PostingFile(msgspec.Struct):
    command: str
    started: str
    runs: int
    stores: dict[str, StoreFigures]


FANOUT_ROWS = (
    ("one.cpu_us", "server CPU µs per delivery, 1,000 readers on one thread at 20 posts/s"),
    ("one.irq", "meanwhile, kernel softirq (loopback TCP, billed to no process), % of a core"),
    ("one.dps", "meanwhile, deliveries/s"),
    ("many.cpu_us", "server CPU µs per delivery, 1,000 threads x 5 readers at 200 posts/s"),
    ("many.dps", "meanwhile, deliveries/s"),
    ("ladder.max", "max sustained deliveries/s, both processes (p99 ≤ 1 s, ≤ 1% lost)"),
    ("idle_mb", "RSS added per 1,000 idle readers (MB)"),
    ("cap.mb", "whole RSS per 1,000 readers, 20,000 held (MB)"),
    ("cap.connected", "readers held at once in that step"),
    ("storm.s", "reconnect storm, 5,000 readers at once: all back after (s)"),
    ("storm.cpu_us", "reconnect storm: server CPU µs per reconnect"),
    ("posts.rate", "committed posts/s through the HTTP API (SQLite, durable)"),
    ("snap.kb", "the readers' snapshot of the posting step's thread (KB)"),
    ("snap.comments", "comments in that snapshot"),
)
POSTING_ROWS = (
    ("sqlite", "server_cpu_us_per_post", "SQLite: server CPU µs per post, one thread"),
    ("sqlite", "spread_server_cpu_us_per_post", "SQLite: server CPU µs per post, many threads"),
    ("postgres", "posts_per_second", "PostgreSQL: committed posts/s, every post on one thread"),
    ("postgres", "server_cpu_us_per_post", "PostgreSQL: server CPU µs per post, one thread"),
    ("postgres", "spread_posts_per_second", "PostgreSQL: committed posts/s over many threads"),
    (
        "postgres",
        "spread_server_cpu_us_per_post",
        "PostgreSQL: server CPU µs per post, many threads",
    ),
    ("postgres", "database_cpu_percent", "PostgreSQL's own CPU meanwhile, % of a core"),
    ("postgres", "paced_200_p99_ms", "PostgreSQL: answer time p99 (ms) at a paced 200 posts/s"),
)

DIVISORS = {"one.dps", "idle_mb", "storm.s", "posts.rate", "snap.comments", "plan.many_rate"}
DIVISORS |= {"postgres.posts_per_second"}


def decode(
    fanout: bytes, fanout_name: str, posting: bytes | None, posting_name: str
) -> tuple[dict[str, Row], list[str]]:
    """The rows the model uses, numbered F1..., and where each file comes from; InputError
    names the file and the missing figure."""
    rows: dict[str, Row] = {}

    def add(key: str, value: float, meaning: str, source: str) -> None:
        if value < 0 or (key in DIVISORS and value <= 0):
            limit = "above 0: the model divides by it" if key in DIVISORS else "at least 0"
            raise InputError(f"{source.rsplit(', ', 2)[0]}: `{key}` is {value}, must be {limit}")
        rows[key] = Row(f"F{len(rows) + 1}", key, value, meaning, source)

    try:
        data = msgspec.json.decode(fanout, type=FanoutFile)
    except msgspec.DecodeError as exc:
        raise InputError(f"{fanout_name}: {exc}") from exc
    runs = [run["livethread"].metrics for run in data.runs if "livethread" in run]
    source = f"{fanout_name}, median of {len(runs)} run(s), {data.started[:10]}"
    for key, meaning in FANOUT_ROWS:
        values = [v for metrics in runs if (v := metrics.get(key)) is not None]
        if not values:
            raise InputError(f"{fanout_name}: no run has livethread's metric `{key}` ({meaning})")
        add(key, statistics.median(values), meaning, source)
    env = data.environment
    files = [
        f"`{fanout_name}` (`python -m bench.fanout` of {data.started[:16]}, livethread at "
        f"{env.revision}, on {env.machine})"
    ]
    plan = f"{fanout_name}, its plan, {data.started[:10]}"
    add("plan.five", data.plan.five, "readers in the storm", plan)
    add("plan.per_thread", data.plan.per_thread, "readers per thread, many threads", plan)
    add("plan.many_rate", data.plan.many_rate, "posts/s over the many threads", plan)
    if posting is not None:
        try:
            post = msgspec.json.decode(posting, type=PostingFile)
        except msgspec.DecodeError as exc:
            raise InputError(f"{posting_name}: {exc}") from exc
        source = f"{posting_name}, median of {post.runs} run(s), {post.started[:10]}"
        for store, name, meaning in POSTING_ROWS:
            value = getattr(post.stores[store], name) if store in post.stores else None
            if value is None:
                raise InputError(f"{posting_name}: no `stores.{store}.{name}` ({meaning})")
            add(f"{store}.{name}", value, meaning, source)
        files.append(f"`{posting_name}` (`{post.command}` of {post.started[:16]})")
    return rows, files


def render(
    fanout: bytes, fanout_name: str, posting: bytes | None, posting_name: str, shape: Shape
) -> str:
    """deploy/CAPACITY.md from the figure files' bytes: the same bytes give the same text."""
    shape.check()
    r, files = decode(fanout, fanout_name, posting, posting_name)
    c = costs(r, shape)
    sizes = [size(r, shape, c, readers) for readers in shape.sizes]
    measured_pg = "postgres.posts_per_second" in r
    lines = [
        "# Capacity model",
        "",
        "Printed by `python -m bench.capacity` from "
        + " and ".join(files)
        + (
            "."
            if measured_pg
            else f"; no `{posting_name}` yet: PostgreSQL's rows are left "
            "out and the server CPU per post is SQLite's."
        )
        + " Do not edit it by hand: change the figures or the model and print it again; "
        "tests/test_capacity.py fails when this file is not what the figures print.",
        "",
        f"**The load**: {num(shape.posts)} posts/s in all. One hot thread holds "
        f"{num(100 * shape.hot_share)}% of the readers and gets {num(shape.hot_posts)} posts/s; "
        f"every other reader is in a small thread of {shape.small_readers} readers, and the "
        f"other {num(shape.posts - shape.hot_posts)} posts/s are spread evenly over the small "
        "threads: a reader gets only its own thread's posts. Hosts of "
        f"{shape.host_cores} cores and {num(shape.host_memory_gb)} GB, one server process a "
        f"core, each core planned at most {num(100 * shape.cpu_target)}% busy. (`--hot-share`, "
        "`--hot-posts`, `--small-readers`, `--host-cores`, `--host-memory-gb` change them.)",
        "",
        "| readers | server processes | hosts | Redis shards | PostgreSQL connections | "
        "memory per host | reconnect storm: rolling / all at once | first bottleneck |",
        "|---:|---|---:|---:|---:|---:|---:|---|",
        *(
            f"| {num(s.readers)} | {s.processes} needed ({num(s.cores, 1)} cores), {s.running} "
            f"run | {s.hosts} | {s.shards} | {s.running * shape.pool_size} | "
            f"{num(s.memory_gb, 2)} GB | {num(s.storm_rolling_s, 2)} s / "
            f"{num(s.storm_all_s, 1)} s | {s.bottleneck} |"
            for s in sizes
        ),
        "",
        "## The database",
        "",
        *database(r, shape, sizes),
        "",
        "## Assumptions",
        "",
        *(f"{i}. {text}" for i, text in enumerate(assumptions(shape), 1)),
        "",
        "## Unit costs",
        "",
        *(f"- {line}" for line in c.working),
    ]
    for s in sizes:
        lines += ["", f"## {num(s.readers)} readers", "", *(f"- {line}" for line in s.working)]
    lines += ["", "## Measured rows", "", "| row | metric | value | what | source |"]
    lines.append("|---|---|---:|---|---|")
    for row in r.values():
        lines.append(
            f"| {row.ref} | `{row.key}` | {num(row.value, 2)} | {row.meaning} | {row.source} |"
        )
    return "\n".join(lines) + "\n"


def database(r: dict[str, Row], shape: Shape, sizes: list[Size]) -> list[str]:
    lite = r["posts.rate"]
    one_host = [s.readers for s in sizes if s.hosts == 1]
    lines = [
        f"- SQLite (one host only): {lite.cite(0)} posts/s; {num(shape.posts)} posts/s is "
        f"{num(100 * shape.posts / lite.value)}% of it"
        + (f"; up to {num(max(one_host))} readers fit one host." if one_host else "."),
        f"- PostgreSQL connections = processes run x LIVETHREAD_DATABASE_POOL_SIZE "
        f"({shape.pool_size}): "
        + ", ".join(f"{s.running * shape.pool_size} at {num(s.readers)} readers" for s in sizes)
        + "; PostgreSQL's max_connections (100 by default) must be above that, or a pooler "
        "(PgBouncer, transaction mode) put in front.",
    ]
    if "postgres.posts_per_second" not in r:
        return [
            *lines,
            "- PostgreSQL writes and CPU: not measured yet (`python -m bench.posting`).",
        ]
    rate, cpu = r["postgres.posts_per_second"], r["postgres.database_cpu_percent"]
    spread = r["postgres.spread_posts_per_second"]
    cores = shape.posts / rate.value * cpu.value / 100
    return [
        *lines,
        f"- PostgreSQL writes, as measured: {rate.cite(0)} posts/s with every post on one "
        f"thread and {spread.cite(0)} over many threads, on the benchmark's 2-core box shared "
        "by both server processes, PostgreSQL and the load generator: the box's limit, not "
        "PostgreSQL's. A thread's posts take turns on its locks (a process's share one "
        "COMMIT), so the one-thread rate bounds a single hot thread; posts to different "
        "threads do not wait for each other, and PostgreSQL is sized by its CPU:",
        f"- PostgreSQL CPU: {num(shape.posts)} / {num(rate.value)} x {cpu.cite(0)} / 100 = "
        f"{num(cores, 2)} cores; at the {shape.cpu_target:g} target, "
        f"{math.ceil(cores / shape.cpu_target)} core(s) (a {shape.host_cores}-core server: "
        f"{num(100 * cores / shape.host_cores)}% busy). Answer time at a paced 200 posts/s "
        f"on one thread: p99 {r['postgres.paced_200_p99_ms'].cite(1)} ms.",
    ]


def assumptions(shape: Shape) -> list[str]:
    given = ", ".join(f"{x.name} = {getattr(shape, x.name)}" for x in fields(shape))
    return [
        f"The shape: {given}.",
        "A delivery costs what it did at 1,000 readers on one thread (`one.*`: 500 readers a "
        "process); at 2,500 a process (`five.*`) it cost less, so large rooms are "
        "over-provisioned rather than under.",
        "All loopback softirq is billed to the server (over a real network part of it is the "
        "readers'), and the load generator shared the benchmark's box: both make rates low.",
        "A small-thread post costs what one did in the many-threads step (its HTTP request and "
        "commit included, on SQLite); each reader past that step's shape adds a delivery; "
        "PostgreSQL's extra server CPU per post is the posting rows' difference over many "
        "threads.",
        "Keepalive pings (one per reader per ping interval) are not measured: each is assumed "
        "to cost two deliveries (a frame out, a pong in).",
        "No row measures Redis itself (bench/fanout.py reads redis-server's CPU only to keep it "
        f"out of 'other processes'): a shard is assumed to take {num(shape.shard_messages)} "
        "pub/sub messages/s in and out. A thread's channel, and the workers' `log`, is one "
        "slot: one shard carries it whatever the number of shards.",
        f"A bus message is a snapshot comment's bytes plus {ENVELOPE_BYTES}; the benchmark's "
        "comments are short, real ones carry more bytes (not more CPU: a delivery's cost is "
        "its write call).",
        "A process's memory is its base (whole RSS at capacity less the idle readers' share) "
        "plus the snapshot cache's full bound; the kernel's socket buffers are not in RSS and "
        "not counted.",
        "Reconnects go at the storm's rate (5,000 at once, with `since`, on SQLite, the load "
        "generator on the same box); each reads its backlog from the database, which no row "
        "measures on PostgreSQL. The widget spreads its first retry over 0.5 s "
        "(client-js/src/backoff.js).",
        "PostgreSQL's CPU per post is the one-thread burst's (its lock waits and savepoints "
        "included, so spread posts are over-counted); the hot thread's ceiling is the "
        "one-thread rate, measured on a box the servers shared. The PostgreSQL server is "
        "assumed to have as many cores as a host. Storage, replicas and the workers' load "
        "are not modelled.",
    ]


FLAGS = ("hot_share", "hot_posts", "small_readers", "host_cores", "host_memory_gb")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.capacity",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--fanout", default="bench/results.json")
    parser.add_argument("--posting", help="default: bench/posting.json, if there")
    parser.add_argument("--out", default="deploy/CAPACITY.md")
    default = Shape()
    for name in FLAGS:
        value = getattr(default, name)
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    args = parser.parse_args(argv)
    posting_name = args.posting or "bench/posting.json"
    shape = Shape(**{name: getattr(args, name) for name in FLAGS})
    try:
        fanout = (ROOT / args.fanout).read_bytes()
        path = ROOT / posting_name
        posting = path.read_bytes() if args.posting or path.exists() else None
        text = render(fanout, args.fanout, posting, posting_name, shape)
    except (OSError, InputError) as exc:
        print(f"bench.capacity: {exc}", file=sys.stderr)
        return 2
    if posting is None:
        print(f"bench.capacity: no {posting_name}: PostgreSQL's rows left out", file=sys.stderr)
    (ROOT / args.out).write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
