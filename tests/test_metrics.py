"""/metrics (issue 18): the Prometheus text format, moved by real traffic, and summed over the
processes of one `livethread serve --workers N`; JSON log lines."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from server import events
from server.cli.serve import clear_metric_files
from server.moderation.rules import Rules
from server.settings import Settings
from tests.support.clients import WAIT, comment_json, provision, reader
from tests.support.moderation import set_rules
from tests.support.raw_websocket import close_code, stalled_socket
from tests.support.redis_server import RedisServer, free_port
from tests.support.server import serve, serve_process
from tests.support.waiting import eventually

NAMES = {
    "livethread_sockets_open",
    "livethread_rooms",
    "livethread_deliveries",
    "livethread_delivered_bytes",
    "livethread_slow_closes",
    "livethread_posts",
    "livethread_commit_seconds",
    "livethread_commit_to_delivery_seconds",
    "livethread_bus_connected",
    "livethread_bus_reconnects",
    "livethread_repairs",
    "livethread_rate_limited",
    "livethread_snapshot_cache",
}

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(http: httpx.AsyncClient) -> tuple[set[str], Samples]:
    """The metric families' names and every sample, parsed by prometheus-client's parser."""
    answer = await http.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    names: set[str] = set()
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        names.add(family.name)
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return names, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_are_named_and_moved_by_posts_readers_and_deliveries(
    settings: Settings,
) -> None:
    """/metrics answers the text format with every livethread_* family; a reader's socket
    moves open sockets and rooms; a post moves the created posts, the commit histogram, the
    deliveries and their bytes, and the commit-to-delivery histogram; two snapshot requests
    are a cache miss then a hit; each in-process worker's lag is there."""
    await provision(settings)
    async with (
        serve(settings) as server,
        httpx.AsyncClient(base_url=server.http, timeout=WAIT) as http,
    ):
        names, before = await scrape(http)
        assert names >= NAMES
        assert value(before, "livethread_bus_connected") == 1
        async with reader(server.ws("news", "article-1")) as live:
            _, opened = await scrape(http)
            sockets = "livethread_sockets_open"
            assert value(opened, sockets) == value(before, sockets) + 1
            assert value(opened, "livethread_rooms") >= 1
            posted = await http.post("/api/v1/comments", json=comment_json("counted"))
            assert posted.status_code == 201, posted.text
            created = await live.expect(events.CommentCreated)
            for _ in range(2):
                params = {"site": "news", "thread": "article-1"}
                assert (await http.get("/api/v1/threads", params=params)).status_code == 200
            _, after = await scrape(http)
        _, closed = await scrape(http)
    assert value(closed, sockets) == value(before, sockets)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("livethread_posts_total", outcome="created", status="201") == 1
    assert moved("livethread_commit_seconds_count") == 1
    assert moved("livethread_commit_seconds_sum") > 0
    assert moved("livethread_deliveries_total") == 1
    frame = events.encode(created)
    assert moved("livethread_delivered_bytes_total") == len(frame)
    assert moved("livethread_commit_to_delivery_seconds_count") == 1
    assert moved("livethread_snapshot_cache_total", result="miss") == 1
    assert moved("livethread_snapshot_cache_total", result="hit") == 1
    lagging = {labels for name, labels in after if name == "livethread_worker_events_behind"}
    assert ("worker", "webhooks") in {pair for labels in lagging for pair in labels}


async def test_a_rate_limited_post_moves_the_refusals(settings: Settings) -> None:
    """A post over the address's rate is answered 429 and counted under its limit, and as a
    refused post with its status."""
    settings = settings.replace(rate_limit=True, post_rate_address="1/60")
    await provision(settings)
    async with (
        serve(settings) as server,
        httpx.AsyncClient(base_url=server.http, timeout=WAIT) as http,
    ):
        _, before = await scrape(http)
        assert (await http.post("/api/v1/comments", json=comment_json("one"))).status_code == 201
        assert (await http.post("/api/v1/comments", json=comment_json("two"))).status_code == 429
        _, after = await scrape(http)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("livethread_rate_limited_total", limit="posts_address") == 1
    assert moved("livethread_posts_total", outcome="refused", status="429") == 1
    assert moved("livethread_posts_total", outcome="created", status="201") == 1


