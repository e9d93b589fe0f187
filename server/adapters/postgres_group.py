"""Group commit on PostgreSQL: a process's transactions of one thread share one transaction.

A hot thread's transactions take turns on the thread's locks (postgres_threads.py), and each
paid for its own BEGIN, lock, COMMIT and fsync while every other writer of the thread waited.
Here, while one use-case transaction of a thread (a member) runs, the next ones of the same
thread in this process queue behind it; when it ends, the next joins the same PostgreSQL
transaction, on the same connection, under the same hold of the thread's locks, each inside its
own SAVEPOINT; the group commits once, when nobody is waiting to join, `cap` members have
joined, or the group has been open for the statement timeout.

- A member's `async with` exits only after the COMMIT holding its work is durable
  (synchronous_commit); if the COMMIT fails, every member gets StoreError (StoreUnavailable
  when the database is unreachable or refused in time), so nothing uncommitted is acknowledged.
- A member that raises, is cancelled, or had a statement fail rolls back to its savepoint:
  it leaves no trace and the others keep their work. The first member has no savepoint (none
  is needed while it is alone): if it fails the transaction is rolled back and the next waiter
  starts a new group. If the transaction itself is lost (the connection dropped), the group
  can only fail and every member gets the error.
- Members run one at a time on one connection, in turn order; each sees the earlier members'
  writes (one transaction), and the thread's state is handed from one to the next, so each
  `append` follows the seq the previous member left. All of a group's events carry its one
  top-level transaction id, in insert (so seq) order: the arguments of postgres_threads.py (a
  thread's seqs gap-free and committed in seq order across processes and hosts) and of
  postgres_events.py (the store-wide log never places seq n+1 before n) hold for a group as for
  one transaction.
- Every wait is bounded: a member waits for its turn at most the statement timeout
  (StoreUnavailable after), each statement is bounded by PostgreSQL's statement_timeout, and a
  group admits no new member after it has been open for the statement timeout, so it holds the
  thread at most that long plus the members already in (at most `cap`).
- Threads do not wait for each other: each ThreadKey has its own line, its own group and its
  own pooled connection.

A member's savepoint and the previous one's release travel as one simple query, so joining a
group costs one round trip, where a transaction of its own costs BEGIN, the thread's hold and
COMMIT, and waits for the holder's commit. `cap` is also kept at most 64: each member's
savepoint is a subtransaction, and PostgreSQL keeps only 64 of a transaction's
subtransaction ids in shared memory before every snapshot in the cluster takes a slower path.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager, suppress

import asyncpg

from server.adapters.postgres_database import PostgresDatabase, store_errors
from server.adapters.postgres_migrations import Connection
from server.model import ThreadKey, ThreadState
from server.storage import StoreError, StoreUnavailable

# One name for every member's savepoint: members never overlap, and ROLLBACK TO / RELEASE act
# on the newest savepoint of that name.
SAVEPOINT = "livethread_member"
# Above this many subtransactions PostgreSQL's snapshots overflow to pg_subtrans.
MOST_MEMBERS = 64


# What a connection in an unknown state may raise: it is then closed, never pooled again.
_LOST: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    OSError,
    TimeoutError,
)
_RELEASE_FAILED: tuple[type[BaseException], ...] = (StoreError, *_LOST)

# Opens a group: holds the thread (its locks, its row) on `conn`, inside the transaction the
# group has begun, and returns the thread's state.
Hold = Callable[[Connection, ThreadKey], Awaitable[ThreadState]]


class _Group:
    """The members sharing one PostgreSQL transaction, and the outcome of its COMMIT."""

    def __init__(self, conn: Connection, state: ThreadState | None, began: float) -> None:
        self.conn = conn
        self.state = state  # the thread as the last kept member left it (None: read it again)
        self.began = began
        self.members = 0
        self.kept = 0  # members whose work the transaction holds
        self.savepoint = False  # the newest member's savepoint is still open
        # The transaction can only be rolled back now: a member's failure could not be undone.
        self.broken = False
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Every member may have been cancelled before the outcome: nobody else retrieves it.
        self.done.add_done_callback(lambda f: f.cancelled() or f.exception())


class _Line:
    """One thread's turn: who holds it, who waits, and the group now open."""

    def __init__(self, key: ThreadKey) -> None:
        self.key = key
        self.held = False
        self.queue: deque[asyncio.Future[None]] = deque()
        self.group: _Group | None = None
        # The last group's connection, kept for the next group when one waits to start: no
        # pool reset (a round trip) and no acquire between back-to-back groups.
        self.spare: Connection | None = None


