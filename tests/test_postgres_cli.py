"""`livethread migrate` and `serve` on PostgreSQL: migrations once under a lock however many
processes start together, a newer schema refused, a bad database one line naming the setting."""

from __future__ import annotations

import asyncio
import sys

import asyncpg

from server.adapters.postgres_migrations import LATEST
from tests.support import command
from tests.support.postgres import PostgresServer
from tests.support.redis_server import free_port

WAIT = 60.0


async def _version(url: str) -> int:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        return int(await conn.fetchval("SELECT version FROM schema_version"))
    finally:
        await conn.close()


async def test_ten_migrations_at_once_migrate_once(postgres: PostgresServer) -> None:
    """Ten `livethread migrate` processes started together on a new database all succeed, and
    the schema is at the latest version, made once (the advisory lock)."""
    url = postgres.database()

    async def migrate() -> tuple[int, bytes]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server.cli", "migrate", "--database", url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        async with asyncio.timeout(WAIT):
            _, err = await process.communicate()
        assert process.returncode is not None
        return process.returncode, err

    results = await asyncio.gather(*(migrate() for _ in range(10)))
    assert [code for code, _ in results] == [0] * 10, [err for _, err in results]
    assert await _version(url) == LATEST


async def test_a_database_newer_than_the_code_is_refused(postgres: PostgresServer) -> None:
    """A schema version above what this livethread knows: `migrate` exits 2 with one line that
    says so, and the database is left as it was."""
    url = postgres.database()
    assert command.livethread("migrate", "--database", url).returncode == 0
    conn = await asyncpg.connect(url, timeout=10)
    try:
        await conn.execute("UPDATE schema_version SET version = $1", LATEST + 1)
    finally:
        await conn.close()
    refused = command.livethread("migrate", "--database", url)
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "newer" in lines[0], refused.stderr
    assert await _version(url) == LATEST + 1


def test_an_unreachable_database_is_one_line_naming_the_setting() -> None:
    """`migrate` and `serve` against a PostgreSQL that is not there exit 2 with one line naming
    --database / LIVETHREAD_DATABASE (and no password), not a traceback."""
    url = f"postgresql://livethread:s3cret@127.0.0.1:{free_port()}/livethread"
    for args in (("migrate",), ("serve", "--port", "0")):
        refused = command.livethread(*args, "--database", url)
        assert refused.returncode == 2, refused.stderr
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1, refused.stderr
        assert "LIVETHREAD_DATABASE" in lines[0] and "s3cret" not in lines[0]
        assert "Traceback" not in refused.stderr
