"""The load generator of bench/fanout.py: readers and a publisher in one process of their own.

    python -m bench.loadgen --kind livethread|plain|socketio --ports P1,P2 [--redis URL]
        [--channel NAME] [--deadline SECONDS]

It reads one JSON command per line on stdin and answers each with one JSON line on stdout (the
orchestrator drives it; nothing else is printed there). Readers are picows websocket clients,
spread evenly over the server ports; each frame is scanned for the marker `lt:N:TS:` that the
publisher put in the post's body: N is the event's id here, TS its `time.monotonic_ns()` just
before it was published (CLOCK_MONOTONIC is one clock for every process on Linux). A frame's
latency is its arrival time minus TS; deliveries are counted per event id, so each step reports
exactly what was lost (expected - received) and duplicated.

The publisher is what a user of each server would publish with: for livethread its HTTP API
(`POST /api/v1/comments`, answered after the SQLite commit) over keep-alive connections to both
processes; for the `plain` peers a Redis PUBLISH; for python-socketio a write-only
`AsyncRedisManager.emit` to the thread's room.

Commands (`op`): `connect` a group of readers, `close` a group, `reconnect` a group all at once
(the storm), `publish` at given rates then drain, `watch`/`collect` (count a publish made by
another load generator, for more readers than one process has file descriptors), `posts` (the
durable post rate) and `snapshot` (livethread only), `quit`. Every answer carries this process's
CPU seconds (`getrusage`), so a client-bound figure is visible as such. The process ends on
`quit`, when stdin closes, or at `--deadline` seconds whatever happens.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
import json
import os
import resource
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import redis.asyncio as aioredis
import uvloop
from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

KINDS = ("livethread", "plain", "socketio")
SITE = "news"
MARK = b"lt:"
# Frames of about 350 bytes, livethread's and the peers' alike.
PAD = "x" * 100
OPEN_TIMEOUT = 30.0
# A livethread comment frame starts with these bytes (msgspec keeps the field order).
LT_EVENT = b'{"type":"comment.created","seq":'
LT_SEQ = len(LT_EVENT)
MAX_POOL = 64  # keep-alive HTTP connections per server port at most
KEEP_ALIVE = 3.0  # reuse a connection idle for less than this (uvicorn closes them after 5 s)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def raise_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = 1 << 20 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


# --- readers ---------------------------------------------------------------------------------


@dataclass(eq=False)
class Stream:
    """The events of one publish stream (or a watched range): expected and received."""

    name: str
    # Latencies in ns, one per delivery received (duplicates included).
    lat: array.array[int] = field(default_factory=lambda: array.array("q"))
    # (event id, deliveries expected) per event published.
    events: list[tuple[int, int]] = field(default_factory=list)
    unsent: set[int] = field(default_factory=set)
    published: int = 0
    failed: int = 0
    expected: int = 0
    first_sent: int = 0
    last_sent: int = 0


class Reader(WSListener):
    """One websocket reader. Its hot path is `on_ws_frame`: find the mark, note the latency."""

    def __init__(self, gen: LoadGen, port: int, thread: str) -> None:
        self.gen = gen
        self.port = port
        self.thread = thread
        self.transport: WSTransport | None = None
        self.ready: asyncio.Future[None] | None = None
        self.is_ready = False
        self.closing = False
        self.seq = -1  # livethread: the last seq seen (to resume with `since`)
        self.livethread = gen.kind == "livethread"

    def url(self, resume: bool) -> str:
        base = f"ws://127.0.0.1:{self.port}"
        kind = self.gen.kind
        if kind == "livethread":
            url = f"{base}/ws/v1/threads?site={SITE}&thread={self.thread}"
            return f"{url}&since={self.seq}" if resume and self.seq >= 0 else url
        if kind == "socketio":
            return f"{base}/socket.io/?EIO=4&transport=websocket"
        return f"{base}/ws?thread={self.thread}"

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if transport is self.transport:
            self.transport = None
            if self.is_ready and not self.closing:
                self.gen.dropped += 1
            self.is_ready = False
        if self.ready is not None and not self.ready.done():
            self.ready.set_exception(ConnectionError("disconnected before ready"))

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        now = time.monotonic_ns()
        payload = frame.get_payload_as_bytes()
        at = payload.find(MARK)
        if at >= 0:  # an event (only text frames carry the mark)
            gen = self.gen
            gen.last_rx = now
            end = payload.find(b":", at + 3)
            n = int(payload[at + 3 : end])
            owner = gen.owner
            if n < len(owner):
                stream = owner[n]
                if stream is not None:
                    stream.lat.append(now - int(payload[end + 1 : payload.find(b":", end + 1)]))
                    gen.got[n] += 1
            if self.livethread and payload.startswith(LT_EVENT):
                self.seq = int(payload[LT_SEQ : payload.find(b",", LT_SEQ)])
            return
        kind = frame.msg_type
        if kind is WSMsgType.TEXT:
            self._control(transport, payload)
        elif kind is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def _control(self, transport: WSTransport, payload: bytes) -> None:
        kind = self.gen.kind
        if kind == "socketio":
            # Engine.IO v4 over a websocket: 0 open, 2 ping (answer 3), 4 message; in a
            # message, Socket.IO packets: 0 connect, 3 ack (ours: id 0, for `join`).
            if payload == b"2":
                transport.send(WSMsgType.TEXT, b"3")
            elif payload.startswith(b"0"):
                transport.send(WSMsgType.TEXT, b"40")
            elif payload.startswith(b"40"):
                join = json.dumps(["join", self.thread]).encode()
                transport.send(WSMsgType.TEXT, b"420" + join)
            elif payload.startswith(b"430"):
                self._set_ready()
            return
        if payload.startswith(b'{"type":"hello"'):
            if kind == "livethread":
                hello = json.loads(payload)
                self.seq = max(self.seq, int(hello["seq"]))
            self._set_ready()

    def _set_ready(self) -> None:
        self.is_ready = True
        if self.ready is not None and not self.ready.done():
            self.ready.set_result(None)

    async def open(self, resume: bool) -> None:
        """Connect and wait until the server has registered this reader (hello or join ack)."""
        self.ready = asyncio.get_running_loop().create_future()
        self.closing = False
        await ws_connect(
            lambda: self,
            self.url(resume),
            websocket_handshake_timeout=OPEN_TIMEOUT,
            read_buffer_init_size=4096,
        )
        async with asyncio.timeout(OPEN_TIMEOUT):
            await self.ready

    def close(self) -> None:
        self.closing = True
        self.is_ready = False
        transport = self.transport
        if transport is not None and not transport.is_disconnected:
            with contextlib.suppress(Exception):
                transport.send_close(WSCloseCode.GOING_AWAY)
            transport.disconnect()


# --- publishers ------------------------------------------------------------------------------


class HttpConnection:
    """A keep-alive HTTP/1.1 connection: one request at a time, Content-Length bodies."""

    def __init__(self, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.port = port
        self.reader = reader
        self.writer = writer
        self.idle_since = time.monotonic()

    @classmethod
    async def open(cls, port: int) -> HttpConnection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        return cls(port, reader, writer)

    def send(self, method: str, path: str, body: bytes = b"") -> None:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)

    async def answer(self) -> tuple[int, bytes]:
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


class HttpPool:
    """Keep-alive connections to each server port, opened as they are needed."""

    def __init__(self, ports: Sequence[int]) -> None:
        self.ports = list(ports)
        self._idle: dict[int, list[HttpConnection]] = {port: [] for port in ports}
        self._open: dict[int, int] = dict.fromkeys(ports, 0)
        self._freed = asyncio.Condition()

    async def acquire(self, port: int) -> HttpConnection:
        idle = self._idle[port]
        while True:
            while idle:
                conn = idle.pop()
                # uvicorn closes a connection idle for 5 s (its keep-alive timeout): one idle
                # for a while may be closing just as it is reused.
                if time.monotonic() - conn.idle_since < KEEP_ALIVE and not conn.reader.at_eof():
                    return conn
                self._open[port] -= 1
                conn.close()
            if self._open[port] < MAX_POOL:
                self._open[port] += 1
                try:
                    return await HttpConnection.open(port)
                except BaseException:
                    self._open[port] -= 1
                    raise
            async with self._freed:
                await self._freed.wait_for(lambda: bool(idle) or self._open[port] < MAX_POOL)

    async def release(self, conn: HttpConnection, healthy: bool) -> None:
        if healthy:
            conn.idle_since = time.monotonic()
            self._idle[conn.port].append(conn)
        else:
            self._open[conn.port] -= 1
            conn.close()
        async with self._freed:
            self._freed.notify()

    def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
            idle.clear()


def body_text(n: int, ts: int) -> str:
    return f"{MARK.decode()}{n}:{ts}:{PAD}"


def peer_frame(n: int, ts: int) -> dict[str, Any]:
    """What a peer sends its readers: livethread's frame shape, of the same size."""
    return {
        "type": "comment.created",
        "seq": n,
        "comment": {
            "id": f"b{n:011d}",
            "parent": None,
            "status": "visible",
            "author": {"name": "bench", "url": None},
            "html": f"<p>{body_text(n, ts)}</p>",
            "created": "2025-01-01T00:00:00.000000Z",
            "edited": None,
            "pinned": False,
        },
    }


