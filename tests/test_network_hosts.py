"""Three livethread hosts that share nothing but PostgreSQL and Redis, one of them SIGKILLed in
the middle of a wave of posts (issue 15, item 5).

Where the machine allows it (root, `ip netns`), each server process runs on a network host of
its own: a namespace on a private subnet (tests/support/netns.py), reached by the readers and
reaching PostgreSQL and Redis over veth links, as separate machines would. Elsewhere the three
run as separate processes on 127.0.0.1, each in its own working folder with its own HOME and
TMPDIR. The test reports which ran (the `hosts` property, and a line printed: `pytest -rP`).
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import os
import subprocess
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest

from tests.support import netns
from tests.support.clients import WAIT, comment_json, decode_json
from tests.support.cluster import Cluster, cluster, everyone_got, exited, following
from tests.support.postgres import PostgresServer
from tests.support.redis_server import RedisServer
from tests.support.server import LOOPBACK, ServerProcess

Record = Callable[[str, object], None]
T = TypeVar("T")

HOSTS, READERS_EACH, POSTERS = 3, 4, 6
# The victim dies once this many posts are acknowledged; the wave ends this many after.
KILL_AFTER, AFTER_KILL = 40, 40
# A connection attempt to the cut host: refused would mean it were still on the network.
UNREACHABLE_WITHIN = 1.0
WAVE_TIMEOUT = 60.0


@dataclass(frozen=True)
class Place:
    """Where one server process runs: the command prefix that puts it there, the address it
    listens on, its own working folder, and its network host when it has one."""

    prefix: tuple[str, ...]
    address: str
    folder: Path
    host: netns.Host | None

    @property
    def env(self) -> dict[str, str]:
        """A home and a temporary folder of its own: hosts share no disk."""
        return {"HOME": str(self.folder / "home"), "TMPDIR": str(self.folder / "tmp")}


@dataclass(frozen=True)
class Machines:
    """The places of the test's server processes, and how they reach PostgreSQL and Redis."""

    places: list[Place]
    # The root namespace's address as the places see it (127.0.0.1 without namespaces).
    gateway: str
    subnet: str | None
    report: str

    @property
    def separate(self) -> bool:
        """Whether the places are separate network hosts (else processes on 127.0.0.1)."""
        return self.subnet is not None


def folders(root: Path) -> list[Path]:
    made = []
    for index in range(HOSTS):
        folder = root / f"host-{index}"
        for sub in ("home", "tmp"):
            (folder / sub).mkdir(parents=True)
        made.append(folder)
    return made


@pytest.fixture(params=["hosts", "processes"])
def machines(
    request: pytest.FixtureRequest, tmp_path: Path, record_property: Record
) -> Iterator[Machines]:
    """Three network hosts where namespaces can be made here (else, saying why, three local
    places); and, as the second run, three local places anyway, so that the fallback the test
    takes elsewhere is proven here too."""
    reason = netns.unusable() if request.param == "hosts" else "not asked for"
    if reason is None:
        with netns.hosts(HOSTS) as net:
            places = [
                Place(host.prefix, host.address, folder, host)
                for host, folder in zip(net.hosts, folders(tmp_path), strict=True)
            ]
            report = (
                f"hosts: {HOSTS} network namespaces on {net.subnet} "
                f"({', '.join(h.address for h in net.hosts)}), bridged to {net.gateway}"
            )
            yield from announced(Machines(places, net.gateway, net.subnet, report), record_property)
        return
    places = [Place((), LOOPBACK, folder, None) for folder in folders(tmp_path)]
    why = "asked for" if request.param == "processes" else f"network namespaces unusable: {reason}"
    report = f"hosts: {HOSTS} processes on {LOOPBACK} in separate working folders ({why})"
    yield from announced(Machines(places, LOOPBACK, None, report), record_property)


def announced(running: Machines, record_property: Record) -> Iterator[Machines]:
    record_property("hosts", running.report)
    print(running.report)
    yield running


@pytest.fixture
async def database_server(machines: Machines) -> AsyncIterator[PostgresServer]:
    """A private PostgreSQL in the root namespace that the hosts reach on their subnet."""
    listen = {"listen_addresses": f"{LOOPBACK},{machines.gateway}"} if machines.separate else {}
    with PostgresServer(settings=listen) as server:
        if machines.subnet is not None:
            # initdb trusts loopback only: let the hosts' subnet in, as an operator would.
            with (server.data / "pg_hba.conf").open("a") as hba:
                hba.write(f"host all all {machines.subnet} trust\n")
            await reload(server.url)
        yield server


async def reload(url: str) -> None:
    """Make the server read pg_hba.conf again."""
    connection = await asyncpg.connect(url, timeout=WAIT)
    try:
        assert await connection.fetchval("SELECT pg_reload_conf()", timeout=WAIT)
    finally:
        await connection.close(timeout=WAIT)


