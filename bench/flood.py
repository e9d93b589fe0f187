"""A flooder against honest readers, with the default rate limits on (issue 5, item 6).

    python -m bench.flood [--readers K] [--rate R] [--seconds S] [--workers W]

One `livethread serve` child process (SQLite in a temporary directory, in-process bus, the
default rate limits: 5 posts a minute per address, 60 per thread, 600 per site, 60 new sockets
a minute and 100 open sockets per address). Every client binds to its own loopback address, so
the server sees distinct addresses:

- honest readers: K websockets from 127.0.0.3 that read every frame;
- an honest poster from 127.0.0.4 posting R comments a second. One address may post only 5 a
  minute, so after every 5 posts it moves to the next loopback address (127.0.0.5, ...): a
  crowd of honest commenters, each well within their own limit;
- the flooder, in its own process (so its CPU does not slow the measuring loop), from 127.0.0.2:
  W keep-alive connections posting back to back as fast as the server answers and W tasks
  opening websockets as fast as it accepts them, holding every socket it gets, for the length
  of the phase. It writes raw HTTP and websocket bytes: far more requests per second of its
  own CPU than httpx or the websockets client.

Two phases of S seconds each post R comments a second: without the flood, then with it. Latency
is publish -> receive on this process's monotonic clock, from just before each honest post's
request to the frame's arrival at each honest reader (so it includes the commit's fsync); the
time to each post's 201 is shown beside it, so what the flood costs the posting and what it
costs the delivery can be told apart. Server
CPU is the child process's user + system time over the phase, as a share of one core. Every
phase is bounded in time and the flooder also in count (--max-posts, --max-sockets); the run
stops by itself. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import msgspec
from websockets.asyncio.client import ClientConnection, connect

from server import events
from server.settings import Settings
from tests.chaos import raise_file_limit
from tests.support.clients import comment_json, provision
from tests.support.server import ServerProcess, serve_process

SITE, THREAD = "news", "article-1"
FLOODER, READERS = "127.0.0.2", "127.0.0.3"
POSTER_BASE = 4  # honest posters: 127.0.0.4, 127.0.0.5, ...
POSTS_PER_ADDRESS = 5  # the default post_rate_address, 5/60
WAIT = 10.0


class FloodCounts(msgspec.Struct, kw_only=True):
    """What the flooder got: HTTP statuses of its posts and the fate of its sockets."""

    seconds: float = 0.0
    posts: dict[str, int] = {}
    post_errors: int = 0
    sockets_opened: int = 0
    sockets_accepted: int = 0
    socket_closes: dict[str, int] = {}
    socket_errors: int = 0
    cpu_seconds: float = 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc/PID/stat."""
    # Fields after the command name (which may contain spaces) start at field 3, "state".
    after = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(after[11]) + int(after[12])) / os.sysconf("SC_CLK_TCK")


# --- the flooder (a child process) ------------------------------------------------------------
# Raw HTTP/1.1 and websocket bytes over asyncio streams rather than httpx and the websockets
# client: a flooder wants the most requests per second of its own CPU, not a nice client.


