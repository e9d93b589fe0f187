"""The capacity model's arithmetic: unit costs from measured rows, and a deployment's size.

bench/capacity.py decodes the figure files into `Row`s and prints deploy/CAPACITY.md; this
module turns rows and a `Shape` (the load and the hosts assumed) into `Costs` and, for each
number of readers, a `Size`, every figure with the working that shows its arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# bench/fanout.py runs each server as two processes (`Servers._new_ports`), so a rate it
# measured for the server is two processes' rate.
BENCH_PROCESSES = 2
ENVELOPE_BYTES = 64  # assumed: an event's type and seq around the comment, and the channel


class InputError(Exception):
    """A figure file that cannot be decoded or lacks a figure; a shape that makes no sense."""


@dataclass(frozen=True)
class Row:
    """One measured figure and where it comes from."""

    ref: str
    key: str
    value: float
    meaning: str
    source: str

    def cite(self, digits: int = 2) -> str:
        return f"{num(self.value, digits)} (`{self.key}` {self.ref})"


@dataclass(frozen=True)
class Shape:
    """The load and the deployment assumed; every field is a stated assumption."""

    posts: float = 1000.0  # posts/s over all threads
    hot_share: float = 0.1  # of the readers, on the one hot thread
    hot_posts: float = 20.0  # posts/s on the hot thread (the fan-out benchmark's rate)
    small_readers: int = 5  # readers per small thread (the many-threads step's shape)
    host_cores: int = 8
    host_memory_gb: float = 16.0
    cpu_target: float = 0.7  # of each core, leaving room for bursts and a storm
    pool_size: int = 10  # LIVETHREAD_DATABASE_POOL_SIZE's default
    shard_messages: float = 100_000.0  # pub/sub messages/s (in + out) a Redis shard takes
    ping_interval: float = 20.0  # LIVETHREAD_WS_PING_INTERVAL's default
    snapshot_cache_mb: float = 64.0  # the snapshot cache's bound per process
    worker_copies: int = 2  # `livethread worker all` processes (one working, one standby)
    sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000)

    def check(self) -> None:
        wrong = [
            f"{name} {why}"
            for name, bad, why in (
                ("posts", self.posts <= 0, "must be above 0"),
                ("hot_share", not 0 <= self.hot_share < 1, "must be in [0, 1)"),
                ("hot_posts", not 0 <= self.hot_posts <= self.posts, "must be in [0, posts]"),
                ("small_readers", self.small_readers < 1, "must be at least 1"),
                ("host_cores", self.host_cores < 1, "must be at least 1"),
                ("host_memory_gb", self.host_memory_gb <= 0, "must be above 0"),
                ("cpu_target", not 0 < self.cpu_target <= 1, "must be in (0, 1]"),
                ("ping_interval", self.ping_interval <= 0, "must be above 0"),
                ("shard_messages", self.shard_messages <= 0, "must be above 0"),
                ("sizes", not self.sizes or min(self.sizes) < 1, "must be at least 1 reader"),
            )
            if bad
        ]
        if wrong:
            raise InputError("shape: " + "; ".join(wrong))


@dataclass(frozen=True)
class Costs:
    """What one unit of work costs, from the rows; `working` shows the arithmetic."""

    delivery_us: float  # server CPU, softirq included
    small_post_us: float  # a small-thread post: its request, commit and deliveries
    store_us: float  # PostgreSQL's extra server CPU per post (0 without the posting rows)
    process_mb: float  # a server process without readers, its snapshot cache full
    frame_bytes: float  # a bus message
    reconnects: float  # per second per process
    working: list[str]


def costs(r: dict[str, Row], shape: Shape) -> Costs:
    one, irq, dps = r["one.cpu_us"], r["one.irq"], r["one.dps"]
    softirq = irq.value / 100 / dps.value * 1e6
    delivery = one.value + softirq
    many, mdps, rate = r["many.cpu_us"], r["many.dps"], r["plan.many_rate"]
    measured = many.value * mdps.value / rate.value
    extra = (shape.small_readers - r["plan.per_thread"].value) * delivery
    store, store_text = 0.0, "; on SQLite (no PostgreSQL rows yet)"
    if "postgres.spread_server_cpu_us_per_post" in r:
        pg = r["postgres.spread_server_cpu_us_per_post"]
        lite = r["sqlite.spread_server_cpu_us_per_post"]
        store = pg.value - lite.value
        store_text = f"; on PostgreSQL {pg.cite(0)} - {lite.cite(0)} = {num(store)} µs more"
    idle, cap, held = r["idle_mb"], r["cap.mb"], r["cap.connected"]
    base = (cap.value - idle.value) * held.value / 1000 / BENCH_PROCESSES
    snap, count = r["snap.kb"], r["snap.comments"]
    frame = snap.value * 1024 / count.value + ENVELOPE_BYTES
    five, storm = r["plan.five"], r["storm.s"]
    reconnects = five.value / storm.value / BENCH_PROCESSES
    ladder, process = r["ladder.max"], base + shape.snapshot_cache_mb
    working = [
        f"**A delivery** = {one.cite()} + softirq {irq.cite(1)} / 100 / {dps.cite(0)} x "
        f"1e6 = {num(one.value, 2)} + {num(softirq, 2)} = **{num(delivery, 2)} µs** of CPU, "
        f"{num(1e6 / delivery)} deliveries/s a core (cross-check: {ladder.cite(0)} / "
        f"{BENCH_PROCESSES} processes = {num(ladder.value / BENCH_PROCESSES)}/s a process, "
        "on the 2-core box the load generator shared).",
        f"**A small-thread post** (its request, commit and deliveries) = {many.cite(1)} x "
        f"{mdps.cite(1)} / {rate.cite(0)} posts/s = {num(measured)} µs"
        + (f", + {num(extra)} µs for its other readers" if extra else "")
        + f"{store_text}: **{num(measured + extra + store)} µs**.",
        f"**A process** = ({cap.cite(1)} - {idle.cite(1)}) x {held.cite(0)} / 1000 / "
        f"{BENCH_PROCESSES} = {num(base)} MB, + {num(shape.snapshot_cache_mb)} MB of "
        f"snapshot cache = **{num(process)} MB**; a reader "
        f"{idle.cite(2)} MB / 1000.",
        f"**A bus message** = {snap.cite(1)} x 1024 / {count.cite(0)} + {ENVELOPE_BYTES} = "
        f"**{num(frame)} bytes**.",
        f"**Reconnects** = {five.cite(0)} / {storm.cite(2)} / {BENCH_PROCESSES} = "
        f"**{num(reconnects)}/s a process**, {r['storm.cpu_us'].cite(0)} µs of CPU each.",
    ]
    small_post = measured + extra + store
    return Costs(delivery, small_post, store, process, frame, reconnects, working)


@dataclass
class Size:
    """The model's answer for one number of readers, with its working."""

    readers: int
    cores: float = 0.0  # CPU demand
    processes: int = 0  # needed at the CPU target
    hosts: int = 0
    running: int = 0  # one per core of every host
    memory_gb: float = 0.0  # per host
    shards: int = 0
    storm_rolling_s: float = 0.0
    storm_all_s: float = 0.0
    bottleneck: str = ""
    working: list[str] = field(default_factory=list)


