"""The chaos run: readers on two server processes while Redis and the processes are hit.

    python -m tests.chaos [--readers N] [--seconds S] [--rate R] [--seed X]

Real parts only, all on loopback: a private redis-server, two `livethread serve` processes on one
SQLite file, N reconnecting readers (tests/support/follower.py, which behaves like the widget)
split over the two. For S seconds it posts R comments a second, alternately through each process
(each post with an idempotency key, retried through the other process when one fails), and a
moderator removes one post in ten shortly after it is acknowledged. Meanwhile, at moments drawn
from the seed, Redis is stopped and started again on its port, and one server process is killed
with SIGKILL and started again on its port; its readers reconnect (full-jitter backoff) to the
other process or the restarted one and resume with `since`.

At the end every reader must reach the thread's final seq (bounded wait); then the checker
compares what each reader got with what the database committed, and a markdown table is printed.
Exit status 1 if anything was lost, duplicated, out of order, resurrected, or acknowledged but
missing from the database (or stored twice despite its idempotency key).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx

from server import events
from server.model import ThreadKey
from server.settings import Settings
from server.storage import Storage
from server.web.app import store_for
from tests.support.checker import Report, Truth, check
from tests.support.clients import comment_json, provision
from tests.support.follower import Follower
from tests.support.redis_server import RedisServer
from tests.support.server import ServerProcess, serve_process

SITE, THREAD = "news", "article-1"
HTTP_TIMEOUT = 5.0  # one HTTP attempt
ATTEMPTS = 8  # per post or removal, alternating between the two processes
START_ATTEMPTS = 5  # starting a server process on its old port
CONNECT_WITHIN = 60.0  # every reader's first hello
DRAIN_WITHIN = 60.0  # posts and removals still in flight when posting stops
CONVERGE_WITHIN = 60.0  # every reader at the final seq
# The widget's backoff (client-js/src/backoff.js) starts at 0.5 s; the cap is lower here so a
# short run converges within its bounds.
BACKOFF = (0.5, 5.0)

FaultKind = Literal["redis", "server"]


@dataclass(frozen=True)
class Fault:
    """One fault: at `at` seconds into the posting, `kind` goes down for `down` seconds."""

    at: float
    kind: FaultKind
    down: float
    target: int = 0  # which server process (0 or 1) for a server kill
    crash: bool = False  # Redis: SIGKILL rather than SIGTERM

    def describe(self) -> str:
        if self.kind == "server":
            return f"server {'AB'[self.target]} SIGKILL"
        return "Redis SIGKILL" if self.crash else "Redis stop"


@dataclass(frozen=True)
class Config:
    readers: int = 200
    seconds: float = 60.0
    rate: float = 10.0  # posts per second
    seed: int = 1
    remove_every: int = 10  # one post in this many is removed by a moderator
    # None: drawn from the seed (at least one Redis restart and one server kill).
    faults: tuple[Fault, ...] | None = None


def schedule(config: Config, rng: random.Random) -> tuple[Fault, ...]:
    """Fault moments for a run: about one Redis restart and one server kill per 20 s.

    The middle of the run (10% to 80%) is cut into one slot per fault, in a random order of
    kinds; each fault starts at a random moment in the first quarter of its slot and is over
    before the slot's middle, so the time every reader takes to catch up is measured per fault.
    """
    if config.faults is not None:
        return config.faults
    each = max(1, round(config.seconds / 20))
    kinds: list[FaultKind] = ["redis", "server"] * each
    rng.shuffle(kinds)
    slot = 0.7 * config.seconds / len(kinds)
    # Kills alternate between the processes: the readers a kill moves to the other process are
    # the ones the next kill hits.
    target = rng.randrange(2)
    faults: list[Fault] = []
    for i, kind in enumerate(kinds):
        at = 0.1 * config.seconds + i * slot + rng.uniform(0, slot / 4)
        down = rng.uniform(0.2, min(2.0, slot / 4))
        faults.append(Fault(at=at, kind=kind, down=down, target=target, crash=rng.random() < 0.5))
        if kind == "server":
            target = 1 - target
    return tuple(faults)


@dataclass
class Result:
    config: Config
    faults: tuple[Fault, ...]
    final_seq: int = 0
    posts_tried: int = 0
    posts_acked: int = 0
    removals_tried: int = 0
    removals_acked: int = 0
    delivered: list[int] = field(default_factory=list)
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    resurrected: int = 0
    missing_in_db: int = 0
    stored_twice: int = 0
    not_converged: int = 0
    reconnects: int = 0
    resyncs: int = 0
    gaps: int = 0
    server_errors: list[str] = field(default_factory=list)
    # When each fault started (seconds into the posting).
    started: list[float] = field(default_factory=list)
    # Per server kill: readers that reconnected after it, and the last one's delay (seconds).
    moved: list[tuple[int, float] | None] = field(default_factory=list)
    # Seconds from the end of each fault until every reader held every event committed by then.
    caught_up: list[float | None] = field(default_factory=list)
    after_last_post: float | None = None

    @property
    def failed(self) -> bool:
        return bool(
            self.lost
            or self.duplicated
            or self.out_of_order
            or self.resurrected
            or self.missing_in_db
            or self.stored_twice
        )

    def table(self) -> str:
        c = self.config
        rows: list[tuple[str, str]] = [
            ("readers / seconds / posts per second / seed", f"{c.readers} / {c.seconds:g} / "
             f"{c.rate:g} / {c.seed}"),
            ("faults", f"{sum(f.kind == 'redis' for f in self.faults)} Redis restarts, "
             f"{sum(f.kind == 'server' for f in self.faults)} server kills (below)"),
            ("posts acknowledged", f"{self.posts_acked} of {self.posts_tried}"),
            ("removals acknowledged", f"{self.removals_acked} of {self.removals_tried}"),
            ("final seq", str(self.final_seq)),
            ("delivered per client (min / median / max)", _spread(self.delivered)),
            ("lost", str(self.lost)),
            ("duplicated", str(self.duplicated)),
            ("out of order", str(self.out_of_order)),
            ("resurrected", str(self.resurrected)),
            ("acknowledged but missing in DB", str(self.missing_in_db)),
            ("stored twice (same idempotency key)", str(self.stored_twice)),
            ("reconnects / resyncs / gaps seen", f"{self.reconnects} / {self.resyncs} / "
             f"{self.gaps}"),
            ("all clients converged after the last fault", _seconds(self.caught_up[-1:])),
            ("all clients at the final seq after the last post", _seconds([self.after_last_post])),
            ("server errors logged", str(len(self.server_errors))),
        ]  # fmt: skip
        lines = ["| measure | value |", "|---|---|"]
        lines += [f"| {name} | {value} |" for name, value in rows]
        lines += [
            "",
            "| fault | at | down for | its readers back on a process within | all readers "
            "caught up after it ended |",
            "|---|---|---|---|---|",
        ]
        for fault, at, moved, caught in zip(
            self.faults, self.started, self.moved, self.caught_up, strict=False
        ):
            back = "-" if moved is None else f"{moved[0]} readers, {moved[1]:.2f} s"
            lines.append(
                f"| {fault.describe()} | {at:.1f} s | {fault.down:.1f} s | {back} "
                f"| {_seconds([caught])} |"
            )
        return "\n".join(lines)


def _spread(values: list[int]) -> str:
    if not values:
        return "-"
    return f"{min(values)} / {statistics.median(values):g} / {max(values)}"


def _seconds(values: list[float | None]) -> str:
    if not values:
        return "-"
    value = values[0]
    return "did not converge" if value is None else f"{value:.2f} s"


def raise_file_limit(needed: int) -> None:
    """Every socket is a file descriptor: lift this process's soft limit to its hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return
    target = max(soft, 4 * needed) if hard == resource.RLIM_INFINITY else hard
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < needed:
        raise RuntimeError(f"needs {needed} file descriptors; the hard limit is {hard}")


