"""Group commit: the use-case transactions of one process share one SQLite transaction.

A durable commit costs an fsync (synchronous=FULL), and SQLite lets one writer at a time hold the
file, so committing every post on its own caps posts/s at the disk's fsync rate. Here the
writer's turn passes from one use-case transaction (a member) to the next while the first's work
is still uncommitted: each member runs inside a SAVEPOINT of one BEGIN IMMEDIATE, and the group
commits once, when nobody is waiting to join or `cap` members have joined.

- A member that fails (raises, or is cancelled) rolls back to its savepoint; the others keep
  their work. If SQLite itself ended the transaction (an I/O error, say), the group cannot commit
  and every member fails.
- A member's `async with` exits only after the COMMIT holding its work succeeded; if the COMMIT
  fails, every member gets the error, so nothing uncommitted is ever acknowledged.
- Members run one at a time, in turn order, on one connection; the store-wide event `position`
  is assigned in that order and the group becomes visible at once, so positions still become
  visible in commit order.
- A member's statements run on the event loop's thread (the connection's `here`), the group's
  BEGIN IMMEDIATE and the member's SAVEPOINT with its first: none of them can wait, since BEGIN
  is tried without the busy handler and, once it holds the write lock, no other connection can
  block this one's statements. Only the COMMIT, which waits on the disk's fsync, goes to the
  writer's thread, once per group. A hop there and back costs more CPU than a post's statements.
- While another process holds the write lock, BEGIN is retried from the event loop every
  0.5-2 ms instead of sleeping in SQLite's busy handler: the other process's groups commit
  back to back, and the handler's growing sleeps (up to 100 ms) made this one miss its turn
  again and again, losing posts/s and p99 (bench/posting.py; figures in bench/RESULTS.md).
- Writes that cannot run inside a transaction (migrations, closing) take an exclusive turn:
  the open group commits first, then they have the connection to themselves.

`_Open` is the connection's side of this bookkeeping and is touched only by the holder of the
writer's turn, one statement or job at a time in order (on the event loop's thread or the
writer's); the turn queue is touched only by the event loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from server.storage import StoreError, StoreUnavailable

P = ParamSpec("P")
T = TypeVar("T")

# One name for every member's savepoint: members never overlap, and ROLLBACK TO / RELEASE act on
# the newest savepoint of that name.
SAVEPOINT = "livethread_member"
# Waiting for another process's write lock: retried from the event loop at these intervals (s)
# rather than in SQLite's busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25… ms on the writer's
# thread and so often sleeps well past the moment the other process commits.
BUSY_RETRY_FIRST = 0.0005
BUSY_RETRY_MAX = 0.002


class _Busy(Exception):
    """Another process holds the database's write lock (not a sqlite3.Error: it is retried)."""


