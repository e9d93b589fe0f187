"""How workers run: inside `livethread serve` by default, or as `livethread worker` processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import httpx

from server.composition import store_for
from server.settings import Settings
from tests.support.clients import WAIT, comment_json, provision
from tests.support.server import serve, serve_process
from tests.test_webhooks import receiving
from workers.webhooks.worker import new_webhook


async def _subscribe(settings: Settings, url: str) -> str:
    store = store_for(settings)
    await store.open()
    try:
        hook = new_webhook("news", url, ("comment.created",))
        await store.webhooks.put(hook)
        return hook.secret
    finally:
        await store.close()


async def test_serve_runs_the_workers_in_process(settings: Settings) -> None:
    """With the embedded defaults, a post reaches a subscribed webhook with nothing else running."""
    await provision(settings)
    async with receiving() as receiver:
        receiver.secrets["in"] = await _subscribe(settings, f"{receiver.url}/in")
        async with serve(settings) as running, httpx.AsyncClient(base_url=running.http) as http:
            answer = await http.post("/api/v1/comments", json=comment_json(body="hooked"))
            assert answer.status_code == 201
            await receiver.until(lambda: bool(receiver.accepted("in")))
    (arrival,) = receiver.of("in")
    assert arrival.signed
    assert arrival.json["comment"]["html"] == "<p>hooked</p>"


async def test_worker_process_beside_a_server_without_workers(database_url: str) -> None:
    """`serve --no-workers` handles no events; `livethread worker webhooks` does, once started."""
    database = database_url
    settings = Settings(database=database, rate_limit=False)
    await provision(settings)
    async with receiving() as receiver:
        receiver.secrets["out"] = await _subscribe(settings, f"{receiver.url}/out")
        async with (
            serve_process("--database", database, "--no-workers") as server,
            httpx.AsyncClient(base_url=server.http, timeout=WAIT) as http,
        ):
            answer = await http.post("/api/v1/comments", json=comment_json(body="queued"))
            assert answer.status_code == 201
            health = (await http.get("/healthz")).json()
            assert "workers" not in health
            worker = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "server.cli",
                "worker",
                "webhooks",
                "--database",
                database,
                stdout=asyncio.subprocess.PIPE,
                env={
                    **os.environ,
                    "LIVETHREAD_WORKER_POLL_SECONDS": "0.2",
                    # The receiver listens on loopback.
                    "LIVETHREAD_ALLOW_PRIVATE_HOOKS": "1",
                },
            )
            try:
                # The worker catches up from its cursor: the post made before it started.
                await receiver.until(lambda: bool(receiver.accepted("out")))
            finally:
                worker.terminate()
                async with asyncio.timeout(WAIT):
                    assert await worker.wait() == 0
    (arrival,) = receiver.of("out")
    assert arrival.json["comment"]["html"] == "<p>queued</p>"


def test_unknown_worker_names_are_refused() -> None:
    """`livethread worker nosuch` exits at once, naming the workers there are."""
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "worker", "nosuch"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "unknown worker nosuch" in done.stderr
    assert "webhooks" in done.stderr