class Cluster:
    """Two `livethread serve` processes that can be killed and started again on their ports."""

    def __init__(self, args: tuple[str, ...], env: dict[str, str]) -> None:
        self._args = args
        self._env = env
        self.ports = [0, 0]
        self.running: list[ServerProcess | None] = [None, None]
        self._stacks = [AsyncExitStack(), AsyncExitStack()]
        self.logs: list[bytes] = []

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    async def start(self, i: int) -> None:
        error: Exception | None = None
        for _ in range(START_ATTEMPTS):
            stack = AsyncExitStack()
            try:
                running = await stack.enter_async_context(
                    serve_process(*self._args, env=self._env, port=self.ports[i])
                )
            except RuntimeError as exc:  # e.g. the port is briefly taken: try again
                await stack.aclose()
                error = exc
                continue
            self._stacks[i], self.running[i], self.ports[i] = stack, running, running.port
            return
        raise RuntimeError(f"server {i} did not start on port {self.ports[i]}: {error}")

    async def kill(self, i: int) -> None:
        running = self.running[i]
        if running is None:
            return
        running.process.kill()
        async with asyncio.timeout(10):
            await running.process.wait()
        await self._forget(i)

    async def close(self) -> None:
        for i in (0, 1):
            await self._forget(i)

    async def _forget(self, i: int) -> None:
        running, self.running[i] = self.running[i], None
        await self._stacks[i].aclose()
        if running is not None:
            self.logs.extend(running.log)


