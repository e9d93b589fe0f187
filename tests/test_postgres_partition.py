"""A host that falls off the network while it holds a thread (issue 15): PostgreSQL drops its
session within about the statement timeout, so the other hosts' posts to that thread go through
again, rather than failing until `idle_in_transaction_session_timeout` (four times as long).

The holder runs on a network host of its own (a namespace, tests/support/netns.py), opens a
thread's transaction through the store and keeps it open; the test then cuts the host's link, as
a switch failure would, and times how long the thread stays held from the root namespace. Only
the store's own session settings (`dead_peer_settings`) make PostgreSQL notice the silent peer.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from server.adapters.postgres_database import PostgresDatabase, dead_peer_settings
from server.adapters.postgres_threads import PostgresThreads
from server.model import ThreadKey
from server.storage import StoreUnavailable
from tests.support import netns
from tests.support.postgres import PostgresServer
from tests.support.server import LOOPBACK

WAIT = 30.0
TIMEOUT = 2.0  # the store's statement timeout, on both sides
KEY = ThreadKey("news", "partitioned")
ROOT = Path(__file__).resolve().parent.parent

# Runs on the cut host: holds the thread in an open transaction until killed.
HOLDER = f"""
import asyncio, sys
from server.adapters.postgres_database import PostgresDatabase
from server.adapters.postgres_threads import PostgresThreads
from server.model import ThreadKey

async def main() -> None:
    db = PostgresDatabase(sys.argv[1], statement_timeout={TIMEOUT})
    await db.open()
    async with PostgresThreads(db).transaction(ThreadKey({KEY.site!r}, {KEY.thread!r})) as tx:
        await tx.state()
        print("holding", flush=True)
        await asyncio.sleep(3600)  # the host's work in progress: it never ends by itself

asyncio.run(main())
"""


@pytest.fixture
def network() -> Iterator[netns.Network]:
    reason = netns.unusable()
    if reason is not None:
        # CI runs as root, where namespaces work: there a missing privilege is a failure.
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the partition test: {reason}")
        pytest.skip(f"a partition needs network namespaces: {reason}")
    with netns.hosts(1) as net:
        yield net


async def test_a_cut_off_holder_frees_its_thread_within_the_statement_timeout(
    network: netns.Network,
) -> None:
    """A thread held by a host whose link is then cut can be written from another host within
    about the statement timeout of the cut (idle_in_transaction alone would take 4x it)."""
    listen = {"listen_addresses": f"{LOOPBACK},{network.gateway}"}
    with PostgresServer(settings=listen) as server:
        with (server.data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {network.subnet} trust\n")
        conn = await asyncpg.connect(server.url, timeout=WAIT)
        try:
            assert await conn.fetchval("SELECT pg_reload_conf()", timeout=WAIT)
        finally:
            await conn.close(timeout=WAIT)
        here = PostgresDatabase(server.url, statement_timeout=TIMEOUT)
        await here.open()
        try:
            remote_url = server.url.replace(f"@{LOOPBACK}:", f"@{network.gateway}:", 1)
            holder = await asyncio.create_subprocess_exec(
                *network.hosts[0].prefix,
                sys.executable,
                "-c",
                HOLDER,
                remote_url,
                cwd=ROOT,
                stdout=asyncio.subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            try:
                assert holder.stdout is not None
                line = await asyncio.wait_for(holder.stdout.readline(), WAIT)
                assert line == b"holding\n"
                threads = PostgresThreads(here)
                with pytest.raises(StoreUnavailable):  # held: a writer here times out
                    async with threads.transaction(KEY) as tx:
                        await tx.state()

                network.hosts[0].cut()
                cut = time.monotonic()
                freed = await written_after(threads)
                held_for = freed - cut
            finally:
                holder.kill()
                await asyncio.wait_for(holder.wait(), WAIT)
        finally:
            await here.close()
    # Keepalives: silent for TIMEOUT / 2, then two probes a second apart (dead_peer_settings).
    assert dead_peer_settings(TIMEOUT)["tcp_keepalives_idle"] == "1"
    assert held_for < 2.5 * TIMEOUT < 4 * TIMEOUT, f"the thread stayed held {held_for:.1f} s"
    print(f"thread held {held_for:.2f} s after the cut (statement timeout {TIMEOUT} s)")


async def written_after(threads: PostgresThreads) -> float:
    """When a transaction on the thread first commits from here; each try fails as
    StoreUnavailable within the statement timeout while the thread is still held."""
    async with asyncio.timeout(WAIT):
        while True:
            try:
                async with threads.transaction(KEY) as tx:
                    await tx.state()
            except StoreUnavailable:
                continue
            return time.monotonic()