class Flooder:
    """Posts and socket openings from FLOODER, as fast as the server answers, until a deadline."""

    def __init__(self, port: int, deadline: float, max_posts: int, max_sockets: int) -> None:
        self.port = port
        self.deadline = deadline
        self.max_posts = max_posts
        self.max_sockets = max_sockets
        self.posts: Counter[str] = Counter()
        self.closes: Counter[str] = Counter()
        self.counts = FloodCounts()
        self.held: list[asyncio.StreamWriter] = []

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", self.port, local_addr=(FLOODER, 0)), WAIT
        )

    def _more(self, sent: int, cap: int) -> bool:
        return time.monotonic() < self.deadline and sent < cap

    async def poster(self, n: int) -> None:
        """One keep-alive connection posting back to back (a new one if the server closes it)."""
        sent = 0
        while self._more(sum(self.posts.values()) + self.counts.post_errors, self.max_posts):
            try:
                r, w = await self._open()
            except (OSError, TimeoutError):
                self.counts.post_errors += 1
                continue
            try:
                while self._more(sum(self.posts.values()), self.max_posts):
                    sent += 1
                    body = msgspec.json.encode(comment_json(body=f"spam {n}.{sent}"))
                    w.write(
                        b"POST /api/v1/comments HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                        % (self.port, len(body), body)
                    )
                    head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), WAIT)
                    status = head.split(b" ", 2)[1].decode()
                    length = 0
                    for line in head.split(b"\r\n"):
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value)
                    await r.readexactly(length)
                    self.posts[status] += 1
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                self.counts.post_errors += 1
            finally:
                w.close()

    async def opener(self) -> None:
        """Websocket handshakes back to back; a socket that says hello is held open."""
        while self._more(self.counts.sockets_opened, self.max_sockets):
            self.counts.sockets_opened += 1
            try:
                r, w = await self._open()
            except (OSError, TimeoutError):
                self.counts.socket_errors += 1
                continue
            try:
                key = base64.b64encode(os.urandom(16))
                w.write(
                    b"GET /ws/v1/threads?site=%s&thread=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                    b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                    b"Sec-WebSocket-Version: 13\r\n\r\n"
                    % (SITE.encode(), THREAD.encode(), self.port, key)
                )
                head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), WAIT)
                if not head.startswith(b"HTTP/1.1 101"):
                    self.closes[f"HTTP {head.split(b' ', 2)[1].decode()}"] += 1
                    w.close()
                    continue
                opcode, payload = await asyncio.wait_for(read_frame(r), WAIT)
                if opcode == 0x1 and isinstance(events.decode_frame(payload), events.Hello):
                    self.counts.sockets_accepted += 1
                    self.held.append(w)  # open sockets count against the address too
                    continue
                while opcode != 0x8:  # the error frame, then the close
                    opcode, payload = await asyncio.wait_for(read_frame(r), WAIT)
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                self.closes[str(code)] += 1
                w.write(CLOSE_REPLY)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, msgspec.DecodeError):
                self.counts.socket_errors += 1
            w.close()

    def result(self, seconds: float) -> FloodCounts:
        self.counts.seconds = seconds
        self.counts.posts = dict(self.posts)
        self.counts.socket_closes = dict(self.closes)
        self.counts.cpu_seconds = cpu_seconds(os.getpid())
        return self.counts


# A client's close frame (masked, with an all-zero mask), code 1000.
CLOSE_REPLY = bytes([0x88, 0x82, 0, 0, 0, 0]) + (1000).to_bytes(2, "big")


async def read_frame(r: asyncio.StreamReader) -> tuple[int, bytes]:
    """One unmasked server frame: (opcode, payload)."""
    head = await r.readexactly(2)
    size = head[1] & 0x7F
    if size == 126:
        size = int.from_bytes(await r.readexactly(2), "big")
    elif size == 127:
        size = int.from_bytes(await r.readexactly(8), "big")
    return head[0] & 0x0F, await r.readexactly(size)


async def flood(
    port: int, seconds: float, workers: int, max_posts: int, max_sockets: int
) -> FloodCounts:
    """Post and open sockets from FLOODER as fast as the server lets us, for `seconds`."""
    print("ready", flush=True)
    started = time.monotonic()
    flooder = Flooder(port, started + seconds, max_posts, max_sockets)
    try:
        await asyncio.gather(
            *(flooder.poster(n) for n in range(workers)),
            *(flooder.opener() for _ in range(workers)),
        )
    finally:
        for w in flooder.held:
            w.close()
    return flooder.result(time.monotonic() - started)


def flooder_main(args: argparse.Namespace) -> int:
    # It holds what the server accepts (at most 100 open sockets an address) and its workers.
    raise_file_limit(200 + 2 * args.workers)
    counts = asyncio.run(
        flood(args.port, args.seconds, args.workers, args.max_posts, args.max_sockets)
    )
    print(msgspec.json.encode(counts).decode(), flush=True)
    return 0


async def start_flooder(
    port: int, seconds: float, workers: int, max_posts: int, max_sockets: int
) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "bench.flood", "--flooder", "--port", str(port), "--seconds", str(seconds)),
        *("--workers", str(workers), "--max-posts", str(max_posts)),
        *("--max-sockets", str(max_sockets)),
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    async with asyncio.timeout(WAIT * 2):
        line = await process.stdout.readline()
    if line.strip() != b"ready":
        raise RuntimeError(f"the flooder did not start: {line!r}")
    return process