async def _with_retries(
    attempt: Callable[[str], Awaitable[httpx.Response]],
    servers: Callable[[], list[str]],
    first: int,
    ok: int,
) -> httpx.Response | None:
    """Try one server then the other until one answers `ok`; None after ATTEMPTS failures.

    Connection errors, timeouts, 5xx and 409 (the same key still in flight) are retried; any
    other answer is final.
    """
    for n in range(ATTEMPTS):
        base = servers()[(first + n) % 2]
        try:
            answer = await attempt(base)
        except httpx.TransportError:
            answer = None
        if answer is not None:
            if answer.status_code == ok:
                return answer
            if answer.status_code < 500 and answer.status_code != 409:
                return None
        # Backoff between attempts (the other process is tried at once the first time).
        await asyncio.sleep(0 if n == 0 else random.uniform(0.05, 0.1 * 2 ** min(n, 4)))
    return None


class Writer:
    """Posts at a steady rate and removes some posts, recording what was acknowledged."""

    def __init__(
        self, http: httpx.AsyncClient, cluster: Cluster, token: str, rng: random.Random
    ) -> None:
        self._http = http
        self._cluster = cluster
        self._token = token
        self._rng = rng
        self.acked: dict[str, str] = {}  # comment id -> body
        self.removed: set[str] = set()
        self.posts = 0
        self.removals = 0
        self.last_ack = 0.0
        self._tasks: set[asyncio.Task[None]] = set()

    def post(self, n: int, remove: bool) -> None:
        self._spawn(self._post(n, remove))

    async def drain(self, within: float) -> None:
        async with asyncio.timeout(within):
            while self._tasks:
                await asyncio.gather(*self._tasks)

    def _spawn(self, work: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, n: int, remove: bool) -> None:
        self.posts += 1
        body = f"chaos post #{n}"
        headers = {"Idempotency-Key": uuid.uuid4().hex}

        async def attempt(base: str) -> httpx.Response:
            return await self._http.post(
                f"{base}/api/v1/comments", json=comment_json(body=body), headers=headers
            )

        answer = await _with_retries(attempt, lambda: self._cluster.urls, n % 2, 201)
        if answer is None:
            return
        comment = answer.json()["comment"]
        self.acked[comment["id"]] = body
        self.last_ack = time.monotonic()
        if remove:
            # "Shortly after": a moderator reacting to a post, not synchronisation.
            await asyncio.sleep(self._rng.uniform(0.1, 1.0))
            await self._remove(comment["id"], n)

    async def _remove(self, comment_id: str, n: int) -> None:
        self.removals += 1

        async def attempt(base: str) -> httpx.Response:
            return await self._http.post(
                f"{base}/api/v1/comments/{comment_id}/moderation",
                json={"action": "remove", "reason": "chaos"},
                headers={"Authorization": f"Bearer {self._token}"},
            )

        # A repeated removal changes nothing, so retrying one that may have committed is safe.
        if await _with_retries(attempt, lambda: self._cluster.urls, n % 2 + 1, 200) is not None:
            self.removed.add(comment_id)
            self.last_ack = time.monotonic()


async def _committed_seq(store: Storage) -> int:
    return (await store.threads.state(ThreadKey(SITE, THREAD))).seq


