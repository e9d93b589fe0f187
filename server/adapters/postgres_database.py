"""The PostgreSQL store's connection: an asyncpg pool, the migrations, readiness, and how
PostgreSQL's failures become the ports' errors.

Every port of the PostgreSQL store (postgres_*.py) reaches the database through this class:
`fetch`, `fetchrow`, `fetchval` and `execute` each borrow a pooled connection for one statement;
`transaction()` holds one for a whole transaction. A statement that outlives the statement
timeout, a pool with no connection free within it, or a database that is down or read-only (a
standby, mid-failover) is `StoreUnavailable` (the edge answers 503 with Retry-After); a
constraint the request broke is `StoreError`. asyncpg was chosen over psycopg 3 by
bench/pg_drivers.py (figures in bench/RESULTS.md).

The URL may list several hosts (`postgresql://USER@H1:P1,H2:P2/NAME`, libpq's form): each new
connection tries them in order and keeps the first that takes writes. livethread always writes,
so its sessions are `target_session_attrs=read-write` unless the URL asks for `primary`; a value
that would accept a standby is refused at open. After a failover the pool's dead connections
fail their statement (StoreUnavailable) and are replaced, on the promoted host, by the next
borrower: no connection to a read-only server is ever pooled.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import asyncpg
from asyncpg.connect_utils import SessionAttribute

from server.adapters.postgres_migrations import Connection, migrate
from server.storage import StoreError, StoreUnavailable

# A connection borrowed from the pool.
# Failures that are the database's state, not the request's: worth retrying later.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.QueryCanceledError,  # statement_timeout
    asyncpg.exceptions.ReadOnlySQLTransactionError,  # a standby, or mid-failover
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.DiskFullError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.InterfaceError,
    # A pooled connection whose server just died: its FATAL message arrived before the end
    # of the stream, so it is handed out looking open and its next statement finds the
    # driver still consuming that error ("another operation is in progress"). It is dropped
    # on release; the next borrower connects afresh (after a failover, to the new primary).
    asyncpg.exceptions.InternalClientError,
    ConnectionError,
    OSError,
    TimeoutError,
)


# What a store that writes may ask of a host (libpq's target_session_attrs).
_WRITABLE = ("read-write", "primary")


@contextmanager
def store_errors() -> Iterator[None]:
    """PostgreSQL's failures as the ports' errors (see the module's docstring)."""
    try:
        yield
    except StoreError:
        raise
    except asyncpg.exceptions.TargetServerAttributeNotMatched as exc:
        # Every listed host answered, none as a primary: standbys only, or mid-promotion.
        raise StoreUnavailable(
            "PostgreSQL: no listed host takes writes (only standbys: mid-failover, or the URL "
            "does not name the primary)"
        ) from exc
    except _UNAVAILABLE as exc:
        raise StoreUnavailable(f"PostgreSQL: {_describe(exc)}") from exc
    except asyncpg.exceptions.IntegrityConstraintViolationError as exc:
        raise StoreError(f"PostgreSQL refused the change: {_describe(exc)}") from exc
    except asyncpg.exceptions.PostgresError as exc:
        raise StoreError(f"PostgreSQL: {_describe(exc)}") from exc


def dead_peer_settings(timeout: float) -> dict[str, str]:
    """Session settings with which PostgreSQL drops, within about `timeout`, the session of a
    host that fell off the network (partitioned, powered off) while it held a thread's lock.

    Such a host never ends its transaction, and an idle session sends nothing, so PostgreSQL
    would notice only at `idle_in_transaction_session_timeout`, every post to the thread
    failing on every other host until then. Keepalive probes from `timeout / 2` of silence, one
    a second, two unanswered: the peer is gone; `tcp_user_timeout` does the same for data the
    host never acknowledged. (TCP only: a Unix socket's peer is on this machine.)
    """
    idle = max(1, round(timeout / 2))
    return {
        "tcp_keepalives_idle": str(idle),
        "tcp_keepalives_interval": "1",
        "tcp_keepalives_count": "2",
        "tcp_user_timeout": str(round(timeout * 1000)),
    }


async def keep_session(conn: asyncpg.Connection) -> None:
    """What the pool does to a connection given back, after asyncpg has rolled back any
    transaction left open on it: nothing more.

    asyncpg's default would send its reset query (unlock every advisory lock, CLOSE ALL,
    UNLISTEN *, RESET ALL) on every release, a round trip per borrow, so per statement of the
    reads and one more per post. livethread's borrowers leave no session state behind: they
    take transaction-scoped locks only, never LISTEN, DECLARE outside a transaction or SET; the
    migrations, which do, reset their connection themselves (`PostgresDatabase.migrate`).
    """


def _describe(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _session_attributes(url: str) -> SessionAttribute | None:
    """The `target_session_attrs` to ask asyncpg for: `read-write` when the URL names none (None:
    the URL's own, a writable one). StoreError for a value that would accept a standby."""
    try:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    except ValueError as exc:
        raise StoreError(f"the PostgreSQL URL's query cannot be read: {exc}") from None
    named = query.get("target_session_attrs")
    if named is None:
        return SessionAttribute.read_write
    if named[-1] not in _WRITABLE:
        raise StoreError(
            f"target_session_attrs={named[-1]} in the PostgreSQL URL would accept a standby, "
            "and livethread writes: use read-write (or primary), or leave it out"
        )
    return None


class PostgresDatabase:
    """The `Database` port on PostgreSQL, and the pool the other ports share."""

    def __init__(self, url: str, *, pool_size: int = 10, statement_timeout: float = 5.0) -> None:
        """`pool_size`: connections per process. `statement_timeout`: the longest a statement
        (or waiting for a pooled connection) may take before it fails as StoreUnavailable."""
        self.url = url
        self._pool_size = pool_size
        self._timeout = statement_timeout
        self._pool: asyncpg.Pool | None = None

    @property
    def timeout(self) -> float:
        return self._timeout

    async def open(self) -> None:
        """Create the pool and apply pending migrations (under the advisory lock)."""
        if self._pool is not None:
            raise StoreError("the store is already open")
        attributes = _session_attributes(self.url)
        with store_errors():
            self._pool = await asyncpg.create_pool(
                self.url,
                # Every connection the pool makes, first or replacing a dead one, is to a host
                # that takes writes: after a promotion, the new primary.
                target_session_attrs=attributes,
                min_size=1,
                max_size=self._pool_size,
                command_timeout=self._timeout + 1.0,
                reset=keep_session,
                timeout=self._timeout,
                server_settings={
                    "statement_timeout": str(round(self._timeout * 1000)),
                    # A session left idle inside a transaction must not hold a thread's lock.
                    "idle_in_transaction_session_timeout": str(round(self._timeout * 4000)),
                    **dead_peer_settings(self._timeout),
                    "application_name": "livethread",
                },
            )
        try:
            await self.migrate()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), self._timeout)
            except (TimeoutError, OSError, asyncpg.exceptions.InterfaceError):
                pool.terminate()

    async def migrate(self) -> int:
        """Apply pending migrations; returns the schema version now in force."""
        async with self.connection() as conn:
            # Migrations may take longer than a request's statement timeout.
            await conn.execute("SET statement_timeout = 0")
            try:
                return await migrate(conn)
            finally:
                # The one borrower that changes its session (a setting, a session-level
                # advisory lock): it puts the session back itself (see keep_session).
                await conn.reset()

    async def writable(self, lock_wait: float) -> None:
        """Return if a write could start now: the pool hands out a connection to the primary
        within `lock_wait` (a standby is read-only: StoreUnavailable)."""
        try:
            async with asyncio.timeout(lock_wait + 0.5):
                async with self.connection() as conn:
                    with store_errors():
                        read_only = await conn.fetchval("SHOW transaction_read_only")
        except TimeoutError:
            raise StoreUnavailable("PostgreSQL did not answer in time") from None
        if read_only == "on":
            raise StoreUnavailable("PostgreSQL is read-only here (a standby?)")

    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreError("the store is not open")
        return self._pool

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """One pooled connection (no transaction), failures mapped."""
        with store_errors():
            async with self.pool().acquire(timeout=self._timeout) as conn:
                yield conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """One pooled connection inside a transaction: committed on a clean exit (returning
        once the commit is durable), rolled back if the block raises."""
        with store_errors():
            async with self.pool().acquire(timeout=self._timeout) as conn, conn.transaction():
                yield conn

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self.connection() as conn:
            with store_errors():
                return await conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        async with self.connection() as conn:
            with store_errors():
                return await conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self.connection() as conn:
            with store_errors():
                return await conn.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        """One statement in its own transaction; returns PostgreSQL's status ("UPDATE 1")."""
        async with self.connection() as conn:
            with store_errors():
                return await conn.execute(sql, *args)

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        async with self.transaction() as conn:
            with store_errors():
                await conn.executemany(sql, args)


def affected(status: str) -> int:
    """The row count in a status like "UPDATE 3" or "INSERT 0 1"."""
    try:
        return int(status.rsplit(" ", 1)[-1])
    except ValueError:
        return 0
