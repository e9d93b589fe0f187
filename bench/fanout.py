"""Fan-out against the peers a user would pick instead, on this machine, in one run.

    python -m bench.fanout [--quick] [--runs N] [--servers a,b] [--profile] [--out DIR]
                           [--store sqlite|postgres]
    python -m bench.fanout --report-from bench/results.json   (the report again, no run)

Servers: livethread, the plain Starlette loop (an awaited `send_text` per socket),
python-socketio with its Redis manager, and the `websockets` library's `broadcast()` (the Python
floor); the peers are in bench/peers/. Each is run as two processes on one private Redis (a
throwaway redis-server on a free loopback port) with readers split evenly across them; runs are
interleaved (for run: for server: ...), every server started afresh each time. livethread keeps
its truth in a SQLite file, or with `--store postgres` in a private PostgreSQL cluster
(tests/support/postgres.py) started for its run.

The load generator (bench/loadgen.py) is a process of its own: picows readers and the publisher
(livethread: its HTTP API, so a post's latency includes the SQLite commit; the peers: Redis).
Latency is from the publish timestamp to the frame's arrival, on CLOCK_MONOTONIC. Per step: lost
deliveries (expected - received), server CPU time (utime + stime of both server processes, from
/proc) per delivery received, the load generator's own CPU as a share of one core (near 100%:
the result is client-bound), and how busy the whole machine was (and with what: the kernel's
softirq, other people's processes, the hypervisor's steal). Before each step the servers are
left to go quiet, so one step's backlog is not billed to the next.

Scenarios, per server and run:
  at rest: each process's RSS once it answers, before its first reader
  2 readers on one thread (one on each process) at 20 posts/s: a post's trip, send to frame
  connect 5,000 readers on one thread (+10 on another): server CPU per connection, idle memory
  1,000 readers on one thread at 20 posts/s (--profile: then py-spy during a repeat of it)
  the ladder on the 5,000: 5 and 10 posts/s, then
  5,000 readers at 20 posts/s, while the other thread's readers get 2 posts/s (readers and
    publisher in a second load generator process, so their latency is not the main one's
    queue), then the post
    rate doubles until p99 passes 1 s or more than 1% is lost (halves until it does not, if 20
    already fails), then two steps bisect: the max sustained deliveries/s
  the reconnect storm: the 5,000 close, then all reconnect at once (livethread: with `since`)
  1,000 threads x 5 readers at 200 posts/s over all of them
  20,000 readers held at once (two load generator processes: one process may not have that many
    file descriptors), each getting 5 posts
  livethread only: committed posts/s through the API (SQLite durability on), then the snapshot
    of the resulting 10,000-comment thread

Writes bench/RESULTS.md (medians of the runs, ratios to livethread per run, every run's figures,
the machine, versions and date), bench/latency.png (the ladders: latency against deliveries/s)
and bench/results.json (the raw figures). `--quick`: one run, short steps, fewer readers (a
sanity run of a few minutes; it writes to $TMPDIR/livethread-bench-quick/ instead).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import redis

from tests.support.postgres import PostgresServer
from tests.support.redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
SERVERS = ("livethread", "starlette", "socketio", "websockets")
LABELS = {
    "livethread": "livethread",
    "starlette": "Starlette loop",
    "socketio": "python-socketio",
    "websockets": "websockets broadcast()",
}
KIND = {"livethread": "livethread", "starlette": "plain", "socketio": "socketio"}
PEER_MODULE = {
    "starlette": "bench.peers.starlette_loop",
    "socketio": "bench.peers.socketio_server",
    "websockets": "bench.peers.ws_broadcast",
}
START_TIMEOUT = 30.0
CALL_TIMEOUT = 300.0
P99_LIMIT_MS = 1000.0
BOX_LIMIT = 90.0  # % of the machine busy: past it, a step measures the box more than the server
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Plan:
    quick: bool = False
    runs: int = 2
    seconds: float = 10.0  # each fixed-rate scenario
    ladder_seconds: float = 6.0  # each ladder step
    ladder_low: tuple[float, ...] = (5.0, 10.0)  # always measured, before 20 posts/s
    ladder_up: int = 6  # doublings above 20 posts/s at most
    ladder_down: int = 4  # halvings below it at most
    bisections: int = 2
    drain: float = 10.0  # at most, after the last post of a step
    one: int = 1000
    five: int = 5000
    rate: float = 20.0
    other: int = 10
    other_rate: float = 2.0
    threads: int = 1000
    per_thread: int = 5
    many_rate: float = 200.0
    capacity: int = 20000
    capacity_posts: int = 5
    posts: int = 10000
    post_clients: int = 32
    connect_concurrency: int = 200


FULL = Plan()
QUICK = Plan(
    quick=True,
    runs=1,
    seconds=3.0,
    ladder_seconds=2.0,
    ladder_low=(10.0,),
    ladder_up=3,
    ladder_down=2,
    bisections=1,
    drain=5.0,
    capacity=4000,
    capacity_posts=3,
    posts=2000,
)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- processes -------------------------------------------------------------------------------


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads), from /proc/PID/stat."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_sys(pid: int) -> float:
    """System (kernel) CPU seconds of a process: its syscalls, the sends to its sockets."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    return int(stat.rpartition(")")[2].split()[12]) / CLK_TCK


def proc_rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass(frozen=True)
class Ticks:
    """Jiffies of all CPUs, from /proc/stat."""

    busy: int  # not idle, not stolen
    irq: int  # hard and soft interrupts: loopback TCP is mostly softirq, billed to no process
    steal: int  # the hypervisor gave this virtual machine's CPUs to someone else
    total: int

    @classmethod
    def now(cls) -> Ticks:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        values += [0] * (8 - len(values))
        idle, irq, steal = values[3] + values[4], values[5] + values[6], values[7]
        total = sum(values[:8])
        return cls(busy=total - idle - steal, irq=irq, steal=steal, total=total)