async def _all_reach(readers: list[Follower], seq: int, within: float) -> int:
    """Wait until every reader holds `seq`; returns how many did not within the bound."""
    results = await asyncio.gather(
        *(r.reach(seq, within=within) for r in readers), return_exceptions=True
    )
    return sum(1 for outcome in results if isinstance(outcome, BaseException))


async def _caught_up(readers: list[Follower], seq: int, since: float) -> float | None:
    missed = await _all_reach(readers, seq, CONVERGE_WITHIN)
    return None if missed else time.monotonic() - since


def _moved(
    readers: list[Follower], faults: list[tuple[float, bool]]
) -> list[tuple[int, float] | None]:
    """Per server kill: how many readers said hello again before the next fault, and how long
    after the kill the last of them did."""
    moved: list[tuple[int, float] | None] = []
    for i, (begun, kill) in enumerate(faults):
        if not kill:
            moved.append(None)
            continue
        until = faults[i + 1][0] if i + 1 < len(faults) else float("inf")
        back = [
            min(h for h in r.hellos if begun < h < until) - begun
            for r in readers
            if any(begun < h < until for h in r.hellos)
        ]
        moved.append((len(back), max(back, default=0.0)))
    return moved


def _came_back(reader: Follower, removed: set[str]) -> set[str]:
    """Removed comments whose text the reader shows, or received again after their removal."""
    back = {cid for cid in removed if reader.shown.get(cid) is not None}
    gone: set[str] = set()
    for frame in reader.received:
        if isinstance(frame, events.CommentRemoved):
            gone.add(frame.id)
        elif (
            isinstance(frame, events.CommentCreated | events.CommentEdited)
            and frame.comment.id in gone
            and frame.comment.html is not None
        ):
            back.add(frame.comment.id)
    return back


async def _snapshot_shows(http: httpx.AsyncClient, base: str, removed: set[str]) -> set[str]:
    """Removed comments whose text a snapshot from `base` still carries."""
    answer = await http.get(f"{base}/api/v1/threads", params={"site": SITE, "thread": THREAD})
    answer.raise_for_status()
    return {
        c["id"] for c in answer.json()["comments"] if c["id"] in removed and c["html"] is not None
    }


