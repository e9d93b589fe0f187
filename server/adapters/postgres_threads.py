"""A thread's transactions on the PostgreSQL store: the `Threads` port, which opens them
(alone or in groups, postgres_group.py) on a connection holding the thread; the `Transaction`
port's statements are in postgres_transaction.py.

Why a thread's seqs are gap-free and commit in seq order, across every process and host:

Opening a transaction is one statement: it takes the thread's transaction-scoped advisory lock
(the INSERT's source, so it runs, and waits, first), then inserts the thread's row or, when it
exists, locks it with `ON CONFLICT DO UPDATE` and returns it. Both locks are held until the
transaction commits or rolls back. Every writer of the thread, wherever it runs, goes through
the same statement, so at most one transaction at a time holds the thread. The next writer
waits on the advisory lock for the holder to end; `ON CONFLICT DO UPDATE` then locks and returns
the row's newest committed version (in READ COMMITTED it sees that version even though the
statement's snapshot was taken before the wait, and a wait on the row lock itself, behind a
`set_meta`, ends the same way), so the waiter's `state().seq` is the seq the holder committed,
or the one before it if the holder rolled back. The core appends at
`state().seq + 1` (server/threads/history.py), and the seq column is updated in the same
transaction as the event's insert. Hence:

- gap-free: a transaction's events take seq+1, seq+2, ... of the seq its lock read; a rolled
  back transaction leaves neither its events nor its seq, and the next one starts from the
  committed seq again;
- in commit order: the transaction holding seq n+1 read seq n under a lock that was freed only
  by the commit of n, so n+1 cannot commit before n; a reader of a thread's events by seq
  (`EventLog.events_after`, a plain read outside any transaction) sees a committed prefix,
  never n+1 without n;
- unique: `UNIQUE (site, thread, seq)` refuses a second event at a seq even if a caller broke
  the rule.

Why the advisory lock, when the row lock alone serialises: a row lock needs a transaction id,
taken before the lock is granted, so two writers racing for one row (or to insert a new
thread's row) can get their ids in the opposite order to their turns. The store-wide log
places events in txid order (postgres_events.py), and a thread's later writer with the smaller
id could see its seq n+1 placed before seq n. The advisory lock needs no id: the transaction
gets its id only after the lock (the row's insert or its `DO UPDATE`), so a thread's writers
take ids in the order of their turns (without it, tests/test_postgres_log.py's writers
saw seqs out of txid order in most runs). (Its key is a hash of the thread: two threads sharing
one only wait for each other.)

These locks serialise a thread's writers only: other threads commit in parallel, which is why
the store-wide `position` is given later, by the log's reader (postgres_events.py).

Groups (postgres_group.py): a process's transactions of one thread may share one PostgreSQL
transaction, each in a savepoint, one after another on its connection. For this argument the
group is the writer: it takes the locks once, by the statement above, before it has an id, and
holds them until its one COMMIT, so groups of every process and host take turns exactly as
single transactions do. Inside a group the members run in turn, each starting from the state
the previous one left (its writes are visible in the same transaction; a member that failed was
rolled back to its savepoint, which restores the seq it read), so its events take the next seqs;
they all commit at once with the group, or not at all. So the three points hold with "the
group" for "the transaction": no gap (a failed member leaves no seq, the next one reuses it), seq
order across processes and hosts (the next holder of the thread reads the seq this group
committed), and one txid for all of a group's events, inserted in seq order, so the log's
(txid, id) order is still seq order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from server.adapters.postgres_database import PostgresDatabase, store_errors
from server.adapters.postgres_group import ThreadGroups
from server.adapters.postgres_migrations import Connection
from server.adapters.postgres_transaction import STATE, PostgresTransaction, state_of
from server.model import ThreadKey, ThreadMeta, ThreadState
from server.storage import StoreError
from server.threads.ports import Transaction

__all__ = ["PostgresThreads", "PostgresTransaction", "hold"]

# The advisory locks of threads: pg_advisory_xact_lock(THREAD_LOCKS, hash) is in the key space
# of two int4 keys, apart from the bigint keys of the migrations and of the log's placing.
THREAD_LOCKS = 0x6C746864  # "lthd"

# The thread's advisory lock first (the SELECT is the INSERT's source: it runs, and waits,
# before any row is written, so before the transaction has an id), then its row if new.
# The row comes back locked and as last committed: ON CONFLICT DO UPDATE locks the existing row
# and sees its newest version even when the statement's snapshot (taken before the wait) does
# not, and RETURNING gives that version; a new thread's row is inserted and returned. One round
# trip holds the thread.
_HOLD = (
    "INSERT INTO threads (site, thread) "
    "SELECT $1::text, $2::text FROM "
    "(SELECT pg_advisory_xact_lock($3::int4, hashtext($1::text || '/' || $2::text))) AS held "
    "ON CONFLICT (site, thread) DO UPDATE SET seq = threads.seq "
    "RETURNING seq, locked, title, url, byline"
)

# `first`: a field already set keeps its value, decided inside the one statement (under the
# row's lock), so two processes naming a new thread at once cannot both win.
_KEEP_SET = (
    "title = CASE WHEN threads.title = '' THEN excluded.title ELSE threads.title END, "
    "url = CASE WHEN threads.url = '' THEN excluded.url ELSE threads.url END"
)
_REPLACE = "title = excluded.title, url = excluded.url"


async def hold(conn: Connection, key: ThreadKey) -> ThreadState:
    """Hold the thread in the transaction open on `conn` (see the module's docstring)."""
    with store_errors():
        row = await conn.fetchrow(_HOLD, key.site, key.thread, THREAD_LOCKS)
    return state_of(key, row)


class PostgresThreads:
    """`Threads`: a thread's transactions in this process committed in groups (at most
    `group_commit` in one PostgreSQL transaction, postgres_group.py), each group on its own
    pooled connection, holding the thread's locks."""

    def __init__(self, db: PostgresDatabase, *, group_commit: int = 32) -> None:
        self._db = db
        self.groups = ThreadGroups(db, hold, group_commit)

    @asynccontextmanager
    async def transaction(self, key: ThreadKey) -> AsyncIterator[Transaction]:
        # Commits on a clean exit, returning once the COMMIT is durable (synchronous_commit).
        async with self.groups.member(key) as member:
            tx = PostgresTransaction(member.conn, key, member.state)
            try:
                yield tx
                await tx.flush()
            finally:
                tx.end()
                member.state = tx.known
            if tx.failed:
                # Raising here rolls the member back: a COMMIT now would roll back in silence.
                raise StoreError(f"a statement of the transaction of {key} failed: rolled back")

    async def state(self, key: ThreadKey) -> ThreadState:
        return state_of(key, await self._db.fetchrow(STATE, key.site, key.thread))

    async def meta(self, key: ThreadKey) -> ThreadMeta:
        row = await self._db.fetchrow(
            "SELECT title, url FROM threads WHERE site = $1 AND thread = $2", key.site, key.thread
        )
        return ThreadMeta() if row is None else ThreadMeta(title=row["title"], url=row["url"])

    async def set_meta(
        self, key: ThreadKey, meta: ThreadMeta, *, first: bool = False
    ) -> ThreadMeta:
        # One statement: the row is made or changed under its lock, and RETURNING reads what
        # that statement left, so no other writer comes between the write and the answer.
        row = await self._db.fetchrow(
            "INSERT INTO threads (site, thread, title, url) VALUES ($1, $2, $3, $4) "
            f"ON CONFLICT (site, thread) DO UPDATE SET {_KEEP_SET if first else _REPLACE} "
            "RETURNING title, url",
            key.site,
            key.thread,
            meta.title,
            meta.url,
        )
        if row is None:
            raise StoreError(f"thread {key}: no row after setting its metadata")
        return ThreadMeta(title=row["title"], url=row["url"])

    async def set_byline(self, key: ThreadKey, byline: str) -> None:
        # One statement, as set_meta: the row is made (seq 0) or only its byline changed,
        # under the row's lock.
        await self._db.execute(
            "INSERT INTO threads (site, thread, byline) VALUES ($1, $2, $3) "
            "ON CONFLICT (site, thread) DO UPDATE SET byline = excluded.byline",
            key.site,
            key.thread,
            byline,
        )