class Servers:
    """One server's two processes on a private Redis, in a temporary directory."""

    def __init__(
        self,
        name: str,
        workdir: Path,
        env: dict[str, str] | None = None,
        database: str | None = None,
    ) -> None:
        self.name = name
        self.env = env or {}  # more variables for the server processes (livethread settings)
        # livethread's database: a SQLite file in `workdir` unless given (bench/posting.py).
        self.database = database
        self.kind = KIND.get(name, "plain")
        self.workdir = workdir
        self.redis = RedisServer()
        self.channel = f"bench{uuid.uuid4().hex[:8]}:"
        self.ports: list[int] = []
        self.procs: list[asyncio.subprocess.Process] = []
        self.logs: list[Path] = []
        self.redis_pid = 0

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def cpu(self) -> float:
        return sum(proc_cpu(pid) for pid in self.pids)

    def sys_cpu(self) -> float:
        return sum(proc_sys(pid) for pid in self.pids)

    def rss_kib(self) -> int:
        return sum(proc_rss_kib(pid) for pid in self.pids)

    def redis_cpu(self) -> float:
        return proc_cpu(self.redis_pid) if self.redis_pid else 0.0

    async def start(self) -> None:
        self.redis.start()
        with redis.Redis.from_url(self.redis.url) as client:
            self.redis_pid = int(client.info("server")["process_id"])
        if self.name == "livethread":
            # Imported here: the peers run whatever state livethread's code is in.
            from server.settings import Settings
            from tests.support.clients import provision

            database = self.database or f"sqlite:///{self.workdir / 'bench.db'}"
            await provision(Settings(database=database))  # the site "news"
            script = Path(sys.executable).parent / "livethread"
            command = [str(script)] if script.exists() else [sys.executable, "-m", "server.cli"]
            args = ["serve", "--database", database, "--redis", self.redis.url]
            env = {
                **os.environ,
                "LIVETHREAD_RATE_LIMIT": "0",
                "LIVETHREAD_BUS_PREFIX": self.channel,
                **self.env,
            }
            commands = [[*command, *args, "--port", str(port)] for port in self._new_ports()]
        else:
            module = PEER_MODULE[self.name]
            env = dict(os.environ)
            commands = [
                [sys.executable, "-m", module, "--port", str(port), "--redis", self.redis.url,
                 "--channel", self.channel]
                for port in self._new_ports()
            ]  # fmt: skip
        for i, command in enumerate(commands):
            path = self.workdir / f"{self.name}-{i}.log"
            self.logs.append(path)
            # Output to a file: nobody reads a pipe, and a full one would stall the server.
            with path.open("wb") as out:
                self.procs.append(
                    await asyncio.create_subprocess_exec(
                        *command,
                        cwd=ROOT,
                        env=env,
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=out,
                    )
                )
        for proc, port, path in zip(self.procs, self.ports, self.logs, strict=True):
            await self._wait_ready(proc, port, path)

    def _new_ports(self) -> list[int]:
        self.ports = [free_port(), free_port()]
        while self.ports[0] == self.ports[1]:
            self.ports[1] = free_port()
        return self.ports

    async def _wait_ready(self, proc: asyncio.subprocess.Process, port: int, path: Path) -> None:
        """Until the process answers HTTP (livethread: the API answers 200)."""
        path_query = "/api/v1/threads?site=news&thread=ready" if self.kind == "livethread" else "/"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                raise RuntimeError(f"{self.name} exited at startup:\n{tail(path)}")
            with contextlib.suppress(OSError, asyncio.IncompleteReadError, TimeoutError):
                async with asyncio.timeout(2):
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.write(f"GET {path_query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                    status = await reader.readline()
                    writer.close()
                    if status.startswith(b"HTTP/1.1 ") and (
                        self.kind != "livethread" or b" 200 " in status
                    ):
                        return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer on port {port}:\n{tail(path)}")

    async def stop(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.terminate()
        for proc in self.procs:
            try:
                async with asyncio.timeout(15):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()
        self.redis.close()

    async def settle(self, limit: float = 20.0) -> bool:
        """Wait (at most `limit` s) until the servers are quiet: under 10% of a core for 0.5 s,
        so one step's backlog is not billed to the next. False: they never were."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            before = self.cpu()
            await asyncio.sleep(0.5)
            if self.cpu() - before < 0.05:
                return True
        return False


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class LoadGen:
    """A bench.loadgen process, driven by one JSON line each way per command."""

    def __init__(self, servers: Servers) -> None:
        self.servers = servers
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.loadgen",
            "--kind",
            self.servers.kind,
            "--ports",
            ",".join(map(str, self.servers.ports)),
            "--redis",
            self.servers.redis.url,
            "--channel",
            self.servers.channel,
            "--deadline",
            "3000",
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 26,
        )
        await self.call("ping")

    async def call(self, op: str, **args: Any) -> dict[str, Any]:
        proc = self.proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps({"op": op, **args}).encode() + b"\n")
        await proc.stdin.drain()
        async with asyncio.timeout(CALL_TIMEOUT):
            line = await proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the load generator ended during {op!r}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"load generator, {op}: {answer['error']}")
        return answer

    async def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(Exception):
            assert proc.stdin is not None
            proc.stdin.write(b'{"op": "quit"}\n')
            await proc.stdin.drain()
            proc.stdin.close()
        try:
            async with asyncio.timeout(20):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()


@dataclass
class Usage:
    """What a step cost: CPU seconds, and shares (of one core, or of the machine) in %."""

    server_cpu: float
    server_sys: float  # the part of server_cpu spent in the kernel (system time)
    wall: float
    loadgen: float  # % of a core
    box: float  # % of all the machine's CPUs busy (steal excluded)
    # % of a core in interrupts, mostly the kernel's loopback TCP (softirq): Linux bills it to
    # no process, so it is in nobody's CPU time, the servers' included.
    irq: float
    # % of a core: everything else on the machine (neither the servers, their Redis, the
    # load generator nor interrupts): other people's work on a shared machine.
    others: float
    steal: float  # % of a core taken by the hypervisor

    def per_delivery(self, received: int) -> float | None:
        """Server CPU µs per delivery received."""
        return self.server_cpu / received * 1e6 if received else None

    def sys_per_delivery(self, received: int) -> float | None:
        """The kernel's part of it (system time): for a fan-out, mostly the socket writes."""
        return self.server_sys / received * 1e6 if received else None


async def measured(
    servers: Servers, work: Callable[[], Awaitable[dict[str, Any]]], settle: float = 20.0
) -> tuple[dict[str, Any], Usage]:
    await servers.settle(settle)
    cpu0, redis0, ticks0, t0 = servers.cpu(), servers.redis_cpu(), Ticks.now(), time.monotonic()
    sys0 = servers.sys_cpu()
    answer = await work()
    cpu1, redis1, ticks1, t1 = servers.cpu(), servers.redis_cpu(), Ticks.now(), time.monotonic()
    sys1 = servers.sys_cpu()
    wall = max(t1 - t0, 1e-9)
    loadgen = float(answer.get("cpu", 0.0))
    busy, irq = (ticks1.busy - ticks0.busy) / CLK_TCK, (ticks1.irq - ticks0.irq) / CLK_TCK
    others = busy - irq - (cpu1 - cpu0) - (redis1 - redis0) - loadgen
    return answer, Usage(
        server_cpu=cpu1 - cpu0,
        server_sys=sys1 - sys0,
        wall=wall,
        loadgen=loadgen / wall * 100,
        box=(ticks1.busy - ticks0.busy) / max(ticks1.total - ticks0.total, 1) * 100,
        irq=irq / wall * 100,
        others=max(0.0, others) / wall * 100,
        steal=(ticks1.steal - ticks0.steal) / CLK_TCK / wall * 100,
    )


# --- scenarios -------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One server's figures in one run."""

    metrics: dict[str, float | None] = field(default_factory=dict)
    ladder: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    profile: Profile | None = None


def step_figures(prefix: str, stream: dict[str, Any], usage: Usage) -> dict[str, Any]:
    return {
        f"{prefix}.p50": stream["p50"],
        f"{prefix}.p99": stream["p99"],
        f"{prefix}.max": stream["max"],
        f"{prefix}.lost": float(stream["lost"]),
        f"{prefix}.dps": stream["deliveries_per_s"],
        f"{prefix}.cpu_us": usage.per_delivery(stream["received"]),
        f"{prefix}.sys_us": usage.sys_per_delivery(stream["received"]),
        f"{prefix}.lg": usage.loadgen,
        f"{prefix}.box": usage.box,
        f"{prefix}.irq": usage.irq,
        f"{prefix}.others": usage.others,
        f"{prefix}.steal": usage.steal,
    }


def ladder_point(rate: float, stream: dict[str, Any], usage: Usage) -> dict[str, Any]:
    return {
        "rate": rate,
        "dps": stream["deliveries_per_s"],
        "p50": stream["p50"],
        "p99": stream["p99"],
        "lost": stream["lost"],
        "expected": stream["expected"],
        "post_rate": stream["post_rate"],
        "cpu_us": usage.per_delivery(stream["received"]),
        "lg": usage.loadgen,
        "box": usage.box,
        "irq": usage.irq,
        "others": usage.others,
        "steal": usage.steal,
    }


def passes(point: dict[str, Any]) -> bool:
    return (
        point["p99"] is not None
        and point["p99"] <= P99_LIMIT_MS
        and point["lost"] <= 0.01 * point["expected"]
    )


async def run_server(name: str, plan: Plan, profile: Path | None, store: str = "sqlite") -> Outcome:
    outcome = Outcome()
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix=f"bench-{name}-"))
        database = None
        if name == "livethread" and store == "postgres":
            database = stack.enter_context(PostgresServer()).database()
        servers = Servers(name, Path(tmp), database=database)
        lg = LoadGen(servers)
        # The other thread's readers and posts live in a process of their own: in the main
        # load generator, busy with the 5,000 readers' frames, their latency would be the
        # client's queue, not the server's fairness.
        bystander = LoadGen(servers)
        try:
            await servers.start()
            await lg.start()
            await bystander.start()
            await scenarios(servers, lg, bystander, plan, outcome, profile)
        finally:
            await bystander.stop()
            await lg.stop()
            await servers.stop()
    return outcome


