"""A thread's transaction on the PostgreSQL store: the `Transaction` port on one pooled
connection, and the `Threads` port that opens it.

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

A failed statement aborts a PostgreSQL transaction, where SQLite's carries on; so the writes a
caller may see refused (an event's seq taken, an idempotency key remembered) use `ON CONFLICT DO
NOTHING` and say StoreError from the row count, leaving the transaction usable, and a statement
that did fail marks the transaction: a clean exit from it then raises StoreError (the rollback
that PostgreSQL would otherwise do silently in place of the COMMIT).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg
import msgspec

from server.adapters.postgres_comments import (
    has_replies,
    insert_comment,
    thread_comment,
    update_comment,
)
from server.adapters.postgres_database import PostgresDatabase, affected, store_errors
from server.adapters.postgres_migrations import Connection
from server.events import EventType
from server.model import CommentRecord, ThreadKey, ThreadMeta, ThreadState
from server.storage import StoreError
from server.threads.ports import ERASED, IdempotentAnswer, StoredEvent, Transaction

T = TypeVar("T")

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
    "RETURNING seq, locked, title, url"
)

_STATE = "SELECT seq, locked, title, url FROM threads WHERE site = $1 AND thread = $2"

# The event and the thread's seq in one statement (one round trip while the thread is held): the
# seq moves only if the event went in, so "UPDATE 0" means the seq was taken.
_APPEND = """
    WITH added AS (
        INSERT INTO events (site, thread, seq, type, comment_id, payload)
        VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (site, thread, seq) DO NOTHING
        RETURNING seq
    )
    UPDATE threads SET seq = added.seq FROM added
    WHERE threads.site = $1 AND threads.thread = $2
"""

# `first`: a field already set keeps its value, decided inside the one statement (under the
# row's lock), so two processes naming a new thread at once cannot both win.
_KEEP_SET = (
    "title = CASE WHEN threads.title = '' THEN excluded.title ELSE threads.title END, "
    "url = CASE WHEN threads.url = '' THEN excluded.url ELSE threads.url END"
)
_REPLACE = "title = excluded.title, url = excluded.url"

# New payloads for events by seq, all or none: the UPDATE runs only when every seq asked for is
# the thread's ($5: how many distinct seqs were asked for).
_REPLACE_EVENTS = """
    WITH wanted AS (SELECT * FROM unnest($3::bigint[], $4::bytea[]) AS w (seq, payload)),
    found AS (
        SELECT count(*) AS n FROM events e JOIN wanted w ON e.seq = w.seq
        WHERE e.site = $1 AND e.thread = $2
    )
    UPDATE events e SET payload = w.payload FROM wanted w, found
    WHERE found.n = $5 AND e.site = $1 AND e.thread = $2 AND e.seq = w.seq
"""
# Webhook deliveries carry a copy of a placed event (by its position): the same new bytes.
_REPLACE_DELIVERIES = """
    UPDATE deliveries d SET payload = e.payload FROM events e
    WHERE e.site = $1 AND e.thread = $2 AND e.seq = ANY($3::bigint[])
      AND e.position IS NOT NULL AND d.position = e.position