class Member:
    """One use-case transaction's part of a group: its connection and the thread's state as
    the members before it left it. Set `state` to what this member leaves (None: unknown)."""

    def __init__(self, conn: Connection, state: ThreadState | None) -> None:
        self.conn = conn
        self.state = state


class ThreadGroups:
    """Each thread's line of members in this process, committed in groups of at most `cap`."""

    def __init__(self, db: PostgresDatabase, hold: Hold, cap: int) -> None:
        if cap < 1:
            raise ValueError("a group needs room for at least one transaction")
        self._db = db
        self._hold = hold
        self._cap = min(cap, MOST_MEMBERS)
        self._lines: dict[ThreadKey, _Line] = {}
        self._finishing: set[asyncio.Task[None]] = set()
        # Counters, for tests and diagnostics: transactions committed, and COMMITs that held them.
        self.committed = 0
        self.commits = 0

    @asynccontextmanager
    async def member(self, key: ThreadKey) -> AsyncIterator[Member]:
        """Join the thread's open group (or start one); exit once its COMMIT is durable. A
        block that raises leaves nothing; StoreError if the group could not commit."""
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = _Line(key)
        await self._take_turn(line)
        try:
            group = line.group or await self._open(line)
            first = group.members == 0
            if not first:
                await self._run(group, self._savepoint_sql(group))
                group.savepoint = True
        except BaseException:
            if line.group is not None and line.group.members == 0:
                # The group was opened but its first member never ran: nothing to keep.
                line.group.broken = True
            self._pass_turn(key, line)
            raise
        group.members += 1
        member = Member(group.conn, group.state)
        try:
            yield member
        except BaseException:
            await self._leave_failed(key, line, group, first)
            raise
        group.kept += 1
        group.state = member.state
        self._pass_turn(key, line)
        try:
            # Shielded: a member cancelled here must not cancel the outcome the others wait for.
            await asyncio.shield(group.done)
        except StoreError as exc:
            # Keeps the kind: a COMMIT refused by a database that is down is as retryable.
            raise type(exc)(f"the transaction did not commit: {exc}") from exc

    # -- the group's statements ----------------------------------------------------------------

    @staticmethod
    def _savepoint_sql(group: _Group) -> str:
        # The previous member's savepoint, which succeeded, is released in the same round trip.
        if group.savepoint:
            return f"RELEASE SAVEPOINT {SAVEPOINT}; SAVEPOINT {SAVEPOINT}"
        return f"SAVEPOINT {SAVEPOINT}"

    async def _run(self, group: _Group, sql: str) -> None:
        try:
            with store_errors():
                await group.conn.execute(sql)
        except BaseException:
            group.broken = True
            raise

    async def _open(self, line: _Line) -> _Group:
        """Begin a transaction on a pooled connection and hold the thread in it."""
        conn, line.spare = line.spare, None
        if conn is not None and not _usable(conn):
            self._background(self._release(conn))  # the pool replaces a closed connection
            conn = None
        if conn is None:
            with store_errors():
                conn = await self._db.pool().acquire(timeout=self._db.timeout)
        loop = asyncio.get_running_loop()
        group = line.group = _Group(conn, None, loop.time())
        try:
            with store_errors():
                await conn.execute("BEGIN")
            group.state = await self._hold(conn, line.key)
        except BaseException:
            group.broken = True
            raise
        return group

    async def _leave_failed(self, key: ThreadKey, line: _Line, group: _Group, first: bool) -> None:
        """Take back a failed member's work: to its savepoint, or, for a group's first member,
        the whole transaction (the group ends with nothing kept)."""
        if first:
            group.broken = True
            self._pass_turn(key, line)
            return
        # A task that passes the turn only once the undo is done: a member cancelled while it
        # waits must not let the next member's statements overtake its ROLLBACK TO.
        await asyncio.shield(self._background(self._undo(key, line, group)))

    async def _undo(self, key: ThreadKey, line: _Line, group: _Group) -> None:
        try:
            with store_errors():
                # Also when a statement of the member failed: ROLLBACK TO ends the abort state.
                await group.conn.execute(
                    f"ROLLBACK TO SAVEPOINT {SAVEPOINT}; RELEASE SAVEPOINT {SAVEPOINT}"
                )
            group.savepoint = False
        except BaseException:
            # The transaction is lost (or in an unknown state): the group can only roll back.
            group.broken = True
        finally:
            self._pass_turn(key, line)

    # -- turns -------------------------------------------------------------------------------

    async def _take_turn(self, line: _Line) -> None:
        if not line.held and not line.queue:
            line.held = True
            return
        granted = asyncio.get_running_loop().create_future()
        line.queue.append(granted)
        try:
            async with asyncio.timeout(self._db.timeout):
                await granted
        except (asyncio.CancelledError, TimeoutError) as exc:
            if granted.done() and not granted.cancelled():
                # Granted just as the wait ended: the turn is ours to pass on.
                self._pass_turn(line.key, line)
            else:
                granted.cancel()  # _pass_turn drops it
            if isinstance(exc, TimeoutError):
                raise StoreUnavailable(
                    "PostgreSQL: waited too long for the thread's turn"
                ) from None
            raise

    def _pass_turn(self, key: ThreadKey, line: _Line) -> None:
        """The holder is done: let the next member join, else commit (or roll back a broken
        group), else hand the turn to the next waiter, who opens a new group."""
        while line.queue and line.queue[0].done():
            line.queue.popleft()  # gave up waiting
        group = line.group
        if group is not None:
            loop = asyncio.get_running_loop()
            joins = (
                bool(line.queue)
                and not group.broken
                and group.members < self._cap
                and loop.time() - group.began < self._db.timeout
            )
            if joins:
                line.queue.popleft().set_result(None)
                return
            line.group = None
            self._background(self._finish(key, line, group))
            return
        if line.queue:
            line.queue.popleft().set_result(None)
        else:
            line.held = False
            del self._lines[key]
            if line.spare is not None:
                spare, line.spare = line.spare, None
                self._background(self._release(spare))

    async def _finish(self, key: ThreadKey, line: _Line, group: _Group) -> None:
        # A task of its own: no member's cancellation may leave the group without an outcome.
        conn, keep = group.conn, False
        try:
            if group.broken or group.kept == 0:
                await self._rollback(conn)
                if group.kept:
                    raise StoreUnavailable("PostgreSQL rolled the transaction back after an error")
            else:
                with store_errors():
                    await conn.execute("COMMIT")
        except BaseException as exc:
            failure = exc if isinstance(exc, StoreError) else StoreError(f"interrupted: {exc!r}")
            group.done.set_exception(failure)
            if not isinstance(exc, Exception):
                raise
        else:
            if group.kept:
                self.commits += 1
                self.committed += group.kept
            group.done.set_result(None)
            # Idle, out of any transaction: the next group's, if one waits to start.
            keep = any(not waiter.done() for waiter in line.queue)
        finally:
            if keep:
                line.spare = conn
            else:
                await self._release(conn)
            self._pass_turn(key, line)

    def _background(self, work: Coroutine[None, None, None]) -> asyncio.Task[None]:
        """A task no member's cancellation reaches (kept referenced until it ends)."""
        task = asyncio.get_running_loop().create_task(work)
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)
        return task

    async def _rollback(self, conn: Connection) -> None:
        try:
            if _usable(conn):
                await conn.execute("ROLLBACK")
        except _LOST:
            _drop(conn)  # whatever state it was in, it must not go back to the pool open

    async def _release(self, conn: Connection) -> None:
        try:
            await self._db.pool().release(conn, timeout=self._db.timeout)
        except _RELEASE_FAILED:
            _drop(conn)


def _usable(conn: Connection) -> bool:
    """Open, and still ours: when its server goes away asyncpg gives a connection back to the
    pool by itself, and every call on our handle then raises InterfaceError."""
    try:
        return not conn.is_closed()
    except asyncpg.InterfaceError:
        return False


def _drop(conn: Connection) -> None:
    """Close a connection in an unknown state (nothing to do if asyncpg already took it back)."""
    with suppress(asyncpg.InterfaceError):
        conn.terminate()