async def scenarios(
    servers: Servers,
    lg: LoadGen,
    bystander: LoadGen,
    plan: Plan,
    out: Outcome,
    profile: Path | None,
) -> None:
    m = out.metrics
    name = servers.name

    def note(text: str) -> None:
        out.notes.append(text)
        log(f"  {name}: {text}")

    def dropped(step: str, answer: dict[str, Any]) -> None:
        if answer["dropped_here"]:
            note(f"{step}: the server closed {answer['dropped_here']} readers during the step")

    def publish(
        streams: list[dict[str, Any]], seconds: float, **extra: Any
    ) -> Callable[[], Awaitable[dict[str, Any]]]:
        return lambda: lg.call(
            "publish", streams=streams, seconds=seconds, drain=plan.drain, **extra
        )

    # A process at rest: started, answering, before its first reader.
    await servers.settle()
    m["rest_mb"] = servers.rss_kib() / len(servers.pids) / 1024

    # Warm-up (not measured): code paths, the socket.io manager's subscription.
    await lg.call("connect", group="warm", threads=["warm"], count=20, concurrency=20)
    await lg.call("publish", streams=[stream("warm", "warm", 10.0)], seconds=2.0, drain=3.0)
    await lg.call("close", group="warm")

    # A post's trip to two readers (one on each process): from the publisher's send to the
    # frame at each reader, where the cost per post, not the fan-out, is the latency.
    await lg.call("connect", group="two", threads=["two"], count=2, concurrency=2)
    answer, usage = await measured(
        servers, publish([stream("two", "two", plan.rate)], plan.seconds)
    )
    m.update(step_figures("two", answer["streams"]["two"], usage))
    log(f"  {name}: 2 readers@{plan.rate:g}: p50 {fmt_ms(m['two.p50'])}")
    await lg.call("close", group="two")
    await servers.settle()
    baseline = servers.rss_kib()

    # Connections: CPU per connection, idle memory.
    connects = plan.five + plan.other

    async def connect_five() -> dict[str, Any]:
        a = await lg.call(
            "connect",
            group="five",
            threads=["five"],
            count=plan.five,
            concurrency=plan.connect_concurrency,
        )
        b = await bystander.call("connect", group="other", threads=["other"], count=plan.other)
        return {"failed": a["failed"] + b["failed"]}

    answer, usage = await measured(servers, connect_five)
    if answer["failed"]:
        note(f"{answer['failed']} of {connects} readers could not connect")
    m["conn_cpu_us"] = usage.server_cpu / connects * 1e6
    await servers.settle()
    m["idle_mb"] = (servers.rss_kib() - baseline) / 1024 / (connects / 1000)
    log(f"  {name}: {connects} connected, {m['conn_cpu_us']:.0f} µs CPU each")

    await lg.call(
        "connect",
        group="one",
        threads=["one"],
        count=plan.one,
        concurrency=plan.connect_concurrency,
    )

    # 1,000 readers at 20 posts/s.
    answer, usage = await measured(
        servers, publish([stream("one", "one", plan.rate)], plan.seconds)
    )
    m.update(step_figures("one", answer["streams"]["one"], usage))
    dropped("1,000 readers", answer)
    log(f"  {name}: 1k@{plan.rate:g}: p99 {fmt_ms(m['one.p99'])}, lost {m['one.lost']:.0f}")
    if profile is not None and name == "livethread":
        out.profile = await profiled(servers, lg, plan, profile)

    # The ladder on the 5,000 readers. The steps below 20 posts/s come first: they draw the
    # latency curve, and a server overwhelmed at 20 posts/s would leave them its backlog.
    points: dict[float, dict[str, Any]] = {}
    previous_failed = False

    async def step(rate: float) -> bool:
        nonlocal previous_failed
        answer, usage = await measured(
            servers,
            publish([stream("ladder", "five", rate)], plan.ladder_seconds),
            # Longer after a failure: the server may still be working through its backlog.
            settle=60.0 if previous_failed else 20.0,
        )
        point = points[rate] = ladder_point(rate, answer["streams"]["ladder"], usage)
        dropped(f"ladder at {rate:g} posts/s", answer)
        log(
            f"  {name}: ladder {rate:g} posts/s: {point['dps']:.0f} deliveries/s, "
            f"p99 {fmt_ms(point['p99'])}, lost {point['lost']}"
        )
        previous_failed = not passes(point)
        return not previous_failed

    def bracket() -> tuple[float | None, float | None]:
        """The highest rate that passed, and the lowest above it that failed."""
        passed = max((r for r, p in points.items() if passes(p)), default=None)
        failed = min(
            (r for r, p in points.items() if not passes(p) and (passed is None or r > passed)),
            default=None,
        )
        return passed, failed

    bisections = plan.bisections

    async def bisect() -> None:
        """Steps at the geometric mean of the bracket, while the bisections last."""
        nonlocal bisections
        while bisections > 0:
            passed, failed = bracket()
            if passed is None or failed is None or failed / passed < 1.1:
                return
            bisections -= 1
            await step(math.sqrt(passed * failed))

    # Up through the low steps; if the lowest fails, halve until a step passes.
    for rate in plan.ladder_low:
        if not await step(rate):
            break
    rate = min(points)
    for _ in range(plan.ladder_down):
        if bracket()[0] is not None:
            break
        rate /= 2
        await step(rate)
    if bracket()[1] is not None:
        await bisect()

    # 5,000 readers at 20 posts/s, and the other thread's readers meanwhile: a ladder step too.
    async def five_and_other() -> dict[str, Any]:
        main, side = await asyncio.gather(
            publish([stream("five", "five", plan.rate)], plan.seconds)(),
            bystander.call(
                "publish",
                streams=[stream("other", "other", plan.other_rate)],
                seconds=plan.seconds,
                drain=plan.drain,
            ),
        )
        # The bystander's own CPU (10 readers, 2 posts/s) is billed with the load generator's.
        main["cpu"] = float(main.get("cpu", 0.0)) + float(side.get("cpu", 0.0))
        main["streams"]["other"] = side["streams"]["other"]
        return main

    answer, usage = await measured(
        servers, five_and_other, settle=60.0 if previous_failed else 20.0
    )
    m.update(step_figures("five", answer["streams"]["five"], usage))
    dropped("5,000 readers", answer)
    other = answer["streams"]["other"]
    m["other.p99"], m["other.max"], m["other.lost"] = other["p99"], other["max"], other["lost"]
    log(f"  {name}: 5k@{plan.rate:g}: p99 {fmt_ms(m['five.p99'])}, lost {m['five.lost']:.0f}")
    points[plan.rate] = ladder_point(plan.rate, answer["streams"]["five"], usage)
    previous_failed = not passes(points[plan.rate])

    # Above it, doubling until a step fails; then bisect.
    rate = plan.rate
    for _ in range(plan.ladder_up):
        if bracket()[1] is not None:
            break
        rate *= 2
        await step(rate)
    await bisect()
    # A server left with a backlog would bill it to the next scenario.
    if not await servers.settle(60.0):
        note("still busy 60 s after the ladder")
    out.ladder = [points[r] for r in sorted(points)]
    failed = bracket()[1]
    good = [p for p in out.ladder if passes(p)]
    best = max(good, key=lambda p: float(p["dps"])) if good else None
    m["ladder.max"] = best["dps"] if best else 0.0
    m["ladder.lg"] = best["lg"] if best else None
    m["ladder.box"] = best["box"] if best else None
    if failed is None:
        note("the ladder's last step still passed: the maximum is higher")
    else:
        m["ladder.fail_lg"], m["ladder.fail_box"] = points[failed]["lg"], points[failed]["box"]

    # The reconnect storm: the 5,000 at once.
    await lg.call("close", group="five", keep=True)
    answer, usage = await measured(servers, lambda: lg.call("reconnect", group="five"))
    m["storm.s"] = answer["seconds"]
    m["storm.cpu_us"] = usage.server_cpu / plan.five * 1e6
    m["storm.failed"] = float(answer["failed"])
    if answer["failed"] or answer["retries"]:
        note(f"storm: {answer['failed']} failed, {answer['retries']} retries")
    log(f"  {name}: storm: all back in {m['storm.s']:.2f} s")
    for group in ("one", "five"):
        await lg.call("close", group=group)
    await bystander.call("close", group="other")

    # 1,000 threads x 5 readers, 200 posts/s over all of them.
    threads = [f"t{i}" for i in range(plan.threads)]
    answer = await lg.call(
        "connect",
        group="many",
        threads=threads,
        per_thread=plan.per_thread,
        count=plan.threads * plan.per_thread,
        concurrency=plan.connect_concurrency,
    )
    if answer["failed"]:
        note(f"many threads: {answer['failed']} readers could not connect")
    many = {"name": "many", "group": "many", "threads": threads, "rate": plan.many_rate}
    answer, usage = await measured(servers, publish([many], plan.seconds))
    m.update(step_figures("many", answer["streams"]["many"], usage))
    dropped("1,000 threads", answer)
    log(f"  {name}: 1000x5@{plan.many_rate:g}: p99 {fmt_ms(m['many.p99'])}")
    await lg.call("close", group="many")

    await capacity(servers, lg, plan, out)

    if name == "livethread":
        answer, usage = await measured(
            servers,
            lambda: lg.call(
                "posts",
                thread="snap",
                count=plan.posts,
                concurrency=plan.post_clients,
                max_seconds=120.0,
            ),
        )
        m["posts.rate"] = answer["posts_per_s"]
        m["posts.p99"] = answer["p99"]
        m["posts.cpu_us"] = usage.server_cpu / answer["ok"] * 1e6 if answer["ok"] else None
        if answer["ok"] != plan.posts:
            note(f"posts: {answer['ok']} of {plan.posts} committed ({answer['statuses']})")
        await servers.settle()
        snap = await lg.call("snapshot", thread="snap", times=10)
        m["snap.ms"] = snap["median_ms"]
        m["snap.first_ms"] = snap["first_ms"]
        m["snap.comments"] = float(snap["comments"])
        m["snap.kb"] = snap["bytes"] / 1024
        log(
            f"  {name}: {m['posts.rate']:.0f} posts/s; snapshot of {snap['comments']}: "
            f"{snap['median_ms']:.1f} ms"
        )