@pytest.fixture
def redis_server(machines: Machines) -> Iterator[RedisServer]:
    """A private Redis in the root namespace that the hosts reach on their subnet."""
    # Protected mode refuses every client but loopback while there is no password.
    bind = ("--bind", LOOPBACK, machines.gateway, "--protected-mode", "no")
    with RedisServer(extra_args=bind if machines.separate else ()) as server:
        yield server


@dataclass
class Wave:
    """Posters posting to every live server, each post with its own Idempotency-Key: a post
    the victim took down with it is retried, with the same key, on the next live server."""

    http: httpx.AsyncClient
    servers: list[ServerProcess]
    dead: set[int] = field(default_factory=set)
    acknowledged: list[str] = field(default_factory=list)
    by_server: Counter[int] = field(default_factory=Counter)
    # Posts whose connection the kill cut, answered on retry through another server.
    retried: int = 0
    at_kill: int | None = None
    ready_to_kill: asyncio.Event = field(default_factory=asyncio.Event)

    def kill(self, index: int) -> None:
        """SIGKILL server `index`; posters stop choosing it from now on."""
        self.dead.add(index)
        self.at_kill = len(self.acknowledged)
        self.servers[index].process.kill()

    def done(self) -> bool:
        return self.at_kill is not None and len(self.acknowledged) >= self.at_kill + AFTER_KILL

    async def poster(self, k: int) -> None:
        for n in itertools.count():
            if self.done():
                return
            key = f"wave-{k}-{n}-{uuid.uuid4().hex}"
            self.acknowledged.append(await self.deliver(f"poster {k}, post {n}", key, k + n))
            if len(self.acknowledged) >= KILL_AFTER:
                self.ready_to_kill.set()

    async def deliver(self, body: str, key: str, first: int) -> str:
        """Post through the live servers from `first` on until one answers; the comment's id."""
        for turn in range(len(self.servers)):
            index = (first + turn) % len(self.servers)
            if index in self.dead:
                continue
            try:
                answer = await self.http.post(
                    f"{self.servers[index].http}/api/v1/comments",
                    json=comment_json(body=body),
                    headers={"Idempotency-Key": key},
                )
            except httpx.TransportError:
                # Only the killed server may fail a request; it was marked dead before it died.
                assert index in self.dead, f"server {index} failed a post it should have taken"
                self.retried += 1
                continue
            assert answer.status_code == 201, answer.text
            self.by_server[index] += 1
            comment = decode_json(answer.content)["comment"]
            assert isinstance(comment, dict)
            return str(comment["id"])
        raise AssertionError(f"no live server took {body!r}")


async def refused_or_unreachable(host: str, port: int) -> str:
    """How a connection attempt to host:port fails: 'refused', or 'unreachable' (no answer)."""
    try:
        async with asyncio.timeout(UNREACHABLE_WITHIN):
            _, writer = await asyncio.open_connection(host, port)
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "unreachable"
    except OSError as exc:
        return "unreachable" if exc.errno in {errno.EHOSTUNREACH, errno.ENETUNREACH} else str(exc)
    writer.close()
    return "connected"


async def first_of(signal: Coroutine[object, object, object], work: asyncio.Future[T]) -> None:
    """Wait for `signal`, or for `work` to end first, raising what it raised (a failed post
    must fail the test at once, not after the timeout of a signal that never comes)."""
    waiting = asyncio.ensure_future(signal)
    try:
        either: set[asyncio.Future[Any]] = {waiting, work}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()
    if work.done():
        work.result()


async def start_all(c: Cluster, machines: Machines) -> list[ServerProcess]:
    servers = []
    for place in machines.places:
        servers.append(
            await c.start(prefix=place.prefix, host=place.address, cwd=place.folder, env=place.env)
        )
    if machines.separate:
        for server in servers:
            assert_on_a_host_of_its_own(server.process.pid)
    return servers


def assert_on_a_host_of_its_own(pid: int) -> None:
    """The process `pid` is a server in another network namespace than the test's; it is the
    server itself (`ip netns exec` exec'd it), so a kill hits the server, not a parent that
    would leave it running."""
    assert os.readlink(f"/proc/{pid}/ns/net") != os.readlink("/proc/self/ns/net")
    command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert b"server.cli" in command, command