@pytest.mark.timeout(90)
async def test_one_serve_with_two_processes_sums_both_in_every_scrape(tmp_path: Path) -> None:
    """`serve --workers 2` on Redis: both processes keep their values in the metrics
    directory, and every scrape, whichever process answers it, counts every post and every
    open socket of both (prometheus-client's multiprocess mode)."""
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    await provision(Settings(database=database))
    directory = tmp_path / "metrics"
    with RedisServer() as redis_server:
        env = {
            "LIVETHREAD_BUS_PREFIX": f"test-{uuid.uuid4().hex}:",
            "LIVETHREAD_METRICS_DIR": str(directory),
        }
        args = ("--workers", "2", "--database", database, "--redis", redis_server.url)
        async with (
            serve_process(*args, env=env, port=free_port()) as server,
            # A connection per request, so the two processes share them out.
            httpx.AsyncClient(
                base_url=server.http, timeout=WAIT, limits=httpx.Limits(max_keepalive_connections=0)
            ) as http,
        ):
            await eventually(lambda: _started(server.log) == 2)
            async with (
                reader(server.ws("news", "article-1")),
                reader(server.ws("news", "article-2")),
                reader(server.ws("news", "article-3")),
            ):
                posts = 12
                for index in range(posts):
                    thread = f"article-{index % 3 + 1}"
                    body = comment_json(f"post {index}", thread=thread)
                    assert (await http.post("/api/v1/comments", json=body)).status_code == 201

                async def counted() -> bool:
                    _, samples = await scrape(http)
                    created = value(
                        samples, "livethread_posts_total", outcome="created", status="201"
                    )
                    delivered = value(samples, "livethread_deliveries_total")
                    return created == posts and delivered >= posts

                await eventually(counted)
                for _ in range(6):
                    _, samples = await scrape(http)
                    assert value(samples, "livethread_sockets_open") == 3
                    assert value(samples, "livethread_bus_connected") == 1
                    assert (
                        value(samples, "livethread_posts_total", outcome="created", status="201")
                        == posts
                    )
                    assert value(samples, "livethread_commit_seconds_count") == posts
            # Both processes took a share of the connections.
            counters = list(directory.glob("counter_*.db"))
            assert len(counters) == 2


def _started(log: list[bytes]) -> int:
    return sum(b"Application startup complete" in line for line in log)


@pytest.mark.timeout(60)
async def test_json_logs_are_one_object_a_line(tmp_path: Path) -> None:
    """LIVETHREAD_LOG_FORMAT=json: every line a server process writes (uvicorn's, the app's and
    the access log's) parses as one JSON object with time, level, logger and message."""
    database = f"sqlite:///{tmp_path / 'x.db'}"
    await provision(Settings(database=database))
    env = {"LIVETHREAD_LOG_FORMAT": "json", "LIVETHREAD_ACCESS_LOG": "1"}
    async with (
        serve_process("--database", database, env=env) as server,
        httpx.AsyncClient(base_url=server.http, timeout=WAIT) as http,
    ):
        assert (await http.get("/healthz")).status_code == 200

        def logged_access() -> bool:
            return any(b'"uvicorn.access"' in line for line in server.log)

        await eventually(logged_access)
    lines = [json.loads(line) for line in server.log if line.strip()]
    assert lines
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line), line
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert access[0]["path"] == "/healthz" and access[0]["status"] == 200
    assert any("Uvicorn running on" in line["message"] for line in lines)


# Links render to about three times their source length, so each frame is about 15 kB.
BIG_BODY = "[a](https://example.com/) " * 190


@pytest.mark.timeout(60)
async def test_a_reader_closed_for_being_too_slow_moves_the_slow_closes(settings: Settings) -> None:
    """A socket that never reads is closed with 4008, and /metrics counts one slow close."""
    small = settings.replace(socket_inbox=8)
    await provision(small)
    await set_rules(small, "news", Rules(links_max=1000))
    async with (
        serve(small) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        _, before = await scrape(http)
        stalled = await asyncio.to_thread(stalled_socket, running.port, "news", "article-1")
        try:
            for _ in range(300):
                answer = await http.post("/api/v1/comments", json=comment_json(body=BIG_BODY))
                assert answer.status_code == 201
            assert await asyncio.to_thread(close_code, stalled) == 4008
        finally:
            stalled.close()
        _, after = await scrape(http)
    slow = "livethread_slow_closes_total"
    assert value(after, slow) - value(before, slow) == 1


def test_a_metrics_dir_loses_only_the_metric_files_of_a_previous_serve(tmp_path: Path) -> None:
    """`serve` empties LIVETHREAD_METRICS_DIR of prometheus-client's files only: a database (or
    any other file) a mistaken setting points at is left alone."""
    kept = ("livethread.db", "livethread.db-wal", "notes.db", "counter_x.db")
    dropped = ("counter_12.db", "gauge_livesum_12.db", "gauge_all_7.db", "histogram_3.db")
    for name in (*kept, *dropped):
        (tmp_path / name).write_bytes(b"x")
    clear_metric_files(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)
