"""Stalled readers against healthy ones: delivery latency and server memory (issue 6).

    python -m bench.slow_reader [--healthy K] [--stalled S] [--posts N] [--rate R]

One `livethread serve` child process (SQLite in a temporary directory, in-process bus, default
settings: a 256-frame inbox per socket). K healthy readers (real websocket clients that read
everything) and, in the second phase, S stalled readers: raw sockets that do the websocket
handshake with a 4 KB receive buffer and then never read, all opened from one thread. Three
phases post N comments each at R a second (about 15 kB frames: the worst case for buffers):

1. without stalled readers;
2. with the S stalled readers connected; they fill their inboxes and the server closes them with
   4008 (too slow), which each one reads once it finally drains its socket;
3. after they are gone.

Latency is publish -> receive on this process's monotonic clock: from just before the post's
HTTP request to the frame's arrival at a healthy reader (so it includes the commit's fsync).
Memory is the server process's VmRSS from /proc/PID/status: at the end of phase 1, the peak
sampled during phase 2, and at the end of phase 3. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection, connect

from server import events
from server.moderation.rules import Rules
from server.settings import Settings
from tests.chaos import raise_file_limit
from tests.support.clients import comment_json, provision
from tests.support.moderation import set_rules
from tests.support.raw_websocket import close_code, stalled_socket
from tests.support.server import ServerProcess, serve_process

SITE, THREAD = "news", "article-1"
# Links render to about three times their source length: frames of about 15 kB.
BIG_BODY = "[a](https://example.com/) " * 190
WAIT = 10.0
CLOSE_WAIT = 45.0  # a stalled socket's 4008, once it reads (the server waits up to 30 s)


def rss_kib(pid: int) -> int:
    """The process's resident set size in KiB (VmRSS of /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


class Healthy:
    """A reader that reads every frame and notes when each comment arrived."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.arrived: dict[str, float] = {}
        self.seqs: list[int] = []
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
            if isinstance(frame, events.DurableEvent):
                self.seqs.append(frame.seq)
            if isinstance(frame, events.CommentCreated):
                self.arrived[frame.comment.id] = now
                async with self._news:
                    self._news.notify_all()


def stalled_sockets(port: int, count: int) -> list[socket.socket]:
    """`count` websocket handshakes by hand, each on a socket with a tiny receive buffer."""
    return [stalled_socket(port, SITE, THREAD) for _ in range(count)]


def close_codes(socks: list[socket.socket]) -> list[int | None]:
    """Read each stalled socket up to the server's close frame; its code (None: none came)."""
    codes: list[int | None] = []
    for sock in socks:
        sock.settimeout(CLOSE_WAIT)
        try:
            codes.append(close_code(sock))
        except OSError:
            codes.append(None)
        finally:
            sock.close()
    return codes


@dataclass
class Phase:
    name: str
    stalled: int
    rss_label: str
    latencies: list[float] = field(default_factory=list)
    rss_kib: int = 0
    failed_posts: int = 0

    def row(self, posts: int) -> str:
        lat = sorted(self.latencies)
        if lat:
            median = f"{statistics.median(lat) * 1000:.1f} ms"
            p99 = f"{lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1000:.1f} ms"
        else:
            median = p99 = "-"
        rss = f"{self.rss_kib / 1024:.1f} MiB ({self.rss_label})"
        return f"| {self.name} | {self.stalled} | {posts} | {median} | {p99} | {rss} |"