@pytest.mark.timeout(150)
async def test_a_host_killed_mid_wave_loses_nothing_and_its_readers_resume_elsewhere(
    machines: Machines, database_server: PostgresServer, redis_server: RedisServer
) -> None:
    """Readers on 3 hosts get every acknowledged post once, in seq order, though one host is
    SIGKILLed (and cut off the network) mid-wave: its readers resume on the others with since=,
    with no resync, and PostgreSQL holds every acknowledged post once."""
    database = database_server.database()
    async with cluster(
        database,
        redis=redis_server,
        hosts_database=database.replace(f"@{LOOPBACK}:", f"@{machines.gateway}:", 1),
        hosts_redis=redis_server.url_on(machines.gateway),
    ) as c:
        servers = await start_all(c, machines)
        async with (
            following(servers, each=READERS_EACH, fail_over=True) as readers,
            httpx.AsyncClient(timeout=WAIT) as http,
        ):
            for server in servers:
                # Each reaches PostgreSQL and Redis by the URLs it was given (and we reach it).
                ready = await http.get(f"{server.http}/readyz")
                assert ready.status_code == 200, ready.text
                assert decode_json(ready.content)["bus"] == "connected", ready.text
            victims, survivors = readers[:READERS_EACH], readers[READERS_EACH:]
            wave = Wave(http, servers)
            posting = asyncio.gather(*(wave.poster(k) for k in range(POSTERS)))
            try:
                async with asyncio.timeout(WAVE_TIMEOUT):
                    await first_of(wave.ready_to_kill.wait(), posting)
                    # Each of the victim's readers has a position to resume from.
                    for r in victims:
                        await r.reach(1)
                    greeted = [len(r.hellos) for r in victims]
                    wave.kill(0)
                    assert await exited(servers[0]) == -9
                    place = machines.places[0]
                    if place.host is not None:
                        place.host.cut()
                        how = await refused_or_unreachable(place.address, servers[0].port)
                        assert how == "unreachable", how
                    await posting
            finally:
                posting.cancel()
                async with asyncio.timeout(WAIT):
                    await asyncio.gather(posting, return_exceptions=True)
            total = len(wave.acknowledged)
            assert wave.at_kill is not None and KILL_AFTER <= wave.at_kill < total
            assert all(wave.by_server[i] > 0 for i in range(HOSTS)), wave.by_server
            await everyone_got(c, readers, wave.acknowledged, total)
            for r, before in zip(victims, greeted, strict=True):
                assert len(r.hellos) > before, f"{r.name} never resumed"
            for r in readers:
                assert r.resyncs == 0 and r.gaps == 0, r
            for r in survivors:
                assert len(r.hellos) == 1, f"{r.name} was disconnected: {r.closes}"
    print(
        f"{total} posts acknowledged ({wave.at_kill} before the kill), by server "
        f"{dict(sorted(wave.by_server.items()))}; {wave.retried} retried after the kill; "
        f"{len(readers)} readers each applied seqs 1..{total} once, in order"
    )


def test_hosts_are_removed_afterwards_and_leftovers_of_dead_runs_too() -> None:
    """A network's namespaces and links are gone after its block, even one that failed; a dead
    run's leftovers are removed, a live run's are kept. Without namespaces: a clear error."""
    reason = netns.unusable()
    if reason is not None:
        with pytest.raises(netns.NetnsError), netns.hosts(1):
            pass
        return
    seen: list[netns.Network] = []
    with pytest.raises(RuntimeError, match="inside"):
        fail_inside(seen)
    (net,) = seen
    assert not {h.name for h in net.hosts} & set(netns.namespaces())
    assert not ({h.link for h in net.hosts} | {net.bridge}) & set(netns.links())

    gone = dead_pid()
    leftover, bridge = f"{netns.PREFIX}-{gone}-0-h0", f"lt{gone}b0"
    with netns.hosts(1) as live:
        # What a run that crashed would have left, made while another run is up.
        netns.ip("netns", "add", leftover)
        netns.ip("link", "add", bridge, "type", "bridge")
        netns.remove_leftovers()
        assert leftover not in netns.namespaces() and bridge not in netns.links()
        assert live.hosts[0].name in netns.namespaces() and live.bridge in netns.links()


def fail_inside(seen: list[netns.Network]) -> None:
    """A block that fails while its network is up (which it adds to `seen`)."""
    with netns.hosts(2) as net:
        seen.append(net)
        assert {h.name for h in net.hosts} <= set(netns.namespaces())
        raise RuntimeError("inside")


def dead_pid() -> int:
    """The pid of a process that has ended (this process's child, now reaped)."""
    child = subprocess.Popen(["true"])
    child.wait(timeout=WAIT)
    return child.pid


def test_a_network_needs_one_to_fifty_hosts() -> None:
    """Asking for no hosts, or more than link names can number, is refused before anything is
    made."""
    for count in (0, netns.MOST_HOSTS + 1):
        with pytest.raises(ValueError, match="between 1 and 50 hosts"), netns.hosts(count):
            pass