def stream(name: str, thread: str, rate: float) -> dict[str, Any]:
    return {"name": name, "group": name if name != "ladder" else thread, "threads": [thread]} | {
        "rate": rate
    }


async def capacity(servers: Servers, lg: LoadGen, plan: Plan, out: Outcome) -> None:
    """`plan.capacity` readers on one thread, half of them in a second load generator."""
    m = out.metrics
    helper = LoadGen(servers)
    half = plan.capacity // 2
    await helper.start()
    try:
        args = {"threads": ["cap"], "count": half, "concurrency": plan.connect_concurrency}
        a, b = await asyncio.gather(
            lg.call("connect", group="cap", **args), helper.call("connect", group="cap", **args)
        )
        connected = a["connected"] + b["connected"]
        await servers.settle()
        rss = servers.rss_kib()
        first = (await lg.call("ping"))["next_id"]
        await helper.call("watch", name="cap", group="cap", first=first, count=plan.capacity_posts)
        cap_stream = stream("cap", "cap", 2.0) | {"count": plan.capacity_posts}
        answer, _ = await measured(
            servers,
            lambda: lg.call(
                "publish",
                streams=[cap_stream],
                seconds=plan.capacity_posts / 2.0 + 1,
                drain=plan.drain,
                raw=True,
            ),
        )
        mine = answer["streams"]["cap"]
        collected = await helper.call("collect", drain=plan.drain, unsent=mine["unsent"])
        other = collected["streams"]["cap"]
        lost = mine["lost"] + other["lost"]
        lat = sorted(mine["lat_us"] + other["lat_us"])
        m["cap.connected"] = float(connected)
        m["cap.lost"] = float(lost)
        m["cap.p99"] = lat[min(len(lat) - 1, int(0.99 * len(lat)))] / 1000 if lat else None
        m["cap.mb"] = rss / 1024 / (connected / 1000) if connected else None
        log(
            f"  {servers.name}: {connected} readers held, lost {lost}, "
            f"p99 {fmt_ms(m['cap.p99'])}, {rss / 1024:.0f} MB RSS"
        )
        if connected < plan.capacity:
            out.notes.append(f"capacity: {connected} of {plan.capacity} readers connected")
        await asyncio.gather(lg.call("close", group="cap"), helper.call("close", group="cap"))
    finally:
        await helper.stop()


