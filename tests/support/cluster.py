"""Several real `livethread serve` processes on one SQLite file (and, optionally, one private
Redis), for tests of what happens when processes, Redis or connections fail.

    with RedisServer() as redis_server:
        async with cluster(tmp_path, redis=redis_server) as c:
            a = await c.start()
            b = await c.start(env={"LIVETHREAD_FAULT": "crash-after-commit"})
            ...
            b.process.kill(); await exited(b)      # a crash
            b2 = await c.start(port=b.port)        # its replacement, on the same port
            truth = await c.truth()                # what the database committed

Every process started through the cluster is stopped (SIGTERM, then waited for) when the
`async with` ends, in reverse order of starting; one that already died is only reaped.
Without `redis`, processes use the in-process bus: run only one at a time then.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from server.model import ThreadKey
from server.settings import Settings
from server.storage import Storage
from server.web.app import store_for
from tests.support.checker import Truth, check
from tests.support.clients import WAIT, Tokens, comment_json, decode_json, provision
from tests.support.follower import Follower
from tests.support.redis_cluster import RedisCluster
from tests.support.redis_server import RedisServer
from tests.support.server import LOOPBACK, ServerProcess, serve_process

SITE, THREAD = "news", "article-1"
EXIT_TIMEOUT = 10.0


@asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[Storage]:
    """The store of `settings`, opened for the length of the block (read what was committed)."""
    store = store_for(settings)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@dataclass
class Cluster:
    """A shared database (and Redis) and the server processes started on it."""

    database: str
    redis: RedisServer | RedisCluster | None
    tokens: Tokens
    # LIVETHREAD_* variables every process gets (a private bus prefix, the log level).
    env: dict[str, str]
    processes: list[ServerProcess] = field(default_factory=list)
    # The database and Redis URLs as the processes reach them, when that is by another
    # address than the test's (processes on other network hosts); None: the same URLs.
    hosts_database: str | None = None
    hosts_redis: str | None = None
    _stack: AsyncExitStack = field(default_factory=AsyncExitStack)

    @property
    def settings(self) -> Settings:
        """Settings naming the shared database (and Redis), for opening the store in the test."""
        return Settings(
            database=self.database, redis=None if self.redis is None else self.redis.url
        )

    def args(self) -> tuple[str, ...]:
        """The `livethread serve` arguments every process of the cluster gets."""
        redis_url = self.hosts_redis or (None if self.redis is None else self.redis.url)
        redis = () if redis_url is None else ("--redis", redis_url)
        return ("--database", self.hosts_database or self.database, *redis)

    async def start(
        self,
        env: dict[str, str] | None = None,
        port: int = 0,
        *,
        prefix: tuple[str, ...] = (),
        host: str = LOOPBACK,
        cwd: Path | None = None,
    ) -> ServerProcess:
        """One more `livethread serve` process, listening once this returns.

        `env` adds or overrides variables for this process only (e.g. `LIVETHREAD_FAULT`);
        `port` asks for a given port (a restart where a dead process listened); `prefix`,
        `host` and `cwd` place it elsewhere (see `serve_process`).
        """
        process = await self._stack.enter_async_context(
            serve_process(
                *self.args(),
                env={**self.env, **(env or {})},
                port=port,
                prefix=prefix,
                host=host,
                cwd=cwd,
            )
        )
        self.processes.append(process)
        return process

    async def truth(self, site: str = SITE, thread: str = THREAD) -> Truth:
        """The thread's committed events, read from the database."""
        async with opened(self.settings) as store:
            return Truth.of(await store.log.events_after(ThreadKey(site, thread), 0, 1_000_000))

    async def close(self) -> None:
        await self._stack.aclose()


@asynccontextmanager
async def cluster(
    database: str,
    *,
    redis: RedisServer | RedisCluster | None = None,
    site: str = SITE,
    hosts_database: str | None = None,
    hosts_redis: str | None = None,
) -> AsyncIterator[Cluster]:
    """The fresh database at `database` (the test's `database_url`) with `site` provisioned (see
    `provision`); no process yet. `hosts_database` and `hosts_redis` are the URLs the
    processes get instead, when they reach the two by other addresses than the test."""
    tokens = await provision(Settings(database=database), site)
    env = {"LIVETHREAD_BUS_PREFIX": f"test-{uuid.uuid4().hex}:", "LIVETHREAD_LOG_LEVEL": "info"}
    running = Cluster(
        database=database,
        redis=redis,
        tokens=tokens,
        env=env,
        hosts_database=hosts_database,
        hosts_redis=hosts_redis,
    )
    try:
        yield running
    finally:
        await running.close()