def size(r: dict[str, Row], shape: Shape, c: Costs, readers: int) -> Size:
    """Every number for `readers`, each line of `working` showing its arithmetic."""
    s, w, idle = Size(readers), [], r["idle_mb"].value / 1000
    hot, small_posts = readers * shape.hot_share, shape.posts - shape.hot_posts
    threads = math.ceil((readers - hot) / shape.small_readers)
    d_hot, d_small = hot * shape.hot_posts, small_posts * shape.small_readers
    w.append(
        f"**Deliveries**: hot thread {num(hot)} readers x {num(shape.hot_posts)} posts/s = "
        f"{num(d_hot)}/s; small threads {num(readers - hot)} readers / {shape.small_readers} "
        f"= {num(threads)} threads, each getting {num(small_posts)} / {num(threads)} = "
        f"{num(small_posts / max(threads, 1), 4)} posts/s, each post reaching its "
        f"{shape.small_readers} readers: {num(d_small)}/s. In all {num(d_hot + d_small)}/s."
    )
    parts = [
        ("hot fan-out", d_hot * c.delivery_us / 1e6),
        ("hot posts' PostgreSQL part", shape.hot_posts * c.store_us / 1e6),
        ("small-thread posts", small_posts * c.small_post_us / 1e6),
        ("keepalive pings", readers / shape.ping_interval * 2 * c.delivery_us / 1e6),
    ]
    s.cores = sum(cores for _, cores in parts)
    fixed = parts[1][1] + parts[2][1]  # the posts' part: it does not grow with readers
    s.processes = max(1, math.ceil(s.cores / shape.cpu_target))
    # Memory may call for more hosts than CPU: a host holds its processes and readers.
    room = shape.host_memory_gb * 1024 - shape.host_cores * c.process_mb
    if room <= 0:
        raise InputError(
            f"shape: {shape.host_cores} processes of {num(c.process_mb)} MB fill a host"
        )
    s.hosts = max(math.ceil(s.processes / shape.host_cores), math.ceil(readers * idle / room))
    s.running = p = s.hosts * shape.host_cores
    s.memory_gb = (p * c.process_mb + readers * idle) / s.hosts / 1024
    w += [
        "**Cores** = "
        + " + ".join(f"{name} {num(cores, 2)}" for name, cores in parts)
        + f" = {num(s.cores, 2)}; / {shape.cpu_target:g} = **{s.processes} processes** → "
        f"**{s.hosts} host(s)**, {p} processes run.",
        f"**Memory per host** = ({p} x {num(c.process_mb)} MB + {num(readers)} x "
        f"{num(idle * 1000, 2)} MB / 1000) / {s.hosts} = **{num(s.memory_gb, 2)} GB** of "
        f"{num(shape.host_memory_gb)}.",
    ]
    spread = p * (1 - (1 - 1 / p) ** shape.small_readers)  # processes a small thread is on
    hot_procs = min(p, max(math.ceil(hot), 1))
    out = shape.hot_posts * hot_procs + small_posts * spread + shape.posts * shape.worker_copies
    messages = 2 * shape.posts + out
    s.shards = max(1, math.ceil(messages / (shape.shard_messages * shape.cpu_target)))
    busiest = max(shape.posts * (1 + shape.worker_copies), shape.hot_posts * (1 + hot_procs))
    data = (shape.hot_posts * (1 + hot_procs) + small_posts * (1 + spread)) * c.frame_bytes
    w.append(
        f"**Redis**: in, {num(shape.posts)} posts x 2 (the thread's channel and the workers' "
        f"`log`) = {num(2 * shape.posts)}/s; out, hot {num(shape.hot_posts)} x {hot_procs} "
        f"processes + small {num(small_posts)} x {num(spread, 2)} processes (a thread's "
        f"{shape.small_readers} readers spread over {p}) + `log` {num(shape.posts)} x "
        f"{shape.worker_copies} workers = {num(out)}/s; {num(messages)} messages/s / "
        f"({num(shape.shard_messages)} x {shape.cpu_target:g}) = **{s.shards} shard(s)**; "
        f"a shard, spread evenly: {num(2 * shape.posts / s.shards)} publishes/s, "
        f"{num(messages / s.shards)} messages/s, {num(data / 1e6 / s.shards, 2)} MB/s of thread "
        f"messages; the busiest channel (one slot, one shard) {num(busiest)} messages/s."
    )
    s.storm_all_s = readers / (p * c.reconnects)
    s.storm_rolling_s = readers / p / (max(p - 1, 1) * c.reconnects)
    w.append(
        f"**Reconnect storm**: a rolling restart moves one process's {num(readers / p)} readers"
        f" onto the other {max(p - 1, 1)}: **{num(s.storm_rolling_s, 2)} s** a process; all "
        f"at once, {num(readers)} / ({p} x {num(c.reconnects)}) = **{num(s.storm_all_s, 2)} "
        f"s**, {num(readers * r['storm.cpu_us'].value / 1e6)} CPU-s, and "
        f"{num(readers / s.storm_all_s)} backlog reads/s on the database."
    )
    cpu_out = readers * (p - fixed) / (s.cores - fixed)
    memory_out = (s.hosts * shape.host_memory_gb * 1024 - p * c.process_mb) / idle
    redis = messages / (s.shards * shape.shard_messages)
    limits = [
        ("server CPU", s.cores / p, f"{num(cpu_out)} readers"),
        ("host memory", s.memory_gb / shape.host_memory_gb, f"{num(memory_out)} readers"),
        ("Redis (assumed capacity)", redis, f"{num(shape.posts / redis)} posts/s"),
    ]
    if "postgres.posts_per_second" in r:
        one, cpu = r["postgres.posts_per_second"], r["postgres.database_cpu_percent"]
        pg_cores = shape.posts / one.value * cpu.value / 100
        pg_used = pg_cores / (shape.host_cores * shape.cpu_target)
        limits += [
            (
                "the hot thread's writes",
                shape.hot_posts / one.value,
                f"{one.cite(0)} posts/s on that thread",
            ),
            (
                f"PostgreSQL CPU ({shape.host_cores} cores)",
                pg_used,
                f"{num(shape.posts / pg_used)} posts/s",
            ),
        ]
    w.append(
        "**Headroom** (share used; the load at which it runs out, other things equal): "
        + "; ".join(f"{name} {num(100 * used)}% ({at})" for name, used, at in limits)
        + "."
    )
    name, used, at = max(limits, key=lambda limit: limit[1])
    s.bottleneck = f"{name}, {num(100 * used)}% used: runs out at {at}"
    if "postgres.posts_per_second" not in r:
        s.bottleneck += " (PostgreSQL's writes not measured yet)"
    w.append(f"**First bottleneck: {s.bottleneck}.**")
    s.working = w
    return s


def num(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"
