"""One SQLite connection and the thread that runs its blocking work.

sqlite3 blocks, so the event loop hands each call that may wait (on a lock, on an fsync, on a
large read) to the connection's thread and awaits an asyncio future the thread resolves. Not a
ThreadPoolExecutor: its concurrent future (with a lock and a condition each), the chaining onto
an asyncio future and the shield cost well over the CPU per call of a queue and one
`call_soon_threadsafe` (figure in bench/RESULTS.md).

Jobs run one at a time in the order they were handed over, and a job always runs even if its
caller is cancelled meanwhile: a ROLLBACK handed over after a cancelled BEGIN still runs after
it, and the next transaction finds the connection clean.

A call that cannot wait (`here`: statements inside a write transaction this connection already
holds, which no other connection can block; a read SQLite is told not to wait for) runs on the
caller's thread instead, so a post's statements and a new reader's catch-up cost no hop each:
the hop there and back costs more CPU than such a statement (bench/POST_PATH.md). It still
keeps the order: while a handed-over job is unfinished, `here` hands its call over too, behind
it.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from server.storage import StoreError, StoreUnavailable

P = ParamSpec("P")
T = TypeVar("T")

_Job = tuple[Callable[[], Any], "asyncio.Future[Any]", asyncio.AbstractEventLoop]

# Primary result codes that say "not now" rather than "not this": another writer held the file
# past the busy timeout, the disk is full, the disk failed. The request was fine; a retry later
# may succeed, so the edge answers 503 with Retry-After, not 500.
_UNAVAILABLE_CODES = frozenset(
    {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR}
)
_UNAVAILABLE_TEXT = ("database is locked", "database table is locked", "disk is full", "i/o error")


def store_error(exc: sqlite3.Error) -> StoreError:
    """The StoreError an sqlite3 error becomes: StoreUnavailable for the transient kinds."""
    code = getattr(exc, "sqlite_errorcode", None)
    transient = (code is not None and code & 0xFF in _UNAVAILABLE_CODES) or any(
        text in str(exc).lower() for text in _UNAVAILABLE_TEXT
    )
    return (StoreUnavailable if transient else StoreError)(f"SQLite: {exc}")


class SqliteConnection:
    def __init__(self, name: str) -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        # Read and written only on the thread.
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self.handed_over = 0  # jobs handed to the thread so far
        self.finished = 0  # of which the thread has finished (written only on the thread)
        self.ran_here = 0  # calls run on the caller's thread (`here`)

    async def call(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run `fn(connection, ...)` on the thread; sqlite3 errors become StoreError."""
        if self._closed:
            raise StoreError("the store is closed")

        def job() -> T:
            if self._conn is None:
                raise StoreError("the store is not open")
            try:
                return fn(self._conn, *args, **kwargs)
            except sqlite3.Error as exc:
                raise store_error(exc) from exc

        return await self._run(job)

    async def here(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run `fn(connection, ...)` on the calling (event loop's) thread, unless a handed-over
        job is unfinished: then on the connection's thread, after it. For statements that cannot
        wait on another connection; the connection must allow other threads
        (check_same_thread=False). sqlite3 errors become StoreError."""
        if self._closed:
            raise StoreError("the store is closed")
        conn = self._conn
        if conn is None or self.finished != self.handed_over:
            return await self.call(fn, *args, **kwargs)
        self.ran_here += 1
        try:
            return fn(conn, *args, **kwargs)
        except sqlite3.Error as exc:
            raise store_error(exc) from exc

    async def connect(self, factory: Callable[[], sqlite3.Connection]) -> None:
        def job() -> None:
            self._conn = factory()

        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name=self._name, daemon=True)
            self._thread.start()
        await self._run(job)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        def job() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        if self._thread is None:
            return
        try:
            await self._run(job)
        finally:
            self._jobs.put(None)
            # The close job was the last one, so this does not wait on real work.
            self._thread.join()

    async def _run(self, job: Callable[[], T]) -> T:
        if self._thread is None:
            raise StoreError("the store is not open")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()
        self._jobs.put((job, done, loop))
        self.handed_over += 1
        # A caller cancelled here cancels only its wait: the job was handed over and runs.
        return await done

    def _work(self) -> None:
        while (item := self._jobs.get()) is not None:
            job, done, loop = item
            try:
                result = job()
            except BaseException as exc:  # handed to the caller, as the executor did
                self.finished += 1
                _hand(loop, done, None, exc)
            else:
                self.finished += 1
                _hand(loop, done, result, None)


def _hand(
    loop: asyncio.AbstractEventLoop,
    done: asyncio.Future[Any],
    result: object,
    error: BaseException | None,
) -> None:
    # RuntimeError: the loop has closed, so nobody is waiting any more.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(_settle, done, result, error)


def _settle(done: asyncio.Future[Any], result: object, error: BaseException | None) -> None:
    if done.cancelled():
        return  # its caller was cancelled; the job ran all the same
    if error is None:
        done.set_result(result)
    else:
        done.set_exception(error)