async def run(config: Config, workdir: Path, database: str | None = None) -> Result:
    """One chaos run in `workdir` on `database` (by default a SQLite file in `workdir`)."""
    rng = random.Random(config.seed)
    random.seed(config.seed)  # the readers' jitter and the retries' backoff
    faults = schedule(config, rng)
    result = Result(config=config, faults=faults)
    raise_file_limit(config.readers + 300)
    database = database or f"sqlite:///{workdir / 'chaos.db'}"
    tokens = await provision(Settings(database=database))
    budget = config.seconds + CONNECT_WITHIN + DRAIN_WITHIN + 3 * CONVERGE_WITHIN
    with RedisServer() as redis:
        async with asyncio.timeout(budget), AsyncExitStack() as stack:
            cluster = Cluster(
                ("--database", database, "--redis", redis.url),
                {"LIVETHREAD_BUS_PREFIX": f"chaos-{uuid.uuid4().hex}:"},
            )
            stack.push_async_callback(cluster.close)
            await cluster.start(0)
            await cluster.start(1)
            store = store_for(Settings(database=database))
            await store.open()
            stack.push_async_callback(store.close)
            http = await stack.enter_async_context(
                httpx.AsyncClient(timeout=HTTP_TIMEOUT, limits=httpx.Limits(max_connections=64))
            )
            readers = [
                Follower(cluster.urls, SITE, THREAD, name=f"reader-{i}", backoff=BACKOFF)
                for i in range(config.readers)
            ]
            stack.push_async_callback(lambda: asyncio.gather(*(r.stop() for r in readers)))
            for i, r in enumerate(readers):
                r.start(preferred=i % 2)
            await asyncio.gather(*(r.connected(within=CONNECT_WITHIN) for r in readers))

            writer = Writer(http, cluster, tokens.news, rng)
            started = time.monotonic()
            measures: list[asyncio.Task[float | None]] = []
            kills: list[tuple[float, bool]] = []  # per fault: when it began, whether a kill

            async def inject() -> None:
                for fault in faults:
                    # A random moment, not synchronisation.
                    await asyncio.sleep(max(0.0, started + fault.at - time.monotonic()))
                    begun = time.monotonic()
                    result.started.append(begun - started)
                    if fault.kind == "redis":
                        await asyncio.to_thread(redis.stop, graceful=not fault.crash)
                        await asyncio.sleep(fault.down)  # the outage
                        await asyncio.to_thread(redis.start)
                    else:
                        await cluster.kill(fault.target)
                        await asyncio.sleep(fault.down)  # the outage
                        await cluster.start(fault.target)
                    ended, seq = time.monotonic(), await _committed_seq(store)
                    measures.append(asyncio.create_task(_caught_up(readers, seq, ended)))
                    kills.append((begun, fault.kind == "server"))

            injector = asyncio.create_task(inject())
            total = int(config.seconds * config.rate)
            for n in range(total):
                # Pacing a steady rate.
                await asyncio.sleep(max(0.0, started + n / config.rate - time.monotonic()))
                writer.post(n, remove=n % config.remove_every == config.remove_every - 1)
            await writer.drain(DRAIN_WITHIN)
            async with asyncio.timeout(CONVERGE_WITHIN):
                await injector

            result.final_seq = await _committed_seq(store)
            result.not_converged = await _all_reach(readers, result.final_seq, CONVERGE_WITHIN)
            if not result.not_converged:
                result.after_last_post = time.monotonic() - writer.last_ack
            result.caught_up = list(await asyncio.gather(*measures))
            result.moved = _moved(readers, kills)

            # A late reader per process replays the whole thread from 0: removed text must not
            # come back through a replay or a snapshot either.
            late = [Follower([url], SITE, THREAD, name=f"late-{url}") for url in cluster.urls]
            stack.push_async_callback(lambda: asyncio.gather(*(r.stop() for r in late)))
            for r in late:
                r.start()
            result.not_converged += await _all_reach(late, result.final_seq, CONVERGE_WITHIN)

            truth = Truth.of(await store.log.events_after(ThreadKey(SITE, THREAD), 0, 10**9))
            _, records = await store.comments.of_thread(ThreadKey(SITE, THREAD))
            removed = truth.removed
            reports: list[Report] = [check(truth, r) for r in [*readers, *late]]
            result.delivered = [len(r.received) for r in readers]
            result.lost = sum(rep.missing for rep in reports)
            result.duplicated = sum(rep.duplicated for rep in reports)
            result.out_of_order = sum(rep.out_of_order for rep in reports)
            back = [_came_back(r, removed) for r in [*readers, *late]]
            for url in cluster.urls:
                back.append(await _snapshot_shows(http, url, removed))
            result.resurrected = sum(len(b) for b in back)
            result.posts_tried, result.posts_acked = writer.posts, len(writer.acked)
            result.removals_tried, result.removals_acked = writer.removals, len(writer.removed)
            result.missing_in_db = len(truth.lost(writer.acked)) + len(writer.removed - removed)
            bodies = collections.Counter(r.body_source for r in records)
            result.stored_twice = sum(count - 1 for count in bodies.values() if count > 1)
            result.reconnects = sum(len(r.hellos) - 1 for r in readers)
            result.resyncs = sum(r.resyncs for r in readers)
            result.gaps = sum(r.gaps for r in readers)
            # Readers first, so that none reconnects while the processes shut down.
            await asyncio.gather(*(r.stop() for r in [*readers, *late]))
            await cluster.close()
            result.server_errors = [
                line.decode(errors="replace").rstrip()
                for line in cluster.logs
                if any(word in line for word in (b"ERROR", b"CRITICAL", b"Traceback"))
            ]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--readers", type=int, default=Config.readers)
    parser.add_argument("--seconds", type=float, default=Config.seconds)
    parser.add_argument("--rate", type=float, default=Config.rate, help="posts per second")
    parser.add_argument("--seed", type=int, default=Config.seed)
    args = parser.parse_args(argv)
    config = Config(readers=args.readers, seconds=args.seconds, rate=args.rate, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="livethread-chaos-") as workdir:
        started = time.monotonic()
        result = asyncio.run(run(config, Path(workdir)))
    print(result.table())
    print(f"\n(run took {time.monotonic() - started:.0f} s)")
    for line in result.server_errors[:20]:
        print(f"server: {line}", file=sys.stderr)
    if result.failed:
        print("chaos run FAILED: an invariant was broken", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
