"""One logging setup (server/logs.py): time, level and logger on every line, the app's INFO
lines printed, and a flood of the same message held to a line per interval."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.logs import RepeatFilter
from server.settings import Settings
from tests.support.clients import WAIT, comment_json, provision
from tests.support.redis_server import RedisServer, free_port
from tests.support.server import serve_process
from tests.support.waiting import eventually

LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: \S"
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _record(message: str, line: int = 10, *args: object) -> logging.LogRecord:
    return logging.LogRecord("server.x", logging.WARNING, "/x.py", line, message, args, None)


def test_repeats_pass_once_per_interval_then_say_how_many_were_held() -> None:
    """The same message from the same place passes once per interval; the next one to pass
    says how many were held back; another place or message is not held."""
    clock = Clock()
    repeats = RepeatFilter(every=10.0, clock=clock)
    assert repeats.filter(_record("publish failed (%s)", 10, "a"))
    held = [repeats.filter(_record("publish failed (%s)", 10, n)) for n in range(99)]
    assert not any(held)
    assert repeats.filter(_record("publish failed (%s)", 11, "b"))  # another line
    assert repeats.filter(_record("something else", 10))
    clock.now += 10.0
    later = _record("publish failed (%s)", 10, "c")
    assert repeats.filter(later)
    assert later.getMessage() == "publish failed (c) (… repeated 99 times in 10s)"


def test_the_filter_remembers_a_bounded_number_of_places() -> None:
    """Ten thousand different messages leave at most `memory` places remembered."""
    repeats = RepeatFilter(every=10.0, memory=50, clock=Clock())
    for n in range(10_000):
        assert repeats.filter(_record(f"message {n}"))
    assert len(repeats._seen) == 50


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as running:
        yield running


@pytest.mark.timeout(90)
async def test_a_real_server_logs_time_and_level_its_info_and_an_outage_briefly(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """A real `livethread serve`: every stderr line has time, level and logger; the bus's INFO
    "reconnected" appears after a Redis restart; 50 posts with Redis down print at most a few
    publish-failure lines, not one per post."""
    database = f"sqlite:///{tmp_path / 'logs.db'}"
    await provision(Settings(database=database))
    env = {"LIVETHREAD_BUS_PREFIX": f"t-{uuid.uuid4().hex}:", "LIVETHREAD_LOG_LEVEL": "info"}
    args = ("--database", database, "--redis", redis_server.url)
    async with (
        serve_process(*args, env=env) as server,
        httpx.AsyncClient(base_url=f"{server.http}", timeout=WAIT) as http,
    ):
        assert (await http.post("/api/v1/comments", json=comment_json())).status_code == 201
        await asyncio.to_thread(redis_server.stop)
        for n in range(50):
            answer = await http.post("/api/v1/comments", json=comment_json(body=f"#{n}"))
            assert answer.status_code == 201
        await asyncio.to_thread(redis_server.start)

        def reconnected() -> bool:
            return any(b"redis bus: reconnected" in line for line in server.log)

        # Polling: the server's log is the only sign of its reconnecting.
        await eventually(reconnected, within=20.0)
    lines = b"".join(server.log).decode(errors="replace").splitlines()
    assert lines
    for line in lines:
        assert LINE.match(line), line
    assert any(" INFO server.adapters.redis_bus: redis bus: reconnected" in x for x in lines)
    failures = [x for x in lines if "publish" in x and ("fail" in x or "not published" in x)]
    print(f"\n50 posts with Redis down: {len(failures)} publish-failure line(s)")
    assert len(failures) <= 3, failures


@pytest.mark.timeout(60)
async def test_a_worker_process_logs_with_time_and_level(tmp_path: Path) -> None:
    """`livethread worker` uses the same setup: its warning (no Redis to reach) has time,
    level and logger."""
    database = f"sqlite:///{tmp_path / 'worker.db'}"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "server.cli", "worker", "all", "--database", database),
        *("--redis", f"redis://127.0.0.1:{free_port()}/0"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        async with asyncio.timeout(WAIT):
            line = (await process.stderr.readline()).decode()
    finally:
        process.terminate()
        async with asyncio.timeout(WAIT):
            await process.communicate()
    assert LINE.match(line), line
    assert " WARNING server.adapters.redis_bus: redis bus: cannot reach Redis" in line