async def flooder_result(process: asyncio.subprocess.Process, within: float) -> FloodCounts:
    assert process.stdout is not None
    try:
        async with asyncio.timeout(within):
            out = await process.stdout.read()
            await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return msgspec.json.decode(out.strip().splitlines()[-1], type=FloodCounts)


# --- the honest side --------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    # From each honest post's start to its 201: the part of the latency spent being accepted.
    answers: list[float] = field(default_factory=list)
    posted: int = 0
    refused_posts: int = 0
    missing: int = 0
    cpu: float = 0.0  # share of one core
    flood: FloodCounts | None = None

    def row(self) -> str:
        lat = sorted(self.latencies)
        if lat:
            median = f"{statistics.median(lat) * 1000:.1f} ms"
            p99 = f"{lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1000:.1f} ms"
        else:
            median = p99 = "-"
        answer = f"{statistics.median(self.answers) * 1000:.1f} ms" if self.answers else "-"
        honest = f"{self.posted} / {self.posted + self.refused_posts}"
        if self.flood is None:
            posts = sockets = "-"
        else:
            f = self.flood
            other = sum(n for code, n in f.posts.items() if code not in ("201", "429"))
            posts = (
                f"{f.posts.get('201', 0)} / {f.posts.get('429', 0)} / {other + f.post_errors}"
                f" ({sum(f.posts.values()) / max(f.seconds, 1e-9):.0f}/s)"
            )
            others = sum(n for code, n in f.socket_closes.items() if code != "4029")
            sockets = (
                f"{f.sockets_accepted} / {f.socket_closes.get('4029', 0)} / "
                f"{others + f.socket_errors} ({f.sockets_opened / max(f.seconds, 1e-9):.0f}/s)"
            )
        return (
            f"| {self.name} | {honest} | {answer} | {median} | {p99} | {self.cpu * 100:.0f}% "
            f"| {posts} | {sockets} |"
        )


class Healthy:
    """An honest reader that reads every frame and notes when each comment arrived."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.arrived: dict[str, float] = {}
        self._news = asyncio.Condition()
        self.task = asyncio.create_task(self._read())

    async def have(self, ids: set[str], within: float) -> None:
        """Wait until every comment in `ids` has arrived."""
        async with asyncio.timeout(within), self._news:
            await self._news.wait_for(lambda: ids <= self.arrived.keys())

    async def _read(self) -> None:
        async for raw in self.ws:
            now = time.monotonic()
            frame = events.decode_frame(raw)
            if isinstance(frame, events.CommentCreated):
                self.arrived[frame.comment.id] = now
                async with self._news:
                    self._news.notify_all()


class Poster:
    """The honest poster: a new loopback address every POSTS_PER_ADDRESS posts."""

    def __init__(self, base_url: str) -> None:
        self._base_url = base_url
        self._clients: list[httpx.AsyncClient] = []
        self._posts = 0

    def next_client(self) -> httpx.AsyncClient:
        index = self._posts // POSTS_PER_ADDRESS
        self._posts += 1
        while len(self._clients) <= index:
            address = f"127.0.0.{POSTER_BASE + len(self._clients)}"
            transport = httpx.AsyncHTTPTransport(local_address=address)
            self._clients.append(
                httpx.AsyncClient(base_url=self._base_url, transport=transport, timeout=WAIT)
            )
        return self._clients[index]

    @property
    def addresses(self) -> int:
        return len(self._clients)

    async def close(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self._clients))


async def honest_phase(
    phase: Phase,
    server: ServerProcess,
    poster: Poster,
    readers: list[Healthy],
    seconds: float,
    rate: float,
) -> None:
    """Post at `rate` for `seconds`; latencies from each post's start to each arrival."""
    started: dict[str, float] = {}

    async def post(n: int) -> None:
        begun = time.monotonic()
        answer = await poster.next_client().post(
            "/api/v1/comments", json=comment_json(body=f"honest comment {n}", name="Honest")
        )
        if answer.status_code != 201:
            phase.refused_posts += 1
            return
        phase.answers.append(time.monotonic() - begun)
        started[answer.json()["comment"]["id"]] = begun

    cpu0, t0 = cpu_seconds(server.process.pid), time.monotonic()
    tasks: list[asyncio.Task[None]] = []
    for n in range(int(seconds * rate)):
        await asyncio.sleep(max(0.0, t0 + n / rate - time.monotonic()))
        tasks.append(asyncio.create_task(post(n)))
    async with asyncio.timeout(WAIT * 3):
        await asyncio.gather(*tasks)
    for r in readers:
        with contextlib.suppress(TimeoutError):
            await r.have(set(started), within=WAIT)
    phase.cpu = (cpu_seconds(server.process.pid) - cpu0) / (time.monotonic() - t0)
    phase.posted = len(started)
    phase.latencies = [
        r.arrived[cid] - begun
        for r in readers
        for cid, begun in started.items()
        if cid in r.arrived
    ]
    phase.missing = len(started) * len(readers) - len(phase.latencies)