async def profiled(servers: Servers, lg: LoadGen, plan: Plan, out: Path) -> Profile | None:
    """py-spy (with native frames) on both livethread processes during a repeat of the
    1,000-reader step (not itself measured): process 0's flame graph goes to OUT/profile.svg,
    process 1's collapsed stacks are summarized in the report."""
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        log("  py-spy not found (pip install py-spy): no profile")
        return None
    seconds, rate = max(5, int(plan.seconds)), 100
    raw = servers.workdir / "profile.txt"
    records = [
        await asyncio.create_subprocess_exec(
            *(spy, "record", "--native", "-d", str(seconds), "-r", str(rate)),
            *("-f", fmt, "-o", str(path), "--pid", str(pid)),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for pid, fmt, path in (
            (servers.pids[0], "flamegraph", out / "profile.svg"),
            (servers.pids[1], "raw", raw),
        )
    ]
    await asyncio.sleep(1.0)  # py-spy attaches
    await lg.call("publish", streams=[stream("one", "one", plan.rate)], seconds=seconds + 1)
    for record in records:
        async with asyncio.timeout(60):
            await record.wait()
    return top_frames(raw, expected=seconds * rate)


@dataclass
class Profile:
    """The top of a py-spy profile: shares of the samples taken while the process was busy."""

    busy: float = 0.0  # % of the time the process was on a CPU (samples / rate x seconds)
    leaves: list[tuple[str, float]] = field(default_factory=list)  # self time, native included
    # Self time of the innermost Python function, its native callees (syscalls) included.
    python: list[tuple[str, float]] = field(default_factory=list)


def top_frames(raw: Path, expected: float, count: int = 12) -> Profile:
    """From py-spy's collapsed stacks (`frame;frame;... samples`, idle samples not recorded):
    where the process spends itself (leaf frames, native included) and in which Python function
    (the innermost Python frame of each sample, so a syscall counts for the function that made
    it). `expected`: the samples a process busy all the time would have given."""
    try:
        lines = raw.read_text().splitlines()
    except OSError:
        return Profile()
    total = 0
    leaves: dict[str, int] = {}
    python: dict[str, int] = {}
    for line in lines:
        stack, _, samples = line.rpartition(" ")
        if not samples.isdigit():
            continue
        n = int(samples)
        raw_frames = stack.split(";")
        # py-spy cannot always tell a thread blocked in native code from a running one: a
        # sample whose innermost frames wait (the event loop's epoll, an idle executor thread
        # on its queue, a lock) is idle.
        if any(frame.startswith(IDLE_FRAMES) for frame in raw_frames[-4:]):
            continue
        total += n
        frames = [_frame_name(frame) for frame in raw_frames if frame]
        if frames:
            leaves[frames[-1]] = leaves.get(frames[-1], 0) + n
        innermost = next((f for f in reversed(frames) if f.endswith(".py)")), "(no Python frame)")
        python[innermost] = python.get(innermost, 0) + n
    if not total:
        return Profile()

    def top(counts: dict[str, int]) -> list[tuple[str, float]]:
        ranked = sorted(counts.items(), key=lambda item: -item[1])[:count]
        return [(name, n / total * 100) for name, n in ranked]

    return Profile(busy=total / expected * 100, leaves=top(leaves), python=top(python))


IDLE_FRAMES = (
    "epoll_wait",
    "epoll_pwait",
    "_queue_SimpleQueue_get",
    "PyThread_acquire_lock_timed",
    "pthread_cond_wait",
    "pthread_cond_timedwait",
    "sem_wait",
    "sem_timedwait",
    "select ",
    "poll ",
)


def _frame_name(frame: str) -> str:
    """`func (path/to/file.py:123)` -> `func (file.py)`; native frames keep their library."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rpartition("/")[2].partition(":")[0]
    if name.startswith("0x"):  # a native frame without a symbol
        name = "(no symbol)"
    return f"{name} ({where})" if where else name


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


# --- the report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    digits: int = 1
    lower_is_better: bool = True
    ratio: bool = True


ROWS = (
    Row("rest_mb", "a process at rest, before its first reader (MB, RSS)", 1),
    Row("two.p50", "2 readers, 20 posts/s: a post's trip, p50 (ms)", 2),
    Row("two.p99", "2 readers, 20 posts/s: a post's trip, p99 (ms)", 2),
    Row("one.p50", "1,000 readers, 20 posts/s: latency p50 (ms)"),
    Row("one.p99", "1,000 readers, 20 posts/s: latency p99 (ms)"),
    Row("one.lost", "1,000 readers, 20 posts/s: lost deliveries", 0, ratio=False),
    Row("one.cpu_us", "1,000 readers, 20 posts/s: **server CPU per delivery (µs)**", 2),
    Row("one.sys_us", "1,000 readers, 20 posts/s: of which in the kernel (system time, µs)", 2),
    Row("one.lg", "1,000 readers, 20 posts/s: load generator CPU (% of a core)", 0, ratio=False),
    Row("five.p50", "5,000 readers, 20 posts/s: latency p50 (ms)"),
    Row("five.p99", "5,000 readers, 20 posts/s: latency p99 (ms)"),
    Row("five.lost", "5,000 readers, 20 posts/s: lost deliveries", 0, ratio=False),
    Row("five.cpu_us", "5,000 readers, 20 posts/s: **server CPU per delivery (µs)**", 2),
    Row("five.sys_us", "5,000 readers, 20 posts/s: of which in the kernel (system time, µs)", 2),
    Row("five.lg", "5,000 readers, 20 posts/s: load generator CPU (% of a core)", 0, ratio=False),
    Row("five.irq", "5,000 readers, 20 posts/s: kernel softirq (% of a core)", 0, ratio=False),
    Row("five.others", "5,000 readers, 20 posts/s: other processes (% of a core)", 0, ratio=False),
    Row("other.p99", "meanwhile, a reader of another thread: latency p99 (ms)"),
    Row("ladder.max", "max sustained deliveries/s (p99 ≤ 1 s, ≤ 1% lost)", 0, False),
    Row("ladder.lg", "at that step: load generator CPU (% of a core)", 0, ratio=False),
    Row("ladder.box", "at that step: machine CPU busy (% of 2 cores)", 0, ratio=False),
    Row("many.p50", "1,000 threads x 5 readers, 200 posts/s: latency p50 (ms)"),
    Row("many.p99", "1,000 threads x 5 readers, 200 posts/s: latency p99 (ms)"),
    Row("many.lost", "1,000 threads x 5 readers, 200 posts/s: lost deliveries", 0, ratio=False),
    Row("many.cpu_us", "1,000 threads x 5 readers, 200 posts/s: server CPU per delivery (µs)", 1),
    Row("idle_mb", "idle memory per 1,000 connections (MB, 5,010 connected)", 1),
    Row("cap.mb", "memory per 1,000 readers at capacity (MB, whole RSS)", 1),
    Row("conn_cpu_us", "server CPU per new connection (µs)", 0),
    Row("storm.s", "reconnect storm, 5,000 at once: all back after (s)", 2),
    Row("storm.cpu_us", "reconnect storm: server CPU per reconnect (µs)", 0),
    Row("cap.connected", "concurrent readers held (one thread)", 0, False),
    Row("cap.lost", "at capacity: lost deliveries (of 5 posts to all)", 0, ratio=False),
    Row("cap.p99", "at capacity: latency p99 (ms)", 1),
    Row("snap.ms", "snapshot of a 10,000-comment thread: median (ms)", 1, ratio=False),
    Row("snap.first_ms", "snapshot: first request (ms)", 1, ratio=False),
    Row("posts.rate", "committed posts/s through the HTTP API (SQLite, durable)", 0, False, False),
    Row("posts.p99", "posting: answer time p99 (ms)", 1, ratio=False),
    Row("posts.cpu_us", "posting: server CPU per committed post (µs)", 0, ratio=False),
)


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def cell(value: float | None, digits: int) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def ratios(
    results: list[dict[str, Outcome]], server: str, key: str
) -> tuple[float | None, list[float]]:
    """Median over runs of server/livethread for one figure; and each run's ratio."""
    each: list[float] = []
    for run in results:
        mine = run.get(server, Outcome()).metrics.get(key)
        base = run.get("livethread", Outcome()).metrics.get(key)
        if mine is not None and base:
            each.append(mine / base)
    return median(each), each


def table(results: list[dict[str, Outcome]], servers: Sequence[str]) -> list[str]:
    lines = [
        "| figure | " + " | ".join(LABELS[s] for s in servers) + " |",
        "|---|" + "---:|" * len(servers),
    ]
    for row in ROWS:
        cells = []
        present = False
        for server in servers:
            values = [
                v for run in results if (v := run.get(server, Outcome()).metrics.get(row.key))
                is not None
            ]  # fmt: skip
            value = median(values)
            present = present or value is not None
            text = cell(value, row.digits)
            if row.ratio and server != "livethread" and value is not None:
                ratio, _ = ratios(results, server, row.key)
                if ratio is not None:
                    text += f" (x{ratio:.2f})"
            cells.append(text)
        if present:
            lines.append(f"| {row.label} | " + " | ".join(cells) + " |")
    return lines


def per_run(results: list[dict[str, Outcome]], servers: Sequence[str]) -> list[str]:
    lines: list[str] = []
    for i, run in enumerate(results, 1):
        lines += [f"### Run {i}", "", *table([run], [s for s in servers if s in run]), ""]
        for server in servers:
            outcome = run.get(server)
            if outcome is None:
                continue
            lines.append(f"Ladder, {LABELS[server]} (5,000 readers on one thread):")
            lines.append("")
            lines.append(
                "| posts/s | deliveries/s | p50 ms | p99 ms | lost | server µs/delivery "
                "| load gen % core | machine % busy | softirq % core | others' % core "
                "| steal % core | |"
            )
            lines.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
            for p in outcome.ladder:
                lines.append(
                    f"| {p['rate']:g} | {p['dps']:,.0f} | {cell(p['p50'], 1)} | "
                    f"{cell(p['p99'], 1)} | {p['lost']:,} | {cell(p['cpu_us'], 2)} | "
                    f"{cell(p['lg'], 0)} | {cell(p['box'], 0)} | {cell(p.get('irq'), 0)} | "
                    f"{cell(p.get('others'), 0)} | "
                    f"{cell(p.get('steal'), 0)} | "
                    f"{'pass' if passes(p) else 'FAIL'} |"
                )
            lines.append("")
            if outcome.notes:
                lines += [f"- {note}" for note in outcome.notes] + [""]
    return lines


@dataclass
class Target:
    text: str
    value: str
    met: bool | None
    verdict: str = ""  # instead of yes/no


def targets(results: list[dict[str, Outcome]], servers: Sequence[str], plan: Plan) -> list[Target]:
    def med(server: str, key: str) -> float | None:
        return median(
            [v for run in results if (v := run.get(server, Outcome()).metrics.get(key)) is not None]
        )

    found: list[Target] = []
    lt = "livethread"
    if lt not in servers:
        return found
    if "starlette" in servers:
        for scenario, label in (("one", "1,000"), ("five", "5,000")):
            _, each = ratios(results, "starlette", f"{scenario}.cpu_us")
            inverse = [1 / r for r in each]
            share = median(inverse)
            theirs = med("starlette", f"{scenario}.cpu_us")
            kernel = ""
            mine_sys = med(lt, f"{scenario}.sys_us")
            if theirs is not None and mine_sys is not None:
                # The kernel's part is what any server pays for its sockets' writes.
                kernel = (
                    f"; the kernel's part alone: livethread {cell(mine_sys, 2)} µs, "
                    f"Starlette {cell(med('starlette', f'{scenario}.sys_us'), 2)} µs, "
                    f"against a target of {cell(theirs / 2, 2)} µs"
                )
            found.append(
                Target(
                    f"server CPU per delivery ≤ 0.5x the Starlette loop's ({label} readers)",
                    f"{cell(med(lt, f'{scenario}.cpu_us'), 2)} µs = {cell(share, 2)}x "
                    f"(runs: {', '.join(f'{x:.2f}' for x in inverse)}){kernel}",
                    None if share is None else share <= 0.5,
                )
            )
    peers = [s for s in servers if s != lt]
    best_peer = max(peers, key=lambda s: med(s, "ladder.max") or 0.0, default=None)
    mine = med(lt, "ladder.max")
    if best_peer is not None and mine is not None:
        theirs = med(best_peer, "ladder.max") or 0.0
        box = med(lt, "ladder.fail_box")
        lgc = med(lt, "ladder.fail_lg")
        limit = ""
        if box is not None:
            limit = f"; at the first failing step the machine was {box:.0f}% busy, "
            limit += f"the load generator at {cell(lgc, 0)}% of a core"
        # The box is the limit when, at livethread's first failing step, the machine was busy.
        boxed = mine < theirs and box is not None and box >= BOX_LIMIT
        found.append(
            Target(
                "max sustained deliveries/s ≥ the best peer's (or the box is the limit)",
                f"{mine:,.0f} vs {LABELS[best_peer]} {theirs:,.0f}{limit}",
                mine >= theirs,
                f"the box is the limit ({mine / theirs:.2f}x)" if boxed and theirs else "",
            )
        )
    held, lost = med(lt, "cap.connected"), med(lt, "cap.lost")
    if held is not None:
        found.append(
            Target(
                "≥ 20,000 concurrent readers (each getting every post)",
                f"{held:,.0f} held, {cell(lost, 0)} deliveries lost",
                None if plan.capacity < 20000 else held >= 20000 and lost == 0,
            )
        )
    lost, p99 = med(lt, "five.lost"), med(lt, "five.p99")
    floor = ""
    if "websockets" in servers:
        floor_p99 = cell(med("websockets", "five.p99"), 1)
        floor = f" (the Python floor, websockets broadcast(): {floor_p99} ms)"
    if p99 is not None:
        found.append(
            Target(
                "5,000 readers at 20 posts/s: nothing lost, p99 < 250 ms",
                f"lost {cell(lost, 0)}, p99 {cell(p99, 1)} ms{floor}",
                lost == 0 and p99 < 250,
            )
        )
    if "starlette" in servers:
        _, each = ratios(results, "starlette", "one.p99")
        inverse = [1 / r for r in each]
        share = median(inverse)
        found.append(
            Target(
                "1,000 readers at 20 posts/s: p99 ≤ 0.6x the Starlette loop's",
                f"{cell(med(lt, 'one.p99'), 1)} ms = {cell(share, 2)}x "
                f"(runs: {', '.join(f'{x:.2f}' for x in inverse)})",
                None if share is None else share <= 0.6,
            )
        )
    found += post_path_targets(med, servers)
    for key, text, bound, digits, better in (
        ("idle_mb", "memory ≤ 18 MB per 1,000 idle connections", 18.0, 1, "lower"),
        ("snap.ms", "snapshot of a 10,000-comment thread < 100 ms", 100.0, 1, "lower"),
        ("posts.rate", "≥ 500 durable posts/s through the API", 500.0, 0, "higher"),
        ("other.p99", "another thread's reader during the 5,000 broadcast: ≤ 50 ms (p99)", 50.0,
         1, "lower"),
    ):  # fmt: skip
        value = med(lt, key)
        if value is None:
            continue
        met = value < bound if better == "lower" else value >= bound
        extra = ""
        if key == "other.p99":
            extra = f" (max {cell(med(lt, 'other.max'), 1)} ms)"
            if "websockets" in servers:
                extra += f"; websockets broadcast(): {cell(med('websockets', key), 1)} ms"
        if key == "snap.ms":
            extra = f" ({cell(med(lt, 'snap.comments'), 0)} comments, first request "
            extra += f"{cell(med(lt, 'snap.first_ms'), 1)} ms)"
        found.append(Target(text, cell(value, digits) + extra, met))
    return found


def post_path_targets(
    med: Callable[[str, str], float | None], servers: Sequence[str]
) -> list[Target]:
    """Where comment sites live: the cost per post and per new reader (issue 19)."""
    lt = "livethread"
    found: list[Target] = []

    def ratio(peer: str, key: str) -> float | None:
        mine, theirs = med(lt, key), med(peer, key)
        return mine / theirs if mine is not None and theirs else None

    cpu = med(lt, "posts.cpu_us")
    if cpu is not None:
        found.append(Target("server CPU per committed post ≤ 400 µs", f"{cpu:,.0f} µs", cpu <= 400))
    # (peer, text, (key, unit, digits, the most livethread's figure may be of the peer's) x 2)
    against = (
        ("starlette", "1,000 threads x 5 readers at 200 posts/s: CPU per delivery ≤ 2x the "
         "Starlette loop's, p99 ≤ 2x", ("many.cpu_us", "µs", 1, 2.0), ("many.p99", "ms", 1, 2.0)),
        ("websockets", "CPU per new reader ≤ 1.2x the websockets library's; a 5,000-reader "
         "reconnect storm back no later than its", ("conn_cpu_us", "µs", 0, 1.2),
         ("storm.s", "s", 2, 1.0)),
    )  # fmt: skip
    for peer, text, *figures in against:
        shares = [ratio(peer, key) for key, *_ in figures]
        if peer not in servers or None in shares:
            continue
        found.append(
            Target(
                text,
                "; ".join(
                    f"{cell(med(lt, key), digits)} {unit} = {share:.2f}x"
                    for (key, unit, digits, _), share in zip(figures, shares, strict=True)
                ),
                all(
                    s is not None and s <= most
                    for s, (*_, most) in zip(shares, figures, strict=True)
                ),
            )
        )
    trip = med(lt, "two.p50")
    if trip is not None:
        found.append(
            Target("a post's trip to two readers: p50 ≤ 2 ms", f"{trip:.2f} ms", trip <= 2)
        )
    rest = med(lt, "rest_mb")
    if rest is not None:
        found.append(Target("a process at rest ≤ 45 MB", f"{rest:.1f} MB", rest <= 45))
    return found


def versions() -> list[str]:
    names = ("uvicorn", "starlette", "websockets", "redis", "picows", "python-socketio",
             "python-engineio", "uvloop", "msgspec")  # fmt: skip
    found = [f"Python {platform.python_version()}"]
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    try:
        server = subprocess.run(
            ["redis-server", "--version"], capture_output=True, text=True, timeout=10
        ).stdout.split()
        found.append("redis-server " + next(w[2:] for w in server if w.startswith("v=")))
    except (OSError, StopIteration, subprocess.SubprocessError):
        pass
    return found


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.partition(":")[2].strip()
            break
    memory = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = int(line.split()[1]) // (1024 * 1024)
    return f"{os.cpu_count()} x {model}, {memory} GiB, Linux {platform.release()}"


def revision() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "server"], cwd=ROOT, capture_output=True,
            text=True,
        ).stdout.strip()  # fmt: skip
    except OSError:
        return "unknown"
    return f"{head}" + (" + uncommitted changes in server/" if dirty else "")