class Runner(Protocol):
    """The writer connection (sqlite_connection.SqliteConnection): `call` runs `fn(conn, ...)`
    on its thread, `here` on the caller's unless a job handed to the thread is unfinished."""

    def call(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Awaitable[T]: ...

    def here(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Awaitable[T]: ...


class _Open:
    """What the writer connection has open. Only the holder of the writer's turn touches it."""

    def __init__(self) -> None:
        self.began = False  # the current group's BEGIN IMMEDIATE ran
        self.savepoint = False  # the newest member's savepoint is still open


class _Group:
    """The members sharing one SQLite transaction, and the outcome of its COMMIT."""

    def __init__(self, db: Runner) -> None:
        self.db = db
        self.members = 0
        self.kept = 0  # members that finished without an error
        # SQLite ended the transaction under a member: the group can only fail now.
        self.broken = False
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Every member may have been cancelled before the outcome: nobody else retrieves it.
        self.done.add_done_callback(lambda f: f.cancelled() or f.exception())


class _Waiter:
    def __init__(self, exclusive: bool) -> None:
        self.exclusive = exclusive
        self.granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()


class Member:
    """One use-case transaction's access to the writer, inside its group's transaction."""

    def __init__(self, writer: GroupWriter, group: _Group, *, single: bool) -> None:
        self._writer = writer
        self._group = group
        self._open = True
        # One write outside a use case: once its job has run, a cancelled caller does not undo
        # it (as when each such write committed on its own).
        self.single = single
        # A job was submitted, so the member may have changed something (event loop side).
        self.started = False
        # Its savepoint is open; a statement of it ran to the end (the statements' side).
        self.opened = False
        self.wrote = False

    def end(self) -> None:
        self._open = False

    async def call(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run `fn(conn, ...)` inside this member's savepoint (opened by its first call)."""
        if not self._open:
            raise StoreError("the transaction has ended")
        enter = self._writer._enter

        def job(conn: sqlite3.Connection) -> T:
            enter(conn, self)
            result = fn(conn, *args, **kwargs)
            self.wrote = True
            return result

        self.started = True
        delay, deadline = BUSY_RETRY_FIRST, 0.0
        while True:
            try:
                return await self._group.db.here(job)
            except _Busy:
                now = asyncio.get_running_loop().time()
                deadline = deadline or now + self._writer.busy_timeout
                if now >= deadline:
                    raise StoreUnavailable("SQLite: database is locked") from None
                await asyncio.sleep(delay)
                delay = min(delay * 2, BUSY_RETRY_MAX)


class _Exclusive:
    """`async with`: the writer connection alone, outside any transaction (a group still open
    commits first). Reusable, like the asyncio.Lock it replaces."""

    def __init__(self, writer: GroupWriter) -> None:
        self._writer = writer

    async def __aenter__(self) -> None:
        await self._writer._take_turn(exclusive=True)

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._writer._pass_turn()


class GroupWriter:
    """Hands the writer connection to one member at a time and commits them in groups."""

    def __init__(self, cap: int, *, busy_timeout_ms: int) -> None:
        """`busy_timeout_ms`: how long a group waits for another process's write lock (the
        connection's own busy_timeout, which BEGIN sets aside while it retries)."""
        if cap < 1:
            raise ValueError("a group needs room for at least one transaction")
        self._cap = cap
        self._busy_timeout_ms = busy_timeout_ms
        self.busy_timeout = busy_timeout_ms / 1000
        self._held = False  # a member, an exclusive writer or a commit has the connection
        self._queue: deque[_Waiter] = deque()
        self._group: _Group | None = None
        self._open = _Open()
        self._finishing: set[asyncio.Task[None]] = set()
        self.exclusive = _Exclusive(self)
        # Counters, for tests and diagnostics: transactions committed, and COMMITs that held them.
        self.committed = 0
        self.commits = 0

    @asynccontextmanager
    async def member(self, db: Runner, *, single: bool = False) -> AsyncIterator[Member]:
        """Join the open group (or start one); exit once the group's COMMIT is durable.

        `single`: one write, kept (and committed with the group) if its caller is cancelled
        after it ran."""
        await self._take_turn(exclusive=False)
        group = self._group
        if group is None:
            group = self._group = _Group(db)
        group.members += 1
        member = Member(self, group, single=single)
        try:
            yield member
        except BaseException as exc:
            member.end()
            await self._leave_failed(member, group, isinstance(exc, asyncio.CancelledError))
            raise
        member.end()
        group.kept += 1
        self._pass_turn()
        try:
            # Shielded: a member cancelled here must not cancel the outcome the others wait for.
            await asyncio.shield(group.done)
        except StoreError as exc:
            # Keeps the kind: a COMMIT that failed on a full disk is as retryable as the disk.
            raise type(exc)(f"the transaction did not commit: {exc}") from exc

    async def _leave_failed(self, member: Member, group: _Group, cancelled: bool) -> None:
        try:
            if member.started and not await group.db.here(self._undo, member, cancelled):
                group.broken = True
        except StoreError:
            group.broken = True
        finally:
            # Also when cancelled while an undo handed to the thread runs: the next holder's
            # statements wait behind it (`here` keeps the order).
            self._pass_turn()

    # -- turns (event loop) ------------------------------------------------------------------

    async def _take_turn(self, *, exclusive: bool) -> None:
        if not self._held and not self._queue:
            self._held = True
            return
        waiter = _Waiter(exclusive)
        self._queue.append(waiter)
        try:
            await waiter.granted
        except asyncio.CancelledError:
            if waiter.granted.done() and not waiter.granted.cancelled():
                # Granted just as the caller was cancelled: the turn is ours to pass on.
                self._pass_turn()
            elif waiter in self._queue:  # unless _pass_turn already dropped it
                self._queue.remove(waiter)
            raise

    def _pass_turn(self) -> None:
        """The holder is done with the connection: let the next member join, else commit (or
        roll back a broken group), else hand the connection to the next waiter."""
        while self._queue and self._queue[0].granted.done():
            self._queue.popleft()  # cancelled while waiting
        group = self._group
        if group is not None:
            first = self._queue[0] if self._queue else None
            joins = first is not None and not first.exclusive
            if joins and not group.broken and group.members < self._cap:
                self._grant()
                return
            self._group = None
            task = asyncio.get_running_loop().create_task(self._finish(group))
            self._finishing.add(task)
            task.add_done_callback(self._finishing.discard)
            return
        if self._queue:
            self._grant()
        else:
            self._held = False

    def _grant(self) -> None:
        self._queue.popleft().granted.set_result(None)

    async def _finish(self, group: _Group) -> None:
        # A task of its own: no member's cancellation may leave the group without an outcome.
        try:
            if group.broken:
                await group.db.call(self._abort)
                raise StoreUnavailable("SQLite rolled the transaction back after an error")
            await group.db.call(self._commit)
        except BaseException as exc:
            failure = exc if isinstance(exc, StoreError) else StoreError(f"interrupted: {exc!r}")
            group.done.set_exception(failure)
            if not isinstance(exc, Exception):
                raise
        else:
            self.commits += 1
            self.committed += group.kept
            group.done.set_result(None)
        finally:
            self._pass_turn()

    # -- statements (the turn's holder, on either thread) ---------------------------------------

    def _enter(self, conn: sqlite3.Connection, member: Member) -> None:
        """Before each statement of a member: the group's transaction and the member's savepoint."""
        state = self._open
        if not state.began:
            self._begin(conn)
            state.began = True
        elif not conn.in_transaction:
            # SQLite rolls a transaction back by itself on some errors (I/O, disk full); a
            # statement run now would autocommit on its own, outside the group.
            raise StoreUnavailable("SQLite rolled the transaction back after an error")
        if member.opened:
            return
        if state.savepoint:
            conn.execute(f"RELEASE {SAVEPOINT}")  # the previous member's, which succeeded
            state.savepoint = False
        conn.execute(f"SAVEPOINT {SAVEPOINT}")
        state.savepoint = member.opened = True

    def _begin(self, conn: sqlite3.Connection) -> None:
        # IMMEDIATE takes the write lock now, so the seq a member's state() reads is still the
        # latest when its append() builds on it. Without SQLite's busy handler for this one
        # statement (Member.call retries it); other statements keep the connection's timeout.
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode == sqlite3.SQLITE_BUSY:
                raise _Busy from exc
            raise
        finally:
            conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms:d}")

    def _undo(self, conn: sqlite3.Connection, member: Member, cancelled: bool) -> bool:
        """Take back a failed member's work; False if the group's transaction is gone."""
        state = self._open
        if not state.began:
            return True
        if not conn.in_transaction:
            return False
        if member.opened and not (cancelled and member.single and member.wrote):
            conn.execute(f"ROLLBACK TO {SAVEPOINT}")
            conn.execute(f"RELEASE {SAVEPOINT}")
            state.savepoint = False
        return True

    def _commit(self, conn: sqlite3.Connection) -> None:
        state = self._open
        began = state.began
        state.began = state.savepoint = False
        if not began:
            return  # no member issued a statement: nothing to commit
        if not conn.in_transaction:
            raise StoreUnavailable("SQLite rolled the transaction back after an error")
        try:
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _abort(self, conn: sqlite3.Connection) -> None:
        self._open.began = self._open.savepoint = False
        if conn.in_transaction:
            conn.execute("ROLLBACK")