class Publisher:
    """Publishes one event; returns whether the server took it."""

    async def publish(self, stream: Stream, n: int, thread: str) -> bool:
        raise NotImplementedError

    async def close(self) -> None:
        pass


class ApiPublisher(Publisher):
    """livethread: `POST /api/v1/comments`, answered 201 after the commit."""

    def __init__(self, ports: Sequence[int]) -> None:
        self.pool = HttpPool(ports)
        self._next = 0

    async def publish(self, stream: Stream, n: int, thread: str) -> bool:
        status, _ = await self.post(thread, lambda: body_text(n, stream_sent(stream)))
        return status == 201

    async def post(self, thread: str, body: str | Callable[[], str]) -> tuple[int, float]:
        """One post; (status, seconds from send to answer). 0: the connection failed."""
        port = self.pool.ports[self._next % len(self.pool.ports)]
        self._next += 1
        conn = await self.pool.acquire(port)
        healthy = False
        try:
            data = {"site": SITE, "thread": thread, "author": {"name": "bench"}}
            # The timestamp is taken last: it is in the body, so it is as late as it can be.
            data["body"] = body if isinstance(body, str) else body()
            begun = time.monotonic()
            conn.send("POST", "/api/v1/comments", json.dumps(data).encode())
            async with asyncio.timeout(OPEN_TIMEOUT):
                status, _ = await conn.answer()
            healthy = True
            return status, time.monotonic() - begun
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            return 0, 0.0
        finally:
            await self.pool.release(conn, healthy)

    async def get(self, path: str) -> tuple[int, bytes, float]:
        port = self.pool.ports[self._next % len(self.pool.ports)]
        self._next += 1
        conn = await self.pool.acquire(port)
        healthy = False
        try:
            begun = time.monotonic()
            conn.send("GET", path)
            async with asyncio.timeout(OPEN_TIMEOUT):
                status, body = await conn.answer()
            healthy = True
            return status, body, time.monotonic() - begun
        finally:
            await self.pool.release(conn, healthy)

    async def close(self) -> None:
        self.pool.close()