def environment() -> dict[str, str]:
    """Where the run happens: noted when it starts, kept in results.json with its figures."""
    return {"revision": revision(), "machine": machine(), "versions": ", ".join(versions())}


def write_report(
    results: list[dict[str, Outcome]],
    servers: Sequence[str],
    plan: Plan,
    out: Path,
    started: datetime.datetime,
    seconds: float,
    env: dict[str, str],
) -> None:
    found = targets(results, servers, plan)
    lines = [
        "# Fan-out benchmark: livethread and the peers",
        "",
        f"Written by `python -m bench.fanout{' --quick' if plan.quick else ''}` on "
        f"{started:%Y-%m-%d %H:%M} UTC, {len(results)} run(s) in {seconds / 60:.1f} min; "
        f"livethread at {env['revision']}.",
        "",
        f"- Machine: {env['machine']}.",
        f"- Versions: {env['versions']}.",
        "- Each server: 2 processes on one private redis-server, readers split evenly; servers "
        "started afresh each run and interleaved (run 1: every server, then run 2 ...).",
        "- Load generator: one process of its own (picows readers on uvloop; publisher: "
        "livethread's HTTP API, for the peers Redis PUBLISH / socket.io's write-only manager); "
        "latency from the publish timestamp to arrival on CLOCK_MONOTONIC; frames ~350 bytes. "
        "The other thread's readers and their publisher run in a second, small load generator "
        "process (its CPU is added to the load generator's).",
        f"- Fixed-rate steps {plan.seconds:g} s, ladder steps {plan.ladder_seconds:g} s, each "
        f"followed by a drain of up to {plan.drain:g} s; lost = expected - received by then "
        "(so a server far behind loses what it would have delivered later).",
        "- Server CPU = utime + stime of both server processes over the step (including the "
        "drain), divided by the deliveries received. For livethread it includes taking the "
        "posts through its HTTP API and committing them to SQLite; the peers' publisher writes "
        "to Redis directly. Linux bills the loopback TCP work done in softirq to no process: it "
        "is in nobody's figure (shown as 'kernel softirq'); 'other processes' is everything "
        "else on the machine (other people's work on a shared box).",
        "- The load generator shares the 2 cores with the servers: where it or the machine is "
        "near its limit, the figure is the box's, not the server's.",
        "",
        f"## Results (median of {len(results)} run(s); (xr) = the peer's figure ÷ livethread's, "
        "median of the per-run ratios)",
        "",
        *table(results, servers),
        "",
        "## Targets (livethread)",
        "",
        "| target | livethread | met |",
        "|---|---|---|",
        *(
            f"| {t.text} | {t.value} | "
            f"{t.verdict or ('-' if t.met is None else 'yes' if t.met else '**no**')} |"
            for t in found
        ),
        "",
        "![latency against deliveries/s](latency.png)",
        "",
    ]
    profile = next(
        ((i, r["livethread"].profile) for i, r in enumerate(results, 1)
         if "livethread" in r and r["livethread"].profile),
        None,
    )  # fmt: skip
    if profile is not None and profile[1] is not None:
        run, found_profile = profile
        lines += [
            "## Where livethread's time goes (py-spy --native, 1,000 readers at 20 posts/s)",
            "",
            f"Run {run}, a repeat of the step (not itself measured), one of the two server "
            f"processes: busy {found_profile.busy:.0f}% of the time. Shares are of its busy "
            "samples; the other process's flame graph is profile.svg.",
            "",
            "| leaf frame (self time) | % | innermost Python function (with its native callees) "
            "| % |",
            "|---|---:|---|---:|",
            *(
                f"| `{a}` | {x:.1f} | `{b}` | {y:.1f} |"
                for (a, x), (b, y) in zip(found_profile.leaves, found_profile.python, strict=False)
            ),
            "",
        ]
    lines += ["## Every run", "", *per_run(results, servers)]
    (out / "RESULTS.md").write_text("\n".join(lines) + "\n" + _kept_sections(out / "RESULTS.md"))


