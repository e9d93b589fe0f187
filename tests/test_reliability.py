"""Reliability: no update lost, duplicated or brought back, through faults (issue 4; ARCHITECTURE.md
invariants 1 to 4).

Every test runs real servers: uvicorn in this process (`serve`), or `livethread serve` child
processes on one SQLite file and a private redis-server (`tests/support/cluster.py`). Waits are
on signals (a reader reaching a seq, a socket closing, a process exiting) and always bounded.
Measured figures are printed (`pytest -s` shows them).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import msgspec
import pytest
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server import events
from server.model import CommentRecord, ThreadKey, public
from server.settings import Settings
from server.threads import history
from server.threads.hub import Hub
from server.web.app import store_for
from tests.support.checker import Report, Truth, check
from tests.support.clients import WAIT, Tokens, comment_json, decode_json, provision
from tests.support.cluster import cluster, exited, log_text, post, snapshot
from tests.support.follower import Follower
from tests.support.raw_websocket import handshake_request
from tests.support.redis_server import RedisServer
from tests.support.server import Running, ServerProcess, serve
from tests.support.waiting import eventually

SITE, THREAD = "news", "article-1"


@pytest.fixture
async def tokens(settings: Settings) -> Tokens:
    """The test site and its moderator token, in the `settings` database."""
    return await provision(settings)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as running:
        yield running


async def _commit_without_publishing(settings: Settings, comment_id: str) -> None:
    """What a process that died between commit and publish leaves behind."""
    store = store_for(settings)
    await store.open()
    try:
        record = CommentRecord(
            id=comment_id,
            site=SITE,
            thread=THREAD,
            parent=None,
            author_name="Ghost",
            body_source="committed, never published",
            body_html="<p>committed, never published</p>",
            created_at=time.time(),
        )
        async with store.threads.transaction(ThreadKey(SITE, THREAD)) as tx:
            await tx.insert_comment(record)
            await history.append(
                tx, events.CommentCreated(seq=0, comment=public(record)), record.id
            )
    finally:
        await store.close()


async def _truth(settings: Settings) -> Truth:
    store = store_for(settings)
    await store.open()
    try:
        return Truth.of(await store.log.events_after(ThreadKey(SITE, THREAD), 0, 100_000))
    finally:
        await store.close()


async def test_unpublished_event_reaches_readers_through_the_log_tail(
    server: Running, settings: Settings
) -> None:
    """An event committed but never published reaches a reader within 2 s with no later post."""
    reader = Follower([server.http], SITE, THREAD)
    reader.start()
    try:
        await reader.connected()
        started = time.monotonic()
        await _commit_without_publishing(settings, "ghost1")
        await reader.reach(1, within=2.0)
        assert time.monotonic() - started < 2.0
        report = check(await _truth(settings), reader)
        assert report.clean, report
        assert reader.shown == {"ghost1": "<p>committed, never published</p>"}
    finally:
        await reader.stop()


def _bearer(tokens: Tokens) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.news}"}


def _clean(reports: list[Report]) -> None:
    for report in reports:
        assert report.clean, report


# -- 1. Idempotent posting: a duplicate still in flight ---------------------------------------


async def test_duplicate_still_in_flight_is_409_and_the_first_posts_once(server: Running) -> None:
    """Same key while the first request still uploads: 409; the first gets 201; one comment."""
    key = "in-flight-1"
    body = msgspec.json.encode(comment_json(body="sent slowly"))
    half = len(body) // 2
    head = (
        "POST /api/v1/comments HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Idempotency-Key: {key}\r\n"
        # uvicorn sends "100 Continue" when the handler first reads the body, which it does
        # after claiming the key: the signal that request 1 is in flight, holding the key.
        "Expect: 100-continue\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    async with asyncio.timeout(WAIT):
        stream, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(head + body[:half])
        await writer.drain()
        async with asyncio.timeout(WAIT):
            interim = await stream.readuntil(b"\r\n\r\n")
        assert interim.startswith(b"HTTP/1.1 100 "), interim
        async with httpx.AsyncClient(base_url=server.http, timeout=WAIT) as http:
            duplicate = await http.post(
                "/api/v1/comments",
                content=body,
                headers={"Content-Type": "application/json", "Idempotency-Key": key},
            )
            assert duplicate.status_code == 409, duplicate.text
            assert decode_json(duplicate.content)["error"] == "conflict"
            writer.write(body[half:])
            await writer.drain()
            async with asyncio.timeout(WAIT):
                raw = await stream.read()  # "Connection: close": the answer ends at EOF
            status, _, rest = raw.partition(b"\r\n")
            assert status.startswith(b"HTTP/1.1 201 "), raw
            first = decode_json(rest.partition(b"\r\n\r\n")[2])["comment"]
            assert isinstance(first, dict) and first["html"] == "<p>sent slowly</p>"
            thread = await snapshot(http, server.http)
            assert thread["count"] == 1 and thread["seq"] == 1
            comments = thread["comments"]
            assert isinstance(comments, list)
            assert [c["id"] for c in comments] == [first["id"]]
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            async with asyncio.timeout(WAIT):
                await writer.wait_closed()


# -- 2. Commit, then crash before publish -----------------------------------------------------


@pytest.mark.timeout(60)
async def test_crash_between_commit_and_publish_still_reaches_readers(
    database_url: str, redis_server: RedisServer
) -> None:
    """Killed between commit and publish: the comment reaches a reader on B within 2 s, once."""
    async with cluster(database_url, redis=redis_server) as c:
        a = await c.start(env={"LIVETHREAD_FAULT": "crash-after-commit"})
        b = await c.start()
        on_b = Follower([b.http], SITE, THREAD, name="on-b")
        on_b.start()
        try:
            await on_b.connected()
            async with httpx.AsyncClient(timeout=WAIT) as http:
                started = time.monotonic()
                with pytest.raises(httpx.TransportError):  # the connection drops: no answer
                    await http.post(
                        f"{a.http}/api/v1/comments", json=comment_json(body="committed, then died")
                    )
                await on_b.reach(1, within=2.0)
                delay = time.monotonic() - started
            assert await exited(a) == -signal.SIGKILL, log_text(a)
            truth = await c.truth()
            (comment_id,) = truth.created
            report = check(truth, on_b)
            assert report.clean and report.delivered == 1, report
            assert on_b.shown == {comment_id: "<p>committed, then died</p>"}
            print(f"\ncrash after commit: reader on the other process had it after {delay:.3f} s")
            assert delay < 2.0
        finally:
            await on_b.stop()


# -- 3. Redis down and back -------------------------------------------------------------------

PACE = 0.1  # seconds between two posts
POSTS = 140  # 14 s of posting
OUTAGE = (2.0, 12.0)  # Redis is stopped from 2 s to 12 s after the first post


async def _health(http: httpx.AsyncClient, process: ServerProcess) -> str:
    answer = await http.get(f"{process.http}/healthz")
    assert answer.status_code == 200, answer.text
    bus = decode_json(answer.content)["bus"]
    assert isinstance(bus, str)
    return bus


async def _bus_becomes(
    http: httpx.AsyncClient, processes: list[ServerProcess], wanted: str, within: float
) -> float:
    """Poll /healthz until every process reports the bus `wanted`; returns how long it took.

    Polling: the bus state is only observable from outside through /healthz.
    """
    started = time.monotonic()

    async def reached() -> bool:
        return all([await _health(http, p) == wanted for p in processes])

    await eventually(reached, within, every=0.05)
    return time.monotonic() - started


@pytest.mark.timeout(90)
async def test_redis_down_for_10s_posts_commit_and_readers_converge(
    database_url: str, redis_server: RedisServer
) -> None:
    """Redis down 10 s mid-stream: posts answer 201, /healthz tracks it, every reader converges."""
    async with cluster(database_url, redis=redis_server) as c:
        a = await c.start()
        b = await c.start()
        readers = [
            Follower([p.http], SITE, THREAD, name=f"{name}{i}")
            for name, p in (("on-a", a), ("on-b", b))
            for i in range(2)
        ]
        for r in readers:
            r.start()
        try:
            for r in readers:
                await r.connected()
            async with httpx.AsyncClient(timeout=WAIT) as http:
                assert await _bus_becomes(http, [a, b], "connected", within=WAIT) >= 0
                # (status, comment id, sent at, answered at) of every post
                answers: list[tuple[int, str, float, float]] = []
                t0 = time.monotonic()

                async def one(n: int) -> None:
                    through = (a, b)[n % 2]
                    sent = time.monotonic()
                    answer = await http.post(
                        f"{through.http}/api/v1/comments", json=comment_json(body=f"#{n}")
                    )
                    comment = decode_json(answer.content).get("comment")
                    cid = comment["id"] if isinstance(comment, dict) else ""
                    answers.append((answer.status_code, str(cid), sent, time.monotonic()))

                async def posting() -> float:
                    """Post at a steady rate; then how long until every reader had every post."""
                    async with asyncio.TaskGroup() as group:
                        for n in range(POSTS):
                            # Pacing, not synchronisation: a steady rate of posts.
                            await asyncio.sleep(max(0.0, t0 + n * PACE - time.monotonic()))
                            group.create_task(one(n))
                    last = max(answered for *_, answered in answers)
                    for r in readers:
                        await r.reach(POSTS, within=10.0)
                    return time.monotonic() - last

                async def outage() -> tuple[float, float]:
                    # Scheduling the fault at fixed moments of the run, not synchronisation.
                    await asyncio.sleep(t0 + OUTAGE[0] - time.monotonic())
                    await asyncio.to_thread(redis_server.stop)
                    noticed = await _bus_becomes(http, [a, b], "disconnected", within=5.0)
                    await asyncio.sleep(t0 + OUTAGE[1] - time.monotonic())
                    await asyncio.to_thread(redis_server.start)
                    back = await _bus_becomes(http, [a, b], "connected", within=15.0)
                    return noticed, back

                async with asyncio.timeout(POSTS * PACE + 30):
                    converged, (noticed, back) = await asyncio.gather(posting(), outage())
                statuses = Counter(status for status, *_ in answers)
                assert statuses == {201: POSTS}, statuses
                slowest = max(answered - sent for _, _, sent, answered in answers)
                # Redis is back and resubscribed: posts through either process reach everyone.
                extra = [str((await post(http, p.http, "after the outage"))["id"]) for p in (a, b)]
                for r in readers:
                    await r.reach(POSTS + 2, within=2.0)
                assert (await snapshot(http, a.http))["seq"] == POSTS + 2
            truth = await c.truth()
            assert truth.lost([cid for _, cid, *_ in answers] + extra) == set()
            _clean([check(truth, r) for r in readers])
            for r in readers:
                assert r.resyncs == 0
                assert [e.seq for e in r.received] == list(range(1, POSTS + 3))
            print(
                f"\nredis outage: slowest post answered in {slowest:.3f} s; healthz said "
                f"disconnected {noticed:.2f} s after the stop and connected {back:.2f} s after "
                f"the restart; all {len(readers)} readers converged {converged:.2f} s after the "
                "last post's answer"
            )
            assert converged < 5.0
        finally:
            for r in readers:
                await r.stop()


# -- 5. Graceful restart ----------------------------------------------------------------------


@pytest.mark.timeout(60)
async def test_sigterm_closes_sockets_with_1012_keeps_acknowledged_posts_and_exits_0(
    database_url: str,
) -> None:
    """SIGTERM mid-traffic: reader closed with 1012, every 201 post kept, the process exits 0."""
    async with cluster(database_url) as c:
        a = await c.start()
        acknowledged: list[str] = []
        answered_at: list[float] = []
        others: list[int] = []
        enough = asyncio.Event()

        async def poster(http: httpx.AsyncClient, name: int) -> None:
            n = 0
            while True:
                try:
                    answer = await http.post(
                        f"{a.http}/api/v1/comments", json=comment_json(body=f"{name}.{n}")
                    )
                except httpx.TransportError:
                    return  # the server has gone: stop posting
                n += 1
                if answer.status_code != 201:
                    others.append(answer.status_code)
                    continue
                comment = decode_json(answer.content)["comment"]
                assert isinstance(comment, dict)
                acknowledged.append(str(comment["id"]))
                answered_at.append(time.monotonic())
                if len(acknowledged) >= 30:
                    enough.set()

        async def read_until_closed(ws: ClientConnection) -> tuple[int | None, list[int]]:
            seqs: list[int] = []
            with contextlib.suppress(ConnectionClosed):
                while True:
                    frame = events.decode_frame(await ws.recv())
                    if isinstance(frame, events.DurableEvent):
                        seqs.append(frame.seq)
            return ws.close_code, seqs

        async with (
            connect(a.ws(SITE, THREAD), open_timeout=WAIT, close_timeout=1) as ws,
            httpx.AsyncClient(timeout=WAIT) as http,
        ):
            assert isinstance(
                events.decode_frame(await asyncio.wait_for(ws.recv(), WAIT)), events.Hello
            )
            reading = asyncio.create_task(read_until_closed(ws))
            posters = [asyncio.create_task(poster(http, i)) for i in range(4)]
            async with asyncio.timeout(WAIT):
                await enough.wait()
            asked = time.monotonic()
            a.process.send_signal(signal.SIGTERM)
            code = await exited(a)
            took = time.monotonic() - asked
            async with asyncio.timeout(WAIT):
                await asyncio.gather(*posters)
                close_code, seqs = await reading
        assert code == 0, log_text(a)
        assert close_code == 1012, log_text(a)
        assert others == []
        assert seqs == list(range(1, len(seqs) + 1))
        truth = await c.truth()
        assert truth.lost(acknowledged) == set()
        print(
            f"\ngraceful restart: exited 0 {took:.2f} s after SIGTERM; {len(acknowledged)} posts "
            f"acknowledged ({sum(t > asked for t in answered_at)} answered after the SIGTERM), "
            f"all in the database; the reader was closed with {close_code}"
        )
        assert took < 5.0


# -- 7. Half-open connections -----------------------------------------------------------------


async def _raw_websocket(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A websocket handshake done by hand: a client that will never answer a ping."""
    stream, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(handshake_request(port, SITE, THREAD))
    await writer.drain()
    answer = await stream.readuntil(b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 101 "), answer
    return stream, writer


async def _frame(stream: asyncio.StreamReader) -> tuple[int, bytes] | None:
    """One server frame (servers never mask): (opcode, payload), or None at EOF."""
    try:
        first = await stream.readexactly(2)
        length = first[1] & 0x7F
        if length == 126:
            length = int.from_bytes(await stream.readexactly(2), "big")
        elif length == 127:
            length = int.from_bytes(await stream.readexactly(8), "big")
        return first[0] & 0x0F, await stream.readexactly(length)
    except asyncio.IncompleteReadError:
        return None


PING, CLOSE, TEXT = 0x9, 0x8, 0x1


async def test_peer_that_never_answers_pings_is_dropped(settings: Settings) -> None:
    """A peer that never answers pings is dropped within interval + timeout and leaves the hub."""
    # Ping interval 1 s, ping timeout 1 s: dropped after 2.00 s measured (bound: 2 s + 0.75 s).
    interval = timeout = 1.0
    quick = settings.replace(ws_ping_interval=interval, ws_ping_timeout=timeout)
    await provision(quick)
    async with serve(quick) as running:
        assert isinstance(running.app, Starlette)
        hub = running.app.state.hub
        assert isinstance(hub, Hub)
        async with asyncio.timeout(WAIT):
            stream, writer = await _raw_websocket(running.port)
        try:
            started = time.monotonic()
            frames: list[int] = []
            async with asyncio.timeout(WAIT):
                while (frame := await _frame(stream)) is not None:
                    frames.append(frame[0])
                    if frame[0] == CLOSE:
                        close_code = int.from_bytes(frame[1][:2], "big")
                        break
                dropped = time.monotonic() - started
            assert frames[0] == TEXT  # hello: the hub had the socket as a member
            assert PING in frames and frames[-1] == CLOSE, frames
            assert close_code == 1011
            # Polling: leaving the hub happens in the server after the drop, with no signal
            # a client can see.
            await eventually(lambda: hub.readers(ThreadKey(SITE, THREAD)) == 0)
        finally:
            writer.close()
        print(
            f"\nhalf-open: ping interval {interval} s + timeout {timeout} s; "
            f"dropped after {dropped:.2f} s (close {close_code})"
        )
        assert interval + timeout - 0.25 <= dropped <= interval + timeout + 0.75


# -- 8. Crash durability ----------------------------------------------------------------------


@pytest.mark.timeout(60)
async def test_sigkill_right_after_acknowledged_posts_loses_none(database_url: str) -> None:
    """SIGKILL right after 50 acknowledged posts: a new process on the same file has all 50."""
    async with cluster(database_url) as c:
        a = await c.start()
        async with httpx.AsyncClient(timeout=WAIT) as http:
            acknowledged = [
                str((await post(http, a.http, f"durable {n}"))["id"]) for n in range(50)
            ]
            a.process.kill()
            assert await exited(a) == -signal.SIGKILL
            b = await c.start()
            thread = await snapshot(http, b.http)
        comments = thread["comments"]
        assert isinstance(comments, list)
        assert [c["id"] for c in comments] == acknowledged
        assert thread["count"] == 50 and thread["seq"] == 50


@pytest.mark.sqlite_only
async def test_startup_refuses_a_database_that_cannot_be_in_wal() -> None:
    """serve on an in-memory SQLite database (no WAL) exits at once, non-zero, saying why."""
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "serve", "--port", "0",
        "--database", "sqlite:///:memory:",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with asyncio.timeout(WAIT):
            _, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    took = time.monotonic() - started
    message = err.decode(errors="replace")
    assert process.returncode not in (0, None), message
    assert "livethread: error:" in message and "WAL" in message, message
    assert "Traceback" not in message, message
    assert took < 5.0


# -- 9. Removal is final ----------------------------------------------------------------------


async def _replay(url: str, until: int) -> list[str]:
    """The raw frames a fresh socket gets with `url` (a since), up to the event at `until`."""
    frames: list[str] = []
    async with connect(url, open_timeout=WAIT, close_timeout=1) as ws, asyncio.timeout(WAIT):
        while True:
            raw = await ws.recv()
            assert isinstance(raw, str)
            frames.append(raw)
            frame = events.decode_frame(raw)
            if isinstance(frame, events.DurableEvent) and frame.seq >= until:
                return frames


async def test_reader_offline_during_a_removal_gets_it_and_nothing_shows_the_body(
    server: Running, settings: Settings, tokens: Tokens
) -> None:
    """Offline during a removal: gets it on resume; no snapshot, replay or count shows the text."""
    secret = "this text must never come back"
    follower = Follower([server.http], SITE, THREAD)
    follower.start()
    try:
        await follower.connected()
        async with httpx.AsyncClient(timeout=WAIT) as http:
            kept = await post(http, server.http, "a reply that stays")
            gone = await post(http, server.http, secret)
            await follower.reach(2)
            await follower.stop()  # offline
            removed = await http.post(
                f"{server.http}/api/v1/comments/{gone['id']}/moderation",
                json={"action": "remove"},
                headers=_bearer(tokens),
            )
            assert removed.status_code == 200, removed.text
            follower.start()  # back, resuming with since=2
            await follower.reach(3)
            assert len(follower.hellos) == 2
            assert follower.received[-1] == events.CommentRemoved(seq=3, id=str(gone["id"]))
            assert follower.shown == {kept["id"]: "<p>a reply that stays</p>", gone["id"]: None}

            thread = await http.get(
                f"{server.http}/api/v1/threads", params={"site": SITE, "thread": THREAD}
            )
            assert secret not in thread.text
            assert decode_json(thread.content)["count"] == 1
            counts = await http.get(
                f"{server.http}/api/v1/counts", params={"site": SITE, "thread": THREAD}
            )
            assert decode_json(counts.content)["counts"] == {THREAD: 1}
            page = await http.get(f"{server.http}/")
            assert secret not in page.text
        replayed = await _replay(server.ws(SITE, THREAD, since=0), until=3)
        assert not [f for f in replayed if secret in f]
        fresh = Follower([server.http], SITE, THREAD, name="fresh")
        fresh.start()
        try:
            await fresh.reach(3)
            assert fresh.shown[str(gone["id"])] is None
        finally:
            await fresh.stop()
        truth = await _truth(settings)
        _clean([check(truth, follower), check(truth, fresh)])
    finally:
        await follower.stop()


ROUNDS = 20


@pytest.mark.timeout(60)
async def test_edit_racing_a_removal_always_ends_removed_everywhere(
    database_url: str, redis_server: RedisServer
) -> None:
    """An author's edit racing a removal (20 rounds, 2 processes) always ends removed everywhere."""
    async with cluster(database_url, redis=redis_server) as c:
        a = await c.start()
        b = await c.start()
        readers = [Follower([p.http], SITE, THREAD, name=n) for n, p in (("on-a", a), ("on-b", b))]
        for r in readers:
            r.start()
        try:
            for r in readers:
                await r.connected()
            outcomes: Counter[int] = Counter()
            removed: list[str] = []
            async with httpx.AsyncClient(timeout=WAIT) as http:
                for n in range(ROUNDS):
                    editor, moderator = (a, b) if n % 2 else (b, a)
                    answer = await http.post(
                        f"{editor.http}/api/v1/comments", json=comment_json(body=f"firstdraft{n}")
                    )
                    assert answer.status_code == 201, answer.text
                    posted = decode_json(answer.content)
                    comment = posted["comment"]
                    assert isinstance(comment, dict)
                    cid = str(comment["id"])
                    editing = http.patch(
                        f"{editor.http}/api/v1/comments/{cid}",
                        json={"body": f"rewritten{n}"},
                        headers={"X-Edit-Token": str(posted["edit_token"])},
                    )
                    removing = http.post(
                        f"{moderator.http}/api/v1/comments/{cid}/moderation",
                        json={"action": "remove"},
                        headers=_bearer(c.tokens),
                    )
                    # Both in flight at once; which one is sent first alternates every 2 rounds.
                    if n % 4 < 2:
                        edit, removal = await asyncio.gather(editing, removing)
                    else:
                        removal, edit = await asyncio.gather(removing, editing)
                    assert removal.status_code == 200, removal.text
                    assert edit.status_code in (200, 409), edit.text
                    outcomes[edit.status_code] += 1
                    removed.append(cid)
                final = (await snapshot(http, a.http))["seq"]
                assert isinstance(final, int)
                for r in readers:
                    await r.reach(final)
                for p in (a, b):
                    thread = await http.get(
                        f"{p.http}/api/v1/threads", params={"site": SITE, "thread": THREAD}
                    )
                    assert "firstdraft" not in thread.text and "rewritten" not in thread.text
                    assert decode_json(thread.content)["count"] == 0
                replayed = await _replay(a.ws(SITE, THREAD, since=0), until=final)
                assert not [f for f in replayed if "firstdraft" in f or "rewritten" in f]
            truth = await c.truth()
            assert truth.removed == set(removed)
            _clean([check(truth, r) for r in readers])
            for r in readers:
                assert all(r.shown[cid] is None for cid in removed)
            print(
                f"\nedit vs removal: edit first {outcomes[200]} times, "
                f"removal first {outcomes[409]} times, all {ROUNDS} removed everywhere"
            )
        finally:
            for r in readers:
                await r.stop()


# -- 10. Ordering -----------------------------------------------------------------------------


@pytest.mark.timeout(60)
async def test_concurrent_posts_through_two_processes_are_applied_in_seq_order(
    database_url: str, redis_server: RedisServer
) -> None:
    """100 concurrent posts via 2 processes get seqs 1..100; every reader applies them in order."""
    async with cluster(database_url, redis=redis_server) as c:
        a = await c.start()
        b = await c.start()
        readers = [
            Follower([p.http], SITE, THREAD, name=f"{name}{i}")
            for name, p in (("on-a", a), ("on-b", b))
            for i in range(2)
        ]
        for r in readers:
            r.start()
        try:
            for r in readers:
                await r.connected()
            async with httpx.AsyncClient(timeout=WAIT) as http:

                async def client(k: int) -> list[str]:
                    return [
                        str((await post(http, (a, b)[(k + n) % 2].http, f"{k}.{n}"))["id"])
                        for n in range(10)
                    ]

                acknowledged = [
                    cid for ids in await asyncio.gather(*map(client, range(10))) for cid in ids
                ]
            for r in readers:
                await r.reach(100)
            truth = await c.truth()
            assert [e.seq for e in truth.events] == list(range(1, 101))
            assert truth.lost(acknowledged) == set() and len(truth.created) == 100
            _clean([check(truth, r) for r in readers])
            for r in readers:
                assert [e.seq for e in r.received] == list(range(1, 101))
        finally:
            for r in readers:
                await r.stop()