async def run(
    readers: int, rate: float, seconds: float, workers: int, max_posts: int, max_sockets: int
) -> str:
    raise_file_limit(readers + 200)
    with tempfile.TemporaryDirectory(prefix="livethread-bench-") as workdir:
        database = f"sqlite:///{Path(workdir) / 'bench.db'}"
        await provision(Settings(database=database))
        async with serve_process(
            "--database", database, env={"LIVETHREAD_RATE_LIMIT": "1"}
        ) as server:
            poster = Poster(server.http)
            healthy: list[Healthy] = []
            try:
                for _ in range(readers):
                    ws = await connect(
                        server.ws(SITE, THREAD),
                        open_timeout=WAIT,
                        close_timeout=2,
                        local_addr=(READERS, 0),
                    )
                    healthy.append(Healthy(ws))
                calm = Phase("without the flood")
                await honest_phase(calm, server, poster, healthy, seconds, rate)
                flooded = Phase("with the flood")
                flooder = await start_flooder(server.port, seconds, workers, max_posts, max_sockets)
                try:
                    await honest_phase(flooded, server, poster, healthy, seconds, rate)
                finally:
                    flooded.flood = await flooder_result(flooder, seconds + WAIT * 3)
            finally:
                for r in healthy:
                    r.task.cancel()
                await asyncio.gather(*(r.ws.close() for r in healthy), return_exceptions=True)
                await poster.close()
    phases = (calm, flooded)
    flood_cpu = flooded.flood.cpu_seconds if flooded.flood else 0.0
    lines = [
        f"Flood: {readers} honest readers (127.0.0.3), an honest poster at {rate:g}/s "
        f"({poster.addresses} addresses from 127.0.0.4, {POSTS_PER_ADDRESS} posts each), "
        f"{seconds:g} s per phase; the flooder (127.0.0.2, own process) runs {workers} posting "
        f"and {workers} socket-opening tasks flat out. One `livethread serve` process, default "
        f"rate limits on; {os.cpu_count()} CPUs shared by the server, the flooder and this "
        "process.",
        "",
        "| phase | honest posts 201 / sent | honest post answered (median) "
        "| honest latency median | honest latency p99 "
        "| server CPU (one core) | flooder posts 201 / 429 / other | flooder sockets "
        "accepted / closed 4029 / other |",
        "|---|---|---|---|---|---|---|---|",
        *(p.row() for p in phases),
        "",
        f"Honest readers got every honest post: "
        f"{'yes' if not any(p.missing for p in phases) else 'NO'} "
        f"(missing deliveries: {sum(p.missing for p in phases)}); flooder CPU: "
        f"{flood_cpu:.1f} s over {flooded.flood.seconds if flooded.flood else 0:.1f} s.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.flood", description=__doc__)
    parser.add_argument("--readers", type=int, default=20, help="honest readers (at most 60)")
    parser.add_argument("--rate", type=float, default=2.0, help="honest posts per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--workers", type=int, default=16, help="flooder tasks of each kind")
    parser.add_argument("--max-posts", type=int, default=200_000, help="flooder's post cap")
    parser.add_argument("--max-sockets", type=int, default=20_000, help="flooder's socket cap")
    parser.add_argument("--flooder", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.flooder:
        return flooder_main(args)
    if not 0 < args.readers <= 60:
        parser.error("--readers must be 1 to 60 (the default connect_rate_address is 60/60)")
    if args.rate * args.seconds * 2 > 55:
        # The thread's 60 a minute, less the 5 the flooder's address gets through.
        parser.error("--rate x --seconds x 2 phases must stay within 55 posts (thread limit)")
    print(
        asyncio.run(
            run(
                args.readers,
                args.rate,
                args.seconds,
                args.workers,
                args.max_posts,
                args.max_sockets,
            )
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
