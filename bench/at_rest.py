"""A `livethread serve` process at rest: its memory and modules before its first reader.

`python -m bench.at_rest` starts the server on SQLite in a temporary folder, once alone and once
on a private Redis bus (as bench/fanout.py's `Servers` does), waits for its first answer to
`/api/v1/threads?site=news&thread=ready` and 2 s of idle, and prints one markdown row per case:
resident memory (anonymous: heap and Python objects; file-backed: mapped code and libraries)
and how many modules it imported (counted from its `-X importtime` lines). Issue 19 asks for at
most 45 MB.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.fanout import ROOT, Servers
from tests.support.redis_server import free_port

IDLE = 2.0  # seconds at rest after the first answer, for startup's garbage to settle
# Every import the process makes is one line on its stderr (the log file) with this prefix.
IMPORTTIME = {"PYTHONPROFILEIMPORTTIME": "1"}


def status_mib(pid: int) -> dict[str, float]:
    """VmRSS, RssAnon and RssFile of a process, in MiB (from /proc/PID/status)."""
    wanted = ("VmRSS", "RssAnon", "RssFile")
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in wanted:
            fields[name] = int(value.split()[0]) / 1024
    return fields


def imported(log: Path) -> int:
    lines = log.read_text(errors="replace").splitlines()
    return sum(1 for line in lines if line.startswith("import time:") and "[us]" not in line)


async def serve_alone(servers: Servers) -> None:
    """`Servers.start` without its Redis bus: one `livethread serve` on SQLite, no --redis."""
    from server.settings import Settings
    from tests.support.clients import provision

    database = f"sqlite:///{servers.workdir / 'bench.db'}"
    await provision(Settings(database=database))  # the site "news", as Servers.start does
    port = free_port()
    servers.ports, log = [port], servers.workdir / "alone.log"
    servers.logs.append(log)
    env = {**os.environ, "LIVETHREAD_RATE_LIMIT": "0", **servers.env}
    command = [sys.executable, "-m", "server.cli", "serve", "--database", database]
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *command, "--port", str(port), cwd=ROOT, env=env,
            stdin=subprocess.DEVNULL, stdout=out, stderr=out,
        )  # fmt: skip
    servers.procs.append(proc)
    await servers._wait_ready(proc, port, log)


async def measure(redis: bool) -> tuple[dict[str, float], int]:
    with tempfile.TemporaryDirectory(prefix="livethread-at-rest-") as workdir:
        servers = Servers("livethread", Path(workdir), env=IMPORTTIME)
        try:
            # Both start like the bench; `Servers.start` waits for each one's first answer.
            await (servers.start() if redis else serve_alone(servers))
            await asyncio.sleep(IDLE)  # at rest on purpose: nothing to poll for
            # With Redis, `Servers` runs two server processes; both are alike, the first is shown.
            return status_mib(servers.pids[0]), imported(servers.logs[0])
        finally:
            await servers.stop()


async def main() -> None:
    print("| process at rest | RSS (MB) | anonymous | file-backed | modules |")
    print("|---|---:|---:|---:|---:|")
    for label, redis in (("SQLite, no Redis", False), ("SQLite + Redis bus", True)):
        mib, modules = await measure(redis)
        print(
            f"| {label} | {mib['VmRSS']:.1f} | {mib['RssAnon']:.1f} | {mib['RssFile']:.1f} "
            f"| {modules} |"
        )


if __name__ == "__main__":
    asyncio.run(main())
