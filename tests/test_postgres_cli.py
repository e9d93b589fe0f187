"""`livethread migrate` and `serve` on PostgreSQL: migrations once under a lock however many
processes start together, a newer schema refused, a bad database one line naming the setting."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator

import asyncpg
import pytest

from server.adapters.postgres_database import PostgresDatabase
from server.adapters.postgres_migrations import LATEST
from server.storage import StoreError
from tests.support import command
from tests.support.postgres import DATABASE, PostgresServer
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


def test_a_password_in_the_query_is_redacted_too() -> None:
    """A password given as libpq's `password=` query parameter never reaches the one-line
    error, whichever parameter it is among several."""
    port = free_port()
    for url in (
        f"postgresql://livethread@127.0.0.1:{port}/livethread?password=s3cret",
        f"postgresql://127.0.0.1:{port}/livethread?sslmode=disable&PASSWORD=s3cret&x=1",
    ):
        refused = command.livethread("migrate", "--database", url)
        assert refused.returncode == 2, refused.stderr
        assert "s3cret" not in refused.stderr and "LIVETHREAD_DATABASE" in refused.stderr


@pytest.fixture
def standby() -> Iterator[PostgresServer]:
    """A streaming standby of a primary of this test's own (asynchronous: nothing writes)."""
    with (
        PostgresServer() as primary,
        PostgresServer.standby_of(primary, synchronous=False) as running,
    ):
        yield running


def test_a_url_naming_only_a_standby_is_refused_in_one_line(standby: PostgresServer) -> None:
    """`migrate` and `serve` given a URL that lists only a standby (as is, or asking for
    read-write) exit 2 with one line naming the setting and saying no host takes writes, with
    no password and no traceback: livethread never runs on a server it cannot write to."""
    where = f"livethread:s3cret@127.0.0.1:{standby.port}/{DATABASE}"
    for url in (f"postgresql://{where}", f"postgresql://{where}?target_session_attrs=read-write"):
        for args in (("migrate",), ("serve", "--port", "0")):
            refused = command.livethread(*args, "--database", url)
            assert refused.returncode == 2, refused.stderr
            lines = refused.stderr.strip().splitlines()
            assert len(lines) == 1, refused.stderr
            assert "LIVETHREAD_DATABASE" in lines[0] and "takes writes" in lines[0], lines[0]
            assert "s3cret" not in refused.stderr and "Traceback" not in refused.stderr


async def test_a_url_accepting_a_standby_is_refused_and_primary_is_accepted(
    postgres: PostgresServer,
) -> None:
    """A URL whose target_session_attrs would let a standby in (any, read-only, standby,
    prefer-standby) is refused at open, before connecting, saying why (`migrate`: exit 2, one
    line); `primary` is accepted."""
    url = postgres.database()
    for wanted in ("any", "read-only", "standby", "prefer-standby"):
        store = PostgresDatabase(f"{url}?target_session_attrs={wanted}")
        with pytest.raises(StoreError, match=f"target_session_attrs={wanted} .* a standby"):
            await store.open()
    refused = command.livethread("migrate", "--database", f"{url}?target_session_attrs=any")
    assert refused.returncode == 2, refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "target_session_attrs=any" in lines[0], refused.stderr
    accepted = command.livethread("migrate", "--database", f"{url}?target_session_attrs=primary")
    assert accepted.returncode == 0, accepted.stderr
    assert await _version(url) == LATEST
