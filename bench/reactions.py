"""A hot thread's likes: 1,000 likes a second on one thread with 1,000 readers (issue 17).

    python -m bench.reactions [--readers N] [--rate R] [--seconds S] [--comments C]

One `livethread serve` child process (SQLite in a temporary directory, in-process bus, rate
limits off as for every bench). N readers (real websocket clients) on the thread, which has C
comments; then likes at R a second for S seconds, each from a new anonymous reader key (so each
counts) on a random comment, sent over 32 kept-alive HTTP/1.1 connections by a small raw client
(an HTTP library would cost this box's second core more than the server does). Reported:

- likes answered a second, and the answer's latency (sent -> 200, which is after the batch that
  holds it is durable);
- the server's CPU: per like, and as a share of one core, from /proc/PID/stat;
- `reactions` frames per reader a second (coalesced: at most four a second per process);
- whether every reader's last frame shows the exact final counts, and the thread's seq unmoved.

Prints a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench.fanout import proc_cpu
from server import events
from server.settings import Settings
from tests.chaos import raise_file_limit
from tests.support.clients import comment_json, provision
from tests.support.server import ServerProcess, serve_process

SITE, THREAD = "news", "article-1"
WAIT = 30.0
CONNECTIONS = 32


class Reader:
    """A reader that keeps the newest counts of each comment and counts `reactions` frames."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames = 0
        self.counts: dict[str, tuple[int, int]] = {}  # id -> (version, likes)
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            frame = events.decode_frame(raw)
            if isinstance(frame, events.Reactions):
                self.frames += 1
                for c in frame.comments:
                    if c.version > self.counts.get(c.id, (0, 0))[0]:
                        self.counts[c.id] = (c.version, c.counts.get("like", 0))


async def like_over(
    port: int, comments: list[str], due: list[float], latencies: list[float], failed: list[int]
) -> None:
    """Send the likes due at the given times over one kept-alive connection, in turn."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for at in due:
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            body = b'{"kind":"like","on":true}'
            path = f"/api/v1/comments/{random.choice(comments)}/reactions"
            head = (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"X-Reader-Key: {secrets.token_urlsafe(18)}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            )
            sent = time.monotonic()
            writer.write(head.encode() + body)
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            if status == 200:
                latencies.append(time.monotonic() - sent)
            else:
                failed.append(status)
    finally:
        writer.close()


async def run(readers: int, rate: float, seconds: float, comment_count: int) -> str:
    raise_file_limit(readers + CONNECTIONS + 100)
    with tempfile.TemporaryDirectory(prefix="livethread-bench-") as workdir:
        database = f"sqlite:///{Path(workdir) / 'bench.db'}"
        await provision(Settings(database=database))
        async with (
            serve_process("--database", database) as server,
            httpx.AsyncClient(base_url=server.http, timeout=WAIT) as http,
        ):
            comments = [await _posted(http, n) for n in range(comment_count)]
            seq = await _seq(http)
            pages: list[Reader] = []
            try:
                for _ in range(readers):
                    ws = await connect(server.ws(SITE, THREAD), open_timeout=WAIT, max_size=None)
                    pages.append(Reader(ws))
                figures = await _likes(server, pages, comments, rate, seconds)
                final = await _final_counts(http, comments)
                exact = await _converged(pages, final)
                unmoved = await _seq(http) == seq
            finally:
                for page in pages:
                    page.task.cancel()
                    async with asyncio.timeout(WAIT):
                        await page.ws.close()
    likes, took, cpu, latencies, failed = figures
    frames = sum(p.frames for p in pages) / len(pages) / took
    lines = [
        f"Likes on one thread: {readers} readers, {comment_count} comments, likes asked at "
        f"{rate:g}/s for {seconds:g} s (each from a new reader); one `livethread serve` process, "
        "SQLite, in-process bus.",
        "",
        "| likes answered/s | latency p50 | latency p99 | server CPU per like | server CPU "
        "| `reactions` frames per reader/s |",
        "|---|---|---|---|---|---|",
        f"| {likes / took:,.0f} | {_ms(statistics.median(latencies))} "
        f"| {_ms(statistics.quantiles(latencies, n=100)[98])} | {cpu / likes * 1e6:,.0f} µs "
        f"| {cpu / took:.0%} of a core | {frames:.1f} |",
        "",
        f"Every reader's last counts exact: {'yes' if exact else 'NO'}; the thread's seq "
        f"unmoved (no event per like): {'yes' if unmoved else 'NO'}; failed likes: {len(failed)}"
        f"{' ' + str(sorted(set(failed))) if failed else ''}.",
    ]
    return "\n".join(lines)


async def _likes(
    server: ServerProcess, pages: list[Reader], comments: list[str], rate: float, seconds: float
) -> tuple[int, float, float, list[float], list[int]]:
    total = int(rate * seconds)
    start = time.monotonic() + 0.5
    due = [start + n / rate for n in range(total)]
    latencies: list[float] = []
    failed: list[int] = []
    cpu0 = proc_cpu(server.process.pid)
    async with asyncio.timeout(seconds * 4 + WAIT):
        await asyncio.gather(
            *(
                like_over(server.port, comments, due[i::CONNECTIONS], latencies, failed)
                for i in range(CONNECTIONS)
            )
        )
    took = time.monotonic() - start
    cpu = proc_cpu(server.process.pid) - cpu0
    return len(latencies), took, cpu, latencies, failed


async def _posted(http: httpx.AsyncClient, n: int) -> str:
    answer = await http.post("/api/v1/comments", json=comment_json(f"Comment {n}"))
    answer.raise_for_status()
    return str(json.loads(answer.content)["comment"]["id"])


async def _seq(http: httpx.AsyncClient) -> int:
    answer = await http.get(f"/api/v1/threads?site={SITE}&thread={THREAD}")
    return int(json.loads(answer.content)["seq"])


async def _final_counts(http: httpx.AsyncClient, comments: list[str]) -> dict[str, int]:
    """The likes each comment has now, as a new page is told right after hello."""
    base = str(http.base_url).replace("http://", "ws://").rstrip("/")
    url = f"{base}/ws/v1/threads?site={SITE}&thread={THREAD}"
    async with connect(url, open_timeout=WAIT) as ws:
        async with asyncio.timeout(WAIT):
            while True:
                frame = events.decode_frame(await ws.recv())
                if isinstance(frame, events.Reactions):
                    return {c.id: c.counts.get("like", 0) for c in frame.comments}


async def _converged(pages: list[Reader], final: dict[str, int]) -> bool:
    """Whether every page's newest counts reach the final ones within the wait."""

    def done() -> bool:
        return all({k: v[1] for k, v in p.counts.items()} == final for p in pages)

    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if done():
            return True
        await asyncio.sleep(0.1)  # a poll, bounded by the deadline: frames come every 0.25 s
    return done()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reactions", description=__doc__)
    parser.add_argument("--readers", type=int, default=1000, help="readers on the thread")
    parser.add_argument("--rate", type=float, default=1000.0, help="likes asked a second")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long")
    parser.add_argument("--comments", type=int, default=20, help="comments in the thread")
    args = parser.parse_args(argv)
    print(asyncio.run(run(args.readers, args.rate, args.seconds, args.comments)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