async def exited(process: ServerProcess, within: float = EXIT_TIMEOUT) -> int:
    """Wait (bounded) for a server process to end; its return code (-N: killed by signal N)."""
    async with asyncio.timeout(within):
        return await process.process.wait()


def log_text(process: ServerProcess) -> str:
    """A process's stderr so far, for assertion messages."""
    return b"".join(process.log).decode(errors="replace")


async def post(
    http: httpx.AsyncClient,
    base: str,
    body: str,
    *,
    thread: str = THREAD,
    headers: dict[str, str] | None = None,
) -> dict[str, object]:
    """POST a comment through `base`; asserts 201 and returns the answer's `comment`."""
    answer = await http.post(
        f"{base}/api/v1/comments", json=comment_json(body=body, thread=thread), headers=headers
    )
    assert answer.status_code == 201, answer.text
    comment = decode_json(answer.content)["comment"]
    assert isinstance(comment, dict)
    return comment


async def snapshot(
    http: httpx.AsyncClient, base: str, site: str = SITE, thread: str = THREAD
) -> dict[str, object]:
    """GET the thread's reader snapshot through `base`."""
    answer = await http.get(f"{base}/api/v1/threads", params={"site": site, "thread": thread})
    assert answer.status_code == 200, answer.text
    return decode_json(answer.content)


@asynccontextmanager
async def following(
    processes: list[ServerProcess],
    site: str = SITE,
    thread: str = THREAD,
    *,
    each: int = 1,
    fail_over: bool = False,
) -> AsyncIterator[list[Follower]]:
    """`each` readers on each server process (in process order), connected when the block
    starts, stopped after it. With `fail_over`, a reader whose connection ends moves on to the
    next process (its own first, then the others in order), resuming with `since`."""
    readers = [
        Follower(
            [p.http, *(q.http for q in (processes[n + 1 :] + processes[:n]) if fail_over)],
            site,
            thread,
            name=f"on-{n}" if each == 1 else f"on-{n}.{k}",
        )
        for n, p in enumerate(processes)
        for k in range(each)
    ]
    for r in readers:
        r.start()
    try:
        for r in readers:
            await r.connected()
        yield readers
    finally:
        for r in readers:
            await r.stop()


async def everyone_got(
    running: Cluster, readers: list[Follower], acknowledged: list[str], total: int
) -> None:
    """The store holds seqs 1..total with every acknowledged post, and every reader applied
    all of them once, in seq order (what the checker calls clean)."""
    for r in readers:
        await r.reach(total)
    truth = await running.truth()
    assert [e.seq for e in truth.events] == list(range(1, total + 1))
    assert truth.lost(acknowledged) == set() and len(truth.created) == total
    for report in [check(truth, r) for r in readers]:
        assert report.clean, report
    for r in readers:
        assert [e.seq for e in r.received] == list(range(1, total + 1))


async def killed_mid_wave(database_url: str) -> tuple[set[str], dict[str, object]]:
    """40 posts made at once (so committed in groups) through a real server process, then a
    second wave of 40 with the process SIGKILLed as its first answer arrives; a new process
    started on the same database. The ids of the posts acknowledged (201) and the thread's
    snapshot as the new process serves it."""
    async with cluster(database_url) as c:
        a = await c.start(env={"LIVETHREAD_GROUP_COMMIT": "64"})
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(timeout=WAIT, limits=limits) as http:

            async def one(n: int) -> str | None:
                try:
                    answer = await http.post(
                        f"{a.http}/api/v1/comments",
                        json=comment_json(body=f"durable {n}"),
                    )
                except httpx.HTTPError:
                    return None  # the process died before answering: not acknowledged
                if answer.status_code != 201:
                    return None
                comment = decode_json(answer.content)["comment"]
                assert isinstance(comment, dict)
                return str(comment["id"])

            async with asyncio.timeout(WAIT):
                first_wave = await asyncio.gather(*(one(n) for n in range(40)))
            assert None not in first_wave, log_text(a)
            second_wave = [asyncio.create_task(one(n)) for n in range(40, 80)]
            async with asyncio.timeout(WAIT):
                await asyncio.wait(second_wave, return_when=asyncio.FIRST_COMPLETED)
            a.process.send_signal(signal.SIGKILL)
            assert await exited(a) == -signal.SIGKILL
            async with asyncio.timeout(WAIT):
                later = await asyncio.gather(*second_wave)
            acknowledged = {i for i in [*first_wave, *later] if i is not None}
            assert len(acknowledged) >= 40
            b = await c.start()
            thread = await snapshot(http, b.http)
    return acknowledged, thread
