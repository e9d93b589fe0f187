"""The PostgreSQL store's pooled sessions: a connection given back costs no reset round trip,
and none comes back from the pool carrying state a borrower left (postgres_database.py,
`keep_session`)."""

from __future__ import annotations

import asyncpg

from server.adapters.postgres_database import PostgresDatabase
from tests.support.clients import WAIT
from tests.support.postgres import PostgresServer


async def last_query(url: str, pid: int) -> str:
    """What the session `pid` last ran, as PostgreSQL saw it (from another connection)."""
    watcher = await asyncpg.connect(url, timeout=WAIT)
    try:
        query: str = await watcher.fetchval(
            "SELECT query FROM pg_stat_activity WHERE pid = $1", pid, timeout=WAIT
        )
        return query
    finally:
        await watcher.close(timeout=WAIT)


async def test_a_returned_connection_gets_no_reset_query(postgres: PostgresServer) -> None:
    """After a read, the pooled session's last statement is the read itself: asyncpg's reset
    query (RESET ALL, UNLISTEN, unlock every advisory lock...) is not sent on each release."""
    url = postgres.database()
    db = PostgresDatabase(url, pool_size=1)
    await db.open()
    try:
        pid = await db.fetchval("SELECT pg_backend_pid()")
        assert await last_query(url, pid) == "SELECT pg_backend_pid()"
    finally:
        await db.close()


async def test_the_migrations_leave_no_setting_or_lock_on_the_pooled_session(
    postgres: PostgresServer,
) -> None:
    """The one borrower that changes its session, the migrations (a session advisory lock, no
    statement timeout), hands it back as new: the next borrower has the store's statement
    timeout and holds no advisory lock."""
    url = postgres.database()
    db = PostgresDatabase(url, pool_size=1, statement_timeout=3.0)
    await db.open()  # migrates on the pool's one connection
    try:
        await db.migrate()  # and again, with nothing to do
        row = await db.fetchrow(
            "SELECT current_setting('statement_timeout') AS timeout, "
            "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            "AND pid = pg_backend_pid()) AS locks"
        )
        assert row is not None
        assert (row["timeout"], row["locks"]) == ("3s", 0)
    finally:
        await db.close()