# Sections of RESULTS.md that this run does not measure, carried over from the file it replaces.
KEPT_FROM = "## Figures behind design choices"


def _kept_sections(path: Path) -> str:
    text = path.read_text() if path.exists() else ""
    at = text.find(KEPT_FROM)
    return "" if at < 0 else "\n" + text[at:]


def write_chart(results: list[dict[str, Outcome]], servers: Sequence[str], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    colors = {"livethread": "#c0392b", "starlette": "#2980b9", "socketio": "#27ae60",
              "websockets": "#8e44ad"}  # fmt: skip
    fig, ax = plt.subplots(figsize=(9, 5.5), dpi=110)
    for server in servers:
        for i, run in enumerate(results):
            outcome = run.get(server)
            if outcome is None:
                continue
            points = [p for p in outcome.ladder if p["p99"] is not None and p["dps"] > 0]
            if not points:
                continue
            xs = [p["dps"] for p in points]
            alpha = 1.0 if i == 0 else 0.45
            label = LABELS[server] if i == 0 else None
            ax.plot(xs, [p["p99"] for p in points], "-o", color=colors[server], alpha=alpha,
                    label=f"{label} p99" if label else None, markersize=4)  # fmt: skip
            ax.plot(xs, [p["p50"] for p in points], "--", color=colors[server], alpha=alpha,
                    label=f"{label} p50" if label else None, linewidth=1)  # fmt: skip
    ax.axhline(P99_LIMIT_MS, color="grey", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    thousands = FuncFormatter(lambda x, _: f"{x / 1000:g}k")
    ax.xaxis.set_major_formatter(thousands)
    ax.xaxis.set_minor_formatter(thousands)
    ax.tick_params(axis="x", which="minor", labelsize=7)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
    ax.text(
        0.01, P99_LIMIT_MS * 1.08, "p99 limit 1 s", color="grey", fontsize=8,
        transform=ax.get_yaxis_transform(),
    )  # fmt: skip
    ax.set_xlabel("deliveries received per second (5,000 readers on one thread)")
    ax.set_ylabel("latency, publish → reader (ms)")
    ax.set_title(
        f"Fan-out ladder, 2 server processes each, {os.cpu_count()} cores "
        f"({len(results)} run(s); later runs fainter)"
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(out / "latency.png")
    plt.close(fig)


def dump(
    results: list[dict[str, Outcome]],
    servers: Sequence[str],
    plan: Plan,
    started: datetime.datetime,
    seconds: float,
    env: dict[str, str],
    path: Path,
) -> None:
    """The raw figures, from which `--report-from` writes the report and chart again."""
    runs = [
        {
            server: {
                "metrics": o.metrics,
                "ladder": o.ladder,
                "notes": o.notes,
                "profile": None if o.profile is None else vars(o.profile),
            }
            for server, o in run.items()
        }
        for run in results
    ]
    data = {
        "started": started.isoformat(),
        "seconds": seconds,
        "servers": list(servers),
        "environment": env,
        "plan": vars(plan),
        "runs": runs,
    }
    path.write_text(json.dumps(data, indent=1) + "\n")


def load(
    path: Path,
) -> tuple[list[dict[str, Outcome]], list[str], Plan, datetime.datetime, float, dict[str, str]]:
    data = json.loads(path.read_text())
    plan = Plan(**{**data["plan"], "ladder_low": tuple(data["plan"]["ladder_low"])})
    results = [
        {
            server: Outcome(
                metrics=o["metrics"],
                ladder=o["ladder"],
                notes=o["notes"],
                profile=None
                if o["profile"] is None
                else Profile(
                    busy=o["profile"]["busy"],
                    leaves=[(n, x) for n, x in o["profile"]["leaves"]],
                    python=[(n, x) for n, x in o["profile"]["python"]],
                ),
            )
            for server, o in run.items()
        }
        for run in data["runs"]
    ]
    started = datetime.datetime.fromisoformat(data["started"])
    env = data.get("environment") or environment()
    return results, data["servers"], plan, started, float(data["seconds"]), env


# --- main ------------------------------------------------------------------------------------


async def run_all(
    plan: Plan, servers: Sequence[str], out: Path, profile: bool, store: str = "sqlite"
) -> int:
    started = datetime.datetime.now(datetime.UTC)
    env = environment()
    t0 = time.monotonic()
    results: list[dict[str, Outcome]] = []
    failed = False
    # Ctrl-C / SIGTERM: end the server run in progress (its processes are stopped) and stop.
    stopping = asyncio.Event()
    main = asyncio.current_task()
    loop = asyncio.get_running_loop()

    def interrupt() -> None:
        stopping.set()
        if main is not None:
            main.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, interrupt)
    for run in range(plan.runs):
        results.append({})
        for name in servers:
            if stopping.is_set():
                log("interrupted: no report")
                return 130
            log(f"run {run + 1}/{plan.runs}: {LABELS[name]}")
            try:
                results[-1][name] = await run_server(
                    name, plan, out if profile and run == 0 else None, store
                )
            except asyncio.CancelledError:
                if stopping.is_set():
                    log("interrupted: no report")
                    return 130
                raise
            except Exception as exc:
                failed = True
                log(f"  {name} failed: {type(exc).__name__}: {exc}")
                results[-1][name] = Outcome(notes=[f"failed: {type(exc).__name__}: {exc}"])
            dump(results, servers, plan, started, time.monotonic() - t0, env, out / "results.json")
    seconds = time.monotonic() - t0
    write_report(results, servers, plan, out, started, seconds, env)
    write_chart(results, servers, out)
    log(f"done in {seconds / 60:.1f} min: {out / 'RESULTS.md'}, {out / 'latency.png'}")
    print((out / "RESULTS.md").read_text())
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fanout",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="a short sanity run (~5 min)")
    parser.add_argument("--runs", type=int, help="runs per server (default 2; --quick 1)")
    parser.add_argument(
        "--servers", default=",".join(SERVERS), help=f"comma-separated subset of {SERVERS}"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy on livethread during a repeat of the 1,000-reader step (bench/profile.svg)",
    )
    parser.add_argument(
        "--out", type=Path, help="output directory (default bench/; --quick: a temporary one)"
    )
    parser.add_argument(
        "--store",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="livethread's store: a SQLite file, or a private PostgreSQL cluster",
    )
    parser.add_argument(
        "--report-from",
        type=Path,
        metavar="RESULTS_JSON",
        help="measure nothing: write the report and chart again from a results.json",
    )
    args = parser.parse_args(argv)
    if args.report_from:
        results, names, plan, started, seconds, env = load(args.report_from)
        out = args.out or args.report_from.parent
        out.mkdir(parents=True, exist_ok=True)
        write_report(results, names, plan, out, started, seconds, env)
        write_chart(results, names, out)
        log(f"written: {out / 'RESULTS.md'}, {out / 'latency.png'}")
        return 0
    plan = QUICK if args.quick else FULL
    if args.runs:
        plan = replace(plan, runs=args.runs)
    servers = [s for s in args.servers.split(",") if s]
    unknown = set(servers) - set(SERVERS)
    if unknown:
        parser.error(f"unknown servers: {', '.join(sorted(unknown))}")
    # A quick run is a sanity check: it leaves the committed results alone.
    out = args.out or (
        Path(tempfile.gettempdir()) / "livethread-bench-quick" if args.quick else BENCH
    )
    out.mkdir(parents=True, exist_ok=True)
    return asyncio.run(run_all(plan, servers, out, args.profile, args.store))


if __name__ == "__main__":
    sys.exit(main())