async def _phase(
    phase: Phase,
    server: ServerProcess,
    http: httpx.AsyncClient,
    readers: list[Healthy],
    posts: int,
    rate: float,
    first: int,
) -> None:
    """Post `posts` comments at `rate`; latencies from each post's start to each arrival."""
    started: dict[str, float] = {}
    peak = 0

    async def post(n: int) -> None:
        begun = time.monotonic()
        answer = await http.post(
            f"{server.http}/api/v1/comments", json=comment_json(body=f"{n} {BIG_BODY}")
        )
        if answer.status_code != 201:
            phase.failed_posts += 1
            return
        started[answer.json()["comment"]["id"]] = begun

    t0 = time.monotonic()
    tasks: list[asyncio.Task[None]] = []
    for n in range(posts):
        # Pacing a fixed rate.
        await asyncio.sleep(max(0.0, t0 + n / rate - time.monotonic()))
        tasks.append(asyncio.create_task(post(first + n)))
        peak = max(peak, rss_kib(server.process.pid))
    async with asyncio.timeout(WAIT * 3):
        await asyncio.gather(*tasks)
    # Every healthy reader must get every post of the phase.
    await asyncio.gather(*(r.have(set(started), within=WAIT * 3) for r in readers))
    phase.latencies = [r.arrived[cid] - begun for r in readers for cid, begun in started.items()]
    phase.rss_kib = peak if phase.stalled else rss_kib(server.process.pid)


async def run(healthy: int, stalled: int, posts: int, rate: float) -> str:
    raise_file_limit(healthy + stalled + 100)
    with tempfile.TemporaryDirectory(prefix="livethread-bench-") as workdir:
        database = f"sqlite:///{Path(workdir) / 'bench.db'}"
        await provision(Settings(database=database))
        # The big frames come from links; auto-moderation would hold so many links for review.
        await set_rules(Settings(database=database), SITE, Rules(links_max=1000))
        async with (
            serve_process("--database", database) as server,
            httpx.AsyncClient(timeout=WAIT) as http,
        ):
            url = server.ws(SITE, THREAD)
            readers: list[Healthy] = []
            try:
                for _ in range(healthy):
                    ws = await connect(url, open_timeout=WAIT, close_timeout=2, max_size=None)
                    readers.append(Healthy(ws))
                phases = [
                    Phase("without stalled readers", 0, "before"),
                    Phase("with stalled readers", stalled, "peak during"),
                    Phase("after the 4008 closes", 0, "after"),
                ]
                await _phase(phases[0], server, http, readers, posts, rate, 0)
                socks = await asyncio.to_thread(stalled_sockets, server.port, stalled)
                await _phase(phases[1], server, http, readers, posts, rate, posts)
                codes = await asyncio.to_thread(close_codes, socks)
                await _phase(phases[2], server, http, readers, posts, rate, 2 * posts)
                in_order = all(r.seqs == list(range(1, 3 * posts + 1)) for r in readers)
            finally:
                for r in readers:
                    r.task.cancel()
                    async with asyncio.timeout(WAIT):
                        await r.ws.close()
    lines = [
        f"Slow readers: {healthy} healthy readers, {stalled} stalled; {posts} posts per phase "
        f"at {rate:g}/s, ~15 kB frames; one `livethread serve` process, default settings "
        "(inbox 256 frames).",
        "",
        "| phase | stalled sockets | posts | healthy latency median | healthy latency p99 "
        "| server RSS |",
        "|---|---|---|---|---|---|",
        *(p.row(posts) for p in phases),
        "",
        f"Stalled sockets closed with 4008: {codes.count(4008)} of {stalled}"
        f"{_other_codes(codes)}; "
        f"healthy readers got every event in seq order: {'yes' if in_order else 'NO'}; "
        f"failed posts: {sum(p.failed_posts for p in phases)}.",
    ]
    return "\n".join(lines)


def _other_codes(codes: list[int | None]) -> str:
    others = [code for code in codes if code != 4008]
    if not others:
        return ""
    # 1011 after ~40 s is the keepalive (ping interval + timeout) ending a socket whose inbox
    # never overflowed: the kernel's send buffer (up to 4 MB) held its frames.
    named = ", ".join(f"{code}: {others.count(code)}" for code in sorted(set(others), key=str))
    return f" (others: {named})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.slow_reader", description=__doc__)
    parser.add_argument("--healthy", type=int, default=50, help="healthy readers")
    parser.add_argument("--stalled", type=int, default=100, help="stalled readers")
    parser.add_argument("--posts", type=int, default=800, help="posts per phase")
    parser.add_argument("--rate", type=float, default=50.0, help="posts per second")
    args = parser.parse_args(argv)
    print(asyncio.run(run(args.healthy, args.stalled, args.posts, args.rate)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