def stream_sent(stream: Stream) -> int:
    """Now, as the publish timestamp; noted as the stream's first/last send."""
    ts = time.monotonic_ns()
    if not stream.first_sent:
        stream.first_sent = ts
    stream.last_sent = ts
    return ts


class RedisPublisher(Publisher):
    """The plain peers: PUBLISH CHANNEL+THREAD FRAME."""

    def __init__(self, url: str, channel: str) -> None:
        self.redis = aioredis.Redis.from_url(url)
        self.channel = channel

    async def publish(self, stream: Stream, n: int, thread: str) -> bool:
        frame = json.dumps(peer_frame(n, stream_sent(stream)), separators=(",", ":"))
        await self.redis.publish(f"{self.channel}{thread}", frame)
        return True

    async def close(self) -> None:
        await self.redis.aclose()


class SocketioPublisher(Publisher):
    """python-socketio: a write-only AsyncRedisManager emitting to the thread's room."""

    def __init__(self, url: str, channel: str) -> None:
        import socketio  # type: ignore[import-untyped]

        self.manager = socketio.AsyncRedisManager(url, channel=channel, write_only=True)

    async def publish(self, stream: Stream, n: int, thread: str) -> bool:
        frame = peer_frame(n, stream_sent(stream))
        await self.manager.emit("event", frame, room=thread, namespace="/")
        return True


# --- the process -----------------------------------------------------------------------------


def percentiles(values: array.array[int], scale: float) -> dict[str, float | None]:
    """p50/p90/p99/max of ns values, in `scale` units (1e6: ms)."""
    if not values:
        return {"p50": None, "p90": None, "p99": None, "max": None}
    data = np.frombuffer(values, dtype=np.int64)
    p50, p90, p99 = np.percentile(data, [50, 90, 99])
    return {
        "p50": float(p50) / scale,
        "p90": float(p90) / scale,
        "p99": float(p99) / scale,
        "max": float(data.max()) / scale,
    }