"""


def state_of(key: ThreadKey, row: asyncpg.Record | None) -> ThreadState:
    if row is None:
        return ThreadState(site=key.site, thread=key.thread)
    return ThreadState(
        site=key.site,
        thread=key.thread,
        seq=int(row["seq"]),
        locked=bool(row["locked"]),
        title=row["title"],
        url=row["url"],
    )


class PostgresTransaction:
    """A Transaction whose every method is statements on the connection holding the thread's
    row lock (see the module's docstring)."""

    def __init__(self, conn: Connection, key: ThreadKey, state: ThreadState) -> None:
        self._conn = conn
        self._key = key
        self._open = True
        # A statement failed: PostgreSQL has aborted the transaction, it must not "commit".
        self.failed = False
        # The thread's state as this transaction has left it. The row lock keeps every other
        # writer (set_meta included) off the row until the commit, so it stays true; dropped
        # when append or set_locked fails, so a half-known outcome is read again.
        self._state: ThreadState | None = state

    def end(self) -> None:
        self._open = False

    async def _run(self, step: Awaitable[T]) -> T:
        """One statement of this transaction, its failure mapped and remembered."""
        try:
            with store_errors():
                return await step
        except StoreError as exc:
            # A refusal decided from a row count (no cause) leaves the transaction usable;
            # one that PostgreSQL raised has aborted it.
            if exc.__cause__ is not None:
                self.failed = True
            raise
        except BaseException:
            self.failed = True
            raise

    def _check(self) -> Connection:
        if not self._open:
            raise StoreError("the transaction has ended")
        return self._conn

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await self._run(self._check().fetch(sql, *args))

    async def _fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        return await self._run(self._check().fetchrow(sql, *args))

    async def _execute(self, sql: str, *args: Any) -> str:
        return await self._run(self._check().execute(sql, *args))

    # Thread state and events.

    async def state(self) -> ThreadState:
        self._check()
        if self._state is None:
            row = await self._fetchrow(_STATE, self._key.site, self._key.thread)
            self._state = state_of(self._key, row)
        return self._state

    async def set_locked(self, locked: bool) -> None:
        known, self._state = self._state, None
        await self._execute(
            "UPDATE threads SET locked = $3 WHERE site = $1 AND thread = $2",
            self._key.site,
            self._key.thread,
            locked,
        )
        if known is not None:
            self._state = msgspec.structs.replace(known, locked=locked)

    async def append(self, event: StoredEvent, type: EventType, comment_id: str | None) -> None:
        known, self._state = self._state, None
        site, thread = self._key.site, self._key.thread
        # txid and id take their defaults; position stays NULL until the log places it.
        status = await self._execute(
            _APPEND, site, thread, event.seq, type, comment_id, event.payload
        )
        if affected(status) != 1:
            self._state = known
            raise StoreError(f"thread {self._key} already has an event {event.seq}")
        if known is not None:
            self._state = msgspec.structs.replace(known, seq=event.seq)

    async def events_of(self, comment_id: str, types: Sequence[EventType]) -> list[StoredEvent]:
        self._check()
        if not types:
            return []
        rows = await self._fetch(
            "SELECT seq, payload FROM events WHERE comment_id = $1 AND site = $2 AND thread = $3 "
            "AND type = ANY($4::text[]) ORDER BY seq",
            comment_id,
            self._key.site,
            self._key.thread,
            list(types),
        )
        return [StoredEvent(seq=int(r["seq"]), payload=bytes(r["payload"])) for r in rows]

    async def replace(self, events: Sequence[StoredEvent]) -> None:
        self._check()
        if not events:
            return
        # The last payload given for a seq wins, as when the updates run one by one.
        payloads = {e.seq: e.payload for e in events}
        site, thread, seqs = self._key.site, self._key.thread, list(payloads)
        status = await self._execute(
            _REPLACE_EVENTS, site, thread, seqs, list(payloads.values()), len(seqs)
        )
        if affected(status) != len(seqs):
            raise StoreError(f"an event to replace is not in thread {self._key}")
        await self._execute(_REPLACE_DELIVERIES, site, thread, seqs)

    # Comments.

    async def comment(self, comment_id: str) -> CommentRecord | None:
        key = self._key
        return await self._run(thread_comment(self._check(), key.site, key.thread, comment_id))

    async def has_replies(self, comment_id: str) -> bool:
        key = self._key
        return await self._run(has_replies(self._check(), key.site, key.thread, comment_id))

    async def insert_comment(self, record: CommentRecord) -> None:
        if record.key != self._key:
            raise StoreError(f"comment {record.id} is not in thread {self._key}")
        await self._run(insert_comment(self._check(), record))

    async def update_comment(self, record: CommentRecord) -> None:
        if record.key != self._key:
            raise StoreError(f"no comment {record.id} in thread {self._key}")
        await self._run(update_comment(self._check(), record))

    # Idempotency answers (the SQL of sqlite_idempotency.py).

    async def recall(self, key: str) -> IdempotentAnswer | None:
        row = await self._fetchrow(
            "SELECT fingerprint, status, body, created_at, comment_id FROM idempotency "
            "WHERE site = $1 AND key = $2",
            self._key.site,
            key,
        )
        if row is None:
            return None
        return IdempotentAnswer(
            key=key,
            fingerprint=row["fingerprint"],
            status=int(row["status"]),
            body=bytes(row["body"]),
            created_at=float(row["created_at"]),
            comment_id=row["comment_id"],
        )

    async def remember(self, answer: IdempotentAnswer) -> None:
        status = await self._execute(
            "INSERT INTO idempotency "
            "(site, key, fingerprint, status, body, created_at, comment_id) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (site, key) DO NOTHING",
            self._key.site,
            answer.key,
            answer.fingerprint,
            answer.status,
            answer.body,
            answer.created_at,
            answer.comment_id,
        )
        if affected(status) != 1:
            raise StoreError(f"idempotency key {answer.key!r} is already remembered")

    async def forget_answers(self, before: float) -> None:
        await self._execute("DELETE FROM idempotency WHERE created_at < $1", before)

    async def erase_answers(self, comment_id: str, body: bytes) -> None:
        await self._execute(
            "UPDATE idempotency SET body = $1, fingerprint = $2 "
            "WHERE site = $3 AND comment_id = $4",
            body,
            ERASED,
            self._key.site,
            comment_id,
        )


class PostgresThreads:
    """`Threads`: each transaction on its own pooled connection, holding the thread's row."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    @asynccontextmanager
    async def transaction(self, key: ThreadKey) -> AsyncIterator[Transaction]:
        # Commits on a clean exit, returning once the COMMIT is durable (synchronous_commit).
        async with self._db.transaction() as conn:
            with store_errors():
                row = await conn.fetchrow(_HOLD, key.site, key.thread, THREAD_LOCKS)
            tx = PostgresTransaction(conn, key, state_of(key, row))
            try:
                yield tx
            finally:
                tx.end()
            if tx.failed:
                # Raising here rolls back: a COMMIT now would roll back in silence.
                raise StoreError(f"a statement of the transaction of {key} failed: rolled back")

    async def state(self, key: ThreadKey) -> ThreadState:
        return state_of(key, await self._db.fetchrow(_STATE, key.site, key.thread))

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
