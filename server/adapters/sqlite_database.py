"""The SQLite store's connections: the `Database` port, and the reads and writes of every other.

sqlite3 blocks, so each connection has its own thread (sqlite_connection.py) and every call
that may wait hops there and back (the writer's statements inside a transaction it holds cannot,
and run on the event loop: sqlite_writer.py). Two connections:

- the writer, taken in turns by this process's writers (see sqlite_writer.py: transactions and
  single writes join a group committed together; migrations take it alone) and behind BEGIN
  IMMEDIATE against writers of other processes;
- a reader, for reads outside transactions. WAL lets it read the last committed state while a
  write transaction is open, so a snapshot or replay never waits behind a writer (which may
  itself be waiting up to busy_timeout for another process), and never sees a half-done
  transaction, as it would if it shared the writer's connection;
- a quick reader, for short reads (a row by its key, a bounded run of events: `read_now`) made
  on the event loop's thread with no hop, as a new reader's catch-up is. It is told never to
  wait (busy_timeout 0): in the rare moment a WAL reader would (another connection recovering
  the log, a checkpoint restarting it), the read goes to the reader's thread, which waits.

Each thread runs one job at a time in the order handed over, and a handed-over job always runs
even if its caller is cancelled (see sqlite_connection.py); so a ROLLBACK handed over after a
cancelled BEGIN still runs after it, and the next transaction finds the connection clean.

The ports' adapters (sqlite_sites.SqliteSites, ...) hold one SqliteDatabase and run their SQL
through `read`, `write` and `member`: this module decides which connection and thread each runs
on, the adapters only which rows.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Concatenate, ParamSpec, TypeVar

import msgspec

from server.adapters.sqlite_connection import SqliteConnection
from server.adapters.sqlite_migrations import migrate
from server.adapters.sqlite_writer import GroupWriter, Member
from server.storage import StoreError, StoreUnavailable

P = ParamSpec("P")
T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000
# PRAGMA synchronous reads back as a number: 2 is FULL (fsync the WAL on every commit).
SYNCHRONOUS_FULL = 2


# Less free space than this on the database's filesystem and /readyz says the disk is full: a
# post needs a few pages of WAL, a checkpoint more.
MIN_FREE_BYTES = 1 << 20


def _free_bytes(folder: str) -> int:
    found = os.statvfs(folder)
    return found.f_bavail * found.f_frsize


def _probe_lock(conn: sqlite3.Connection, timeout_ms: int, restore_ms: int) -> None:
    """Take the write lock and let it go (BEGIN IMMEDIATE, ROLLBACK), waiting at most
    `timeout_ms` for another process: what every write must get first."""
    conn.execute(f"PRAGMA busy_timeout = {timeout_ms:d}")
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    finally:
        conn.execute(f"PRAGMA busy_timeout = {restore_ms:d}")


def _never_wait(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA busy_timeout = 0")


class Durability(msgspec.Struct, frozen=True, kw_only=True):
    """The durability settings of a connection, as SQLite reports them."""

    journal_mode: str
    synchronous: int
    busy_timeout: int
    foreign_keys: bool


def _read_durability(conn: sqlite3.Connection) -> Durability:
    return Durability(
        journal_mode=str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower(),
        synchronous=int(conn.execute("PRAGMA synchronous").fetchone()[0]),
        busy_timeout=int(conn.execute("PRAGMA busy_timeout").fetchone()[0]),
        foreign_keys=bool(conn.execute("PRAGMA foreign_keys").fetchone()[0]),
    )


def _connect(
    path: str, *, query_only: bool, busy_timeout_ms: int, shared: bool = False
) -> sqlite3.Connection:
    """A connection with livethread's settings, checked: an acknowledged post must survive.
    `shared`: also used from the event loop's thread (sqlite_connection.SqliteConnection.here),
    one call at a time with its own thread's jobs."""
    # isolation_level=None: we issue BEGIN/COMMIT ourselves; the module's implicit
    # transactions would start them at surprising moments.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=not shared)
    try:
        # First, so that switching to WAL waits for other processes instead of failing.
        conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms:d}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        # Erased comments (an author's delete, `user delete`) must not linger in free pages.
        conn.execute("PRAGMA secure_delete = ON")
        if query_only:
            conn.execute("PRAGMA query_only = ON")
        found = _read_durability(conn)
        if found.journal_mode != "wal":
            raise StoreError(
                f"SQLite database {path!r} is in journal_mode {found.journal_mode!r}, not 'wal'; "
                "livethread needs WAL (an in-memory database or a filesystem without shared "
                "memory support cannot provide it)"
            )
        if found.synchronous != SYNCHRONOUS_FULL:
            raise StoreError(
                f"SQLite database {path!r} has synchronous={found.synchronous}, not FULL (2); "
                "acknowledged comments could be lost in a crash"
            )
        if not found.foreign_keys:
            raise StoreError(f"SQLite database {path!r} refused PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


class SqliteDatabase:
    """One SQLite file in WAL mode, safe to share between processes on one host: the
    connections every SQLite port adapter of one store shares."""

    def __init__(
        self, path: str, *, group_commit: int = 32, busy_timeout_ms: int = BUSY_TIMEOUT_MS
    ) -> None:
        """`group_commit`: the most transactions of this process committed together (1: each
        commits on its own). `busy_timeout_ms`: how long a write waits for another process's
        lock before it fails with StoreUnavailable."""
        self.path = path
        # Where the database's disk space is measured (/readyz).
        self._folder = os.path.dirname(os.path.abspath(path))
        self._busy_timeout_ms = busy_timeout_ms
        # Public for tests and diagnostics (its `commits` and `committed` counters).
        self.writes = GroupWriter(group_commit, busy_timeout_ms=busy_timeout_ms)
        # The writer connection alone, outside any transaction (an open group commits first).
        self._write_lock = self.writes.exclusive
        self._writer: SqliteConnection | None = None
        self._reader: SqliteConnection | None = None
        self._quick: SqliteConnection | None = None

    async def open(self) -> None:
        """Connect both threads, check durability settings, and migrate the schema."""
        if self._writer is not None:
            raise StoreError("the store is already open")
        writer = SqliteConnection("livethread-sqlite-writer")
        reader = SqliteConnection("livethread-sqlite-reader")
        quick = SqliteConnection("livethread-sqlite-quick")
        self._writer, self._reader, self._quick = writer, reader, quick
        busy = self._busy_timeout_ms
        try:
            await writer.connect(
                lambda: _connect(self.path, query_only=False, busy_timeout_ms=busy, shared=True)
            )
            await self.migrate()
            # After migrating, so the readers never cache a schema older than the writer's.
            await reader.connect(lambda: _connect(self.path, query_only=True, busy_timeout_ms=busy))
            await quick.connect(
                lambda: _connect(self.path, query_only=True, busy_timeout_ms=busy, shared=True)
            )
            await quick.call(_never_wait)
        except BaseException:
            await self.close()
            raise

    async def migrate(self) -> int:
        """Apply pending migrations (open() already does); returns the schema version."""
        async with self._write_lock:
            return await self._require(self._writer).call(migrate)

    async def durability(self) -> Durability:
        """The writer connection's settings, as SQLite reports them (for checks and tests)."""
        async with self._write_lock:
            return await self._require(self._writer).call(_read_durability)

    async def writable(self, lock_wait: float) -> None:
        """Raise StoreUnavailable unless a write could start now: the write lock is free within
        `lock_wait` and the database's disk has room. Writes nothing (a probe that committed would
        cost an fsync per readiness check)."""
        folder = self._folder
        free = await asyncio.to_thread(_free_bytes, folder)
        if free < MIN_FREE_BYTES:
            raise StoreUnavailable(f"SQLite: the disk is full ({free} bytes free in {folder})")
        try:
            # Room for this process's open group to commit first, and for SQLite's busy
            # handler, whose sleeps overshoot: a probe answers within about twice lock_wait.
            async with asyncio.timeout(2 * lock_wait + 0.5):
                async with self._write_lock:
                    await self._require(self._writer).call(
                        _probe_lock, int(lock_wait * 1000), self._busy_timeout_ms
                    )
        except TimeoutError:
            raise StoreUnavailable("SQLite: this process's writer is busy") from None

    async def close(self) -> None:
        writer, reader, quick = self._writer, self._reader, self._quick
        self._writer = self._reader = self._quick = None
        # The lock lets a transaction in progress finish before its connection goes away.
        async with self._write_lock:
            for db in (quick, reader, writer):
                if db is not None:
                    await db.close()

    def calls(self) -> dict[str, int]:
        """Calls so far, per connection: handed to its thread, and made on the event loop's
        (for tests and diagnostics)."""
        found: dict[str, int] = {}
        for name, db in (
            ("writer", self._writer),
            ("reader", self._reader),
            ("quick", self._quick),
        ):
            if db is not None:
                found[f"{name}.thread"] = db.handed_over
                found[f"{name}.here"] = db.ran_here
        return found

    @staticmethod
    def _require(db: SqliteConnection | None) -> SqliteConnection:
        if db is None:
            raise StoreError("the store is not open")
        return db

    async def read(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`fn(conn, ...)` on the reader: the last committed state, never waiting for a writer."""
        return await self._require(self._reader).call(fn, *args, **kwargs)

    async def read_now(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`read`, for a short read (a row by its key, a bounded run of events), made on the
        event loop's thread unless SQLite would have to wait (see the module's docstring)."""
        try:
            return await self._require(self._quick).here(fn, *args, **kwargs)
        except StoreUnavailable:
            return await self.read(fn, *args, **kwargs)

    async def write(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """One write outside a use-case transaction, committed with the group it joins; returns
        once that COMMIT is durable."""
        async with self.writes.member(self._require(self._writer), single=True) as member:
            return await member.call(fn, *args, **kwargs)

    def member(self) -> AbstractAsyncContextManager[Member]:
        """A use-case transaction's turn on the writer, inside the group it joins: exits only once
        the COMMIT holding it is durable, rolls its own work back if the block raises
        (sqlite_writer.py)."""
        return self.writes.member(self._require(self._writer))