class LoadGen:
    def __init__(self, kind: str, ports: Sequence[int], redis: str | None, channel: str) -> None:
        self.kind = kind
        self.ports = list(ports)
        self.redis = redis
        self.channel = channel
        self.groups: dict[str, list[Reader]] = {}
        # Per event id: the stream it belongs to, and how many deliveries arrived.
        self.owner: list[Stream | None] = []
        self.got: array.array[int] = array.array("i")
        self.last_rx = 0
        self.dropped = 0
        self._publisher: Publisher | None = None
        self._watched = Stream("watched")
        self._watch_t0 = 0.0

    @property
    def publisher(self) -> Publisher:
        if self._publisher is None:
            if self.kind == "livethread":
                self._publisher = ApiPublisher(self.ports)
            elif self.redis is None:
                raise ValueError("--redis is needed to publish to the peers")
            elif self.kind == "socketio":
                self._publisher = SocketioPublisher(self.redis, self.channel)
            else:
                self._publisher = RedisPublisher(self.redis, self.channel)
        return self._publisher

    async def handle(self, command: dict[str, Any]) -> dict[str, Any]:
        handlers: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
            "connect": self.connect,
            "close": self.close,
            "reconnect": self.reconnect,
            "publish": self.publish,
            "watch": self.watch,
            "collect": self.collect,
            "posts": self.posts,
            "snapshot": self.snapshot,
            "ping": self.ping,
        }
        cpu0, wall0 = cpu_seconds(), time.monotonic()
        answer = await handlers[command["op"]](command)
        answer["cpu"] = cpu_seconds() - cpu0
        answer["wall"] = time.monotonic() - wall0
        answer["next_id"] = len(self.owner)
        answer["dropped"] = self.dropped
        return answer

    async def ping(self, command: dict[str, Any]) -> dict[str, Any]:
        return {}

    # Readers.

    async def connect(self, command: dict[str, Any]) -> dict[str, Any]:
        """`group` gets `count` readers: reader i on threads[i // per_thread], ports alternating
        (per_thread 0: all on threads[0]); at most `concurrency` handshakes at a time."""
        threads: list[str] = command["threads"]
        count: int = command["count"]
        per_thread: int = command.get("per_thread", 0)
        group = self.groups.setdefault(command["group"], [])
        new = [
            Reader(
                self,
                self.ports[i % len(self.ports)],
                threads[i // per_thread if per_thread else 0],
            )
            for i in range(count)
        ]
        group.extend(new)
        failed, retries = await self._open_all(new, command.get("concurrency", 0), resume=False)
        return {"connected": count - failed, "failed": failed, "retries": retries}

    async def close(self, command: dict[str, Any]) -> dict[str, Any]:
        """Close every reader of `group` (forgotten unless `keep`); wait until they are gone."""
        readers = self.groups.get(command["group"], [])
        for reader in readers:
            reader.close()
        open_ones = [r.transport for r in readers if r.transport is not None]
        if open_ones:
            await asyncio.wait(
                [asyncio.ensure_future(t.wait_disconnected()) for t in open_ones],
                timeout=OPEN_TIMEOUT,
            )
        lingering = sum(r.transport is not None for r in readers)
        if not command.get("keep"):
            self.groups.pop(command["group"], None)
        return {"closed": len(readers), "lingering": lingering}

    async def reconnect(self, command: dict[str, Any]) -> dict[str, Any]:
        """Every (closed) reader of `group` at once, as after an outage; livethread readers
        resume with `since`. Time until the last one is registered."""
        readers = self.groups.get(command["group"], [])
        begun = time.monotonic()
        failed, retries = await self._open_all(readers, 0, resume=True)
        return {
            "connected": len(readers) - failed,
            "failed": failed,
            "retries": retries,
            "seconds": time.monotonic() - begun,
        }

    async def _open_all(
        self, readers: list[Reader], concurrency: int, *, resume: bool
    ) -> tuple[int, int]:
        """Open readers (retrying each up to 3 times); (failed, retries)."""
        limit = asyncio.Semaphore(concurrency or len(readers) or 1)
        retries = 0

        async def one(reader: Reader) -> bool:
            nonlocal retries
            async with limit:
                for attempt in range(4):
                    try:
                        await reader.open(resume)
                        return True
                    except Exception:
                        reader.close()
                        if attempt == 3:
                            return False
                        retries += 1
                        await asyncio.sleep(0.25 * (attempt + 1))
            return False

        results = await asyncio.gather(*(one(r) for r in readers))
        return results.count(False), retries

    def _ready_per_thread(self, group: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for reader in self.groups.get(group, []):
            if reader.is_ready:
                counts[reader.thread] = counts.get(reader.thread, 0) + 1
        return counts

    # Publishing.

    def _new_event(self, stream: Stream, expected: int) -> int:
        n = len(self.owner)
        self.owner.append(stream)
        self.got.append(0)
        stream.events.append((n, expected))
        stream.expected += expected
        return n

    async def publish(self, command: dict[str, Any]) -> dict[str, Any]:
        """Each stream publishes at `rate`/s to its `threads` in turn for `seconds`; then the
        deliveries drain (until all arrived, or for `drain` s: what has not arrived by then is
        lost)."""
        seconds: float = command["seconds"]
        streams: list[tuple[Stream, dict[str, Any]]] = [
            (Stream(spec["name"]), spec) for spec in command["streams"]
        ]
        publisher = self.publisher
        cpu0 = cpu_seconds()
        dropped = self.dropped
        t0 = time.monotonic()
        sends: set[asyncio.Task[bool]] = set()

        async def send(stream: Stream, n: int, thread: str) -> bool:
            try:
                ok = await publisher.publish(stream, n, thread)
            except Exception:
                ok = False
            if ok:
                stream.published += 1
            else:
                # An event the server refused is expected nowhere.
                stream.failed += 1
                stream.unsent.add(n)
            return ok

        async def pace(stream: Stream, spec: dict[str, Any]) -> None:
            rate: float = spec["rate"]
            threads: list[str] = spec["threads"]
            ready = self._ready_per_thread(spec["group"])
            count: int = spec.get("count", int(seconds * rate) + 1)
            for i in range(count):
                due = t0 + i / rate
                if due - t0 >= seconds:
                    return
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                thread = threads[(i * 7919) % len(threads)]
                n = self._new_event(stream, ready.get(thread, 0))
                task = asyncio.create_task(send(stream, n, thread))
                sends.add(task)
                task.add_done_callback(sends.discard)

        await asyncio.gather(*(pace(s, spec) for s, spec in streams))
        published_at = time.monotonic()
        if sends:
            await asyncio.wait(set(sends), timeout=OPEN_TIMEOUT)
        await self._drain([s for s, _ in streams], command.get("drain", 10.0))
        answer: dict[str, Any] = {"streams": {}}
        for stream, _ in streams:
            answer["streams"][stream.name] = self._report(
                stream, t0, published_at, raw=command.get("raw", False)
            )
        answer["loadgen_cpu"] = cpu_seconds() - cpu0
        answer["dropped_here"] = self.dropped - dropped  # readers the servers closed meanwhile
        return answer

    async def _drain(self, streams: list[Stream], drain: float) -> None:
        # No shortcut on a quiet spell: a server busy with a backlog can go a second or more
        # without sending a frame and still deliver everything.
        deadline = time.monotonic() + drain
        while time.monotonic() < deadline:
            if all(len(s.lat) >= s.expected for s in streams):
                return
            await asyncio.sleep(0.02)

    def _report(
        self, stream: Stream, t0: float, published_at: float, *, raw: bool
    ) -> dict[str, Any]:
        lost = duplicated = received = 0
        got = self.got
        stream.expected = 0
        for n, expected in stream.events:
            if n in stream.unsent:
                self.owner[n] = None
                continue
            stream.expected += expected
            have = got[n]
            received += min(have, expected)
            if have < expected:
                lost += expected - have
            else:
                duplicated += have - expected
            # Late arrivals after the report are not counted against anyone.
            self.owner[n] = None
        window = published_at - t0
        span = max(window, self.last_rx / 1e9 - t0) if stream.lat else window
        report: dict[str, Any] = {
            "published": stream.published,
            "failed_posts": stream.failed,
            "expected": stream.expected,
            "received": received,
            "lost": lost,
            "duplicated": duplicated,
            "seconds": window,
            "span": span,
            "post_rate": stream.published / window if window > 0 else 0.0,
            "deliveries_per_s": received / span if span > 0 else 0.0,
            **percentiles(stream.lat, 1e6),
        }
        if raw:
            report["lat_us"] = [v // 1000 for v in stream.lat]
            report["unsent"] = sorted(stream.unsent)
        return report

    async def watch(self, command: dict[str, Any]) -> dict[str, Any]:
        """Count deliveries to `group` of events `first`..`first+count-1`, published by another
        load generator (each expected once per ready reader of the group)."""
        stream = Stream(command["name"])
        ready = sum(self._ready_per_thread(command["group"]).values())
        first: int = command["first"]
        while len(self.owner) < first:
            self.owner.append(None)
            self.got.append(0)
        for _ in range(command["count"]):
            self._new_event(stream, ready)
        self._watched = stream
        self._watch_t0 = time.monotonic()
        return {"ready": ready}

    async def collect(self, command: dict[str, Any]) -> dict[str, Any]:
        """The watched events' deliveries (`unsent`: ids the other generator failed to send)."""
        stream = self._watched
        stream.unsent.update(command.get("unsent", []))
        await self._drain([stream], command.get("drain", 10.0))
        now = time.monotonic()
        report = self._report(stream, self._watch_t0, now, raw=True)
        return {"streams": {stream.name: report}}

    # livethread's HTTP API.

    async def posts(self, command: dict[str, Any]) -> dict[str, Any]:
        """`count` posts to `thread` (or, with `threads` N > 1, spread in turn over N threads
        named after it) by `concurrency` keep-alive clients as fast as they are answered (at
        most `max_seconds`): durable, committed posts per second."""
        publisher = self.publisher
        if not isinstance(publisher, ApiPublisher):
            raise ValueError("posts: livethread only")
        count: int = command["count"]
        thread: str = command["thread"]
        spread: int = command.get("threads", 1)
        deadline = time.monotonic() + command.get("max_seconds", 60.0)
        times = array.array("q")
        statuses: dict[int, int] = {}
        left = count

        async def client() -> None:
            nonlocal left
            while left > 0 and time.monotonic() < deadline:
                left -= 1
                target = f"{thread}-{left % spread}" if spread > 1 else thread
                status, took = await publisher.post(target, f"post {left} {PAD}")
                statuses[status] = statuses.get(status, 0) + 1
                if status == 201:
                    times.append(int(took * 1e9))

        begun = time.monotonic()
        await asyncio.gather(*(client() for _ in range(command.get("concurrency", 32))))
        seconds = time.monotonic() - begun
        ok = statuses.get(201, 0)
        return {
            "ok": ok,
            "statuses": {str(k): v for k, v in statuses.items()},
            "seconds": seconds,
            "posts_per_s": ok / seconds if seconds > 0 else 0.0,
            **percentiles(times, 1e6),
        }

    async def snapshot(self, command: dict[str, Any]) -> dict[str, Any]:
        """GET the thread's snapshot `times` times in turn; time to the last byte of each."""
        publisher = self.publisher
        if not isinstance(publisher, ApiPublisher):
            raise ValueError("snapshot: livethread only")
        path = f"/api/v1/threads?site={SITE}&thread={command['thread']}"
        times: list[float] = []
        size = comments = 0
        for _ in range(command.get("times", 10)):
            status, body, took = await publisher.get(path)
            if status != 200:
                raise RuntimeError(f"snapshot answered {status}: {body[:200]!r}")
            times.append(took * 1000)
            size = len(body)
            comments = int(json.loads(body)["count"])
        ordered = sorted(times)
        return {
            "ms": ordered,
            "first_ms": times[0],
            "median_ms": ordered[len(ordered) // 2],
            "bytes": size,
            "comments": comments,
        }

    async def shutdown(self) -> None:
        for readers in self.groups.values():
            for reader in readers:
                reader.close()
        if self._publisher is not None:
            await self._publisher.close()


async def serve(gen: LoadGen, deadline: float) -> None:
    loop = asyncio.get_running_loop()
    loop.call_later(deadline, os._exit, 3)  # whatever happens, this process ends
    stdin = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    try:
        while True:
            line = await stdin.readline()
            if not line:
                return
            command = json.loads(line)
            if command["op"] == "quit":
                return
            try:
                answer = await gen.handle(command)
            except Exception as exc:
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()
    finally:
        await gen.shutdown()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--ports", required=True, help="server ports, comma-separated")
    parser.add_argument("--redis", help="the servers' Redis (for the peers' publisher)")
    parser.add_argument("--channel", default="", help="the peers' channel (prefix)")
    parser.add_argument("--deadline", type=float, default=3600.0, help="exit after this long")
    args = parser.parse_args(argv)
    raise_file_limit()
    ports = [int(p) for p in args.ports.split(",")]
    uvloop.run(serve(LoadGen(args.kind, ports, args.redis, args.channel), args.deadline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
