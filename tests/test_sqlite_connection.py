"""The SQLite connection's thread: jobs in order, each run even if its caller gives up."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator

import pytest

from server.adapters.sqlite_connection import SqliteConnection
from server.storage import StoreError
from tests.support.waiting import eventually

WAIT = 10.0


@contextlib.asynccontextmanager
async def connected(name: str, *, shared: bool) -> AsyncIterator[SqliteConnection]:
    """An in-memory connection on its thread (`shared`: the event loop's thread may use it too)."""
    opened = SqliteConnection(name)
    await opened.connect(lambda: sqlite3.connect(":memory:", check_same_thread=not shared))
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def db() -> AsyncIterator[SqliteConnection]:
    async with connected("test-sqlite", shared=False) as opened:
        yield opened


async def test_jobs_run_on_one_thread_in_the_order_handed_over(db: SqliteConnection) -> None:
    """Fifty concurrent calls run one at a time, in order, all on the connection's thread."""
    seen: list[tuple[int, str]] = []

    def job(conn: sqlite3.Connection, n: int) -> int:
        seen.append((n, threading.current_thread().name))
        return int(conn.execute("SELECT ?", (n,)).fetchone()[0])

    async with asyncio.timeout(WAIT):
        results = await asyncio.gather(*(db.call(job, n) for n in range(50)))
    assert results == list(range(50))
    assert [n for n, _ in seen] == list(range(50))
    assert {name for _, name in seen} == {"test-sqlite"}


async def test_a_cancelled_callers_job_still_runs_before_the_next(db: SqliteConnection) -> None:
    """Cancelling a caller whose job waits does not drop the job: the ROLLBACK after it runs
    after it, on a clean connection."""
    gate = threading.Event()
    order: list[str] = []

    def blocked(conn: sqlite3.Connection) -> None:
        gate.wait(WAIT)
        order.append("first")

    def begin(conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN")
        order.append("begin")

    def rollback(conn: sqlite3.Connection) -> bool:
        conn.execute("ROLLBACK")
        order.append("rollback")
        return conn.in_transaction

    before = db.handed_over
    first = asyncio.create_task(db.call(blocked))
    cancelled = asyncio.create_task(db.call(begin))
    await eventually(lambda: db.handed_over == before + 2)  # both jobs are with the thread
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert order == []  # the first job still holds the thread: "begin" is queued, not run
    gate.set()
    async with asyncio.timeout(WAIT):
        await first
        assert await db.call(rollback) is False
    assert order == ["first", "begin", "rollback"]


async def test_errors_reach_the_caller_sqlite_ones_as_store_errors(db: SqliteConnection) -> None:
    """A SQLite error becomes StoreError; any other exception reaches the caller as it is."""

    def bad_sql(conn: sqlite3.Connection) -> None:
        conn.execute("SELEC 1")

    def bad_code(conn: sqlite3.Connection) -> None:
        raise KeyError("mine")

    with pytest.raises(StoreError, match="SQLite"):
        await db.call(bad_sql)
    with pytest.raises(KeyError, match="mine"):
        await db.call(bad_code)
    assert await db.call(lambda conn: conn.execute("SELECT 1").fetchone()[0]) == 1


async def test_after_close_calls_are_refused_and_the_thread_is_gone() -> None:
    """close() closes the connection on its thread, ends the thread, and refuses later calls."""
    db = SqliteConnection("test-closing")
    await db.connect(lambda: sqlite3.connect(":memory:"))
    await db.close()
    assert "test-closing" not in {t.name for t in threading.enumerate()}
    with pytest.raises(StoreError, match="closed"):
        await db.call(lambda conn: None)
    await db.close()  # twice is harmless


@pytest.fixture
async def shared() -> AsyncIterator[SqliteConnection]:
    async with connected("test-shared", shared=True) as opened:
        yield opened


async def test_here_runs_on_the_callers_thread_when_the_thread_is_idle(
    shared: SqliteConnection,
) -> None:
    """With no job in hand, `here` runs on the event loop's thread and hands nothing over;
    its SQLite errors become StoreError as `call`'s do."""
    before = shared.handed_over

    def where(conn: sqlite3.Connection) -> str:
        conn.execute("SELECT 1")
        return threading.current_thread().name

    assert await shared.here(where) == threading.current_thread().name
    assert shared.handed_over == before
    with pytest.raises(StoreError, match="SQLite"):
        await shared.here(lambda conn: conn.execute("SELEC 1"))


async def test_here_waits_behind_a_job_the_thread_has_not_finished(
    shared: SqliteConnection,
) -> None:
    """While a handed-over job runs, `here` hands its call over too, so it runs after it, on
    the connection's thread: the order of calls is kept."""
    gate = threading.Event()
    order: list[tuple[str, str]] = []

    def blocked(conn: sqlite3.Connection) -> None:
        gate.wait(WAIT)
        order.append(("first", threading.current_thread().name))

    def second(conn: sqlite3.Connection) -> None:
        order.append(("second", threading.current_thread().name))

    first = asyncio.create_task(shared.call(blocked))
    await eventually(lambda: shared.handed_over - shared.finished == 1)  # it is with the thread
    after = asyncio.create_task(shared.here(second))
    await eventually(lambda: shared.handed_over - shared.finished == 2)  # queued behind it
    assert order == []
    gate.set()
    async with asyncio.timeout(WAIT):
        await first
        await after
    assert order == [("first", "test-shared"), ("second", "test-shared")]
