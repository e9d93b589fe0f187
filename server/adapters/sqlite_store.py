"""The default Store: one SQLite file, shared by every server process on the host.

sqlite3 blocks, so each connection lives on its own single-thread executor and every call hops
there with `run_in_executor`-style futures. Two connections:

- the writer, taken in turns by this process's writers (see sqlite_writer.py: transactions and
  single writes join a group committed together; migrations take it alone) and behind BEGIN
  IMMEDIATE against writers of other processes;
- a reader, for reads outside transactions. WAL lets it read the last committed state while a
  write transaction is open, so a snapshot or replay never waits behind a writer (which may
  itself be waiting up to busy_timeout for another process), and never sees a half-done
  transaction, as it would if it shared the writer's connection.

Each executor runs one job at a time in submission order, and a submitted job always runs even if
its caller is cancelled (see `_DbThread.call`); so a ROLLBACK submitted after a cancelled BEGIN
still runs after it, and the next transaction finds the connection clean.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Concatenate, ParamSpec, TypeVar

import msgspec

from server.adapters import sqlite_queries as q
from server.adapters.sqlite_migrations import migrate
from server.adapters.sqlite_writer import GroupWriter, Member
from server.events import DurableEvent
from server.model import CommentRecord, Moderator, Site, ThreadState
from server.ports import (
    Delivery,
    DeliveryStatus,
    IdempotentAnswer,
    LogEntry,
    StoredEvent,
    StoreError,
    Transaction,
    Webhook,
)
from server.rules import Rules

P = ParamSpec("P")
T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000
# PRAGMA synchronous reads back as a number: 2 is FULL (fsync the WAL on every commit).
SYNCHRONOUS_FULL = 2


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


def _connect(path: str, *, query_only: bool) -> sqlite3.Connection:
    """A connection with livethread's settings, checked: an acknowledged post must survive."""
    # isolation_level=None: we issue BEGIN/COMMIT ourselves; the module's implicit
    # transactions would start them at surprising moments.
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        # First, so that switching to WAL waits for other processes instead of failing.
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
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


class _DbThread:
    """One connection and the one thread allowed to touch it."""

    def __init__(self, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        # Read and written only on the executor's thread.
        self._conn: sqlite3.Connection | None = None
        self._closed = False

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
                raise StoreError(f"SQLite: {exc}") from exc

        # shield: cancelling the caller must not cancel a job still queued, or the jobs
        # submitted after it (a ROLLBACK, say) would find the connection in an unknown state.
        return await asyncio.shield(asyncio.wrap_future(self._executor.submit(job)))

    async def connect(self, factory: Callable[[], sqlite3.Connection]) -> None:
        def job() -> None:
            self._conn = factory()

        await asyncio.shield(asyncio.wrap_future(self._executor.submit(job)))

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        def job() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        try:
            await asyncio.shield(asyncio.wrap_future(self._executor.submit(job)))
        finally:
            # The close job was the last one, so this does not wait on real work.
            self._executor.shutdown(wait=True)


class SqliteTransaction:
    """A Transaction whose every method is one job on the writer thread, in its group's
    transaction (the group's BEGIN and the member's SAVEPOINT ride along with the first)."""

    def __init__(self, member: Member, site: str, thread: str) -> None:
        self._member = member
        self._site = site
        self._thread = thread
        self._open = True

    def _writer(self) -> Member:
        if not self._open:
            raise StoreError("the transaction has ended")
        return self._member

    def end(self) -> None:
        self._open = False

    async def state(self) -> ThreadState:
        return await self._writer().call(q.thread_state, self._site, self._thread)

    async def comment(self, comment_id: str) -> CommentRecord | None:
        return await self._writer().call(q.thread_comment, self._site, self._thread, comment_id)

    async def has_replies(self, comment_id: str) -> bool:
        return await self._writer().call(q.has_replies, self._site, self._thread, comment_id)

    async def insert_comment(self, record: CommentRecord) -> None:
        if (record.site, record.thread) != (self._site, self._thread):
            raise StoreError(f"comment {record.id} is not in thread {self._site}/{self._thread}")
        await self._writer().call(q.insert_comment, record)

    async def update_comment(self, record: CommentRecord) -> None:
        if (record.site, record.thread) != (self._site, self._thread):
            raise StoreError(f"no comment {record.id} in thread {self._site}/{self._thread}")
        await self._writer().call(q.update_comment, record)

    async def set_locked(self, locked: bool) -> None:
        await self._writer().call(q.set_locked, self._site, self._thread, locked)

    async def append(self, event: DurableEvent, comment_id: str | None) -> bytes:
        return await self._writer().call(q.append, self._site, self._thread, event, comment_id)

    async def redact(self, comment_id: str) -> None:
        await self._writer().call(q.redact, self._site, self._thread, comment_id)

    async def recall(self, key: str) -> IdempotentAnswer | None:
        return await self._writer().call(q.recall, self._site, key)

    async def remember(self, answer: IdempotentAnswer) -> None:
        await self._writer().call(q.remember, self._site, answer)

    async def forget_answers(self, before: float) -> None:
        await self._writer().call(q.forget_answers, before)

    async def erase_answers(self, comment_id: str, body: bytes) -> None:
        await self._writer().call(q.erase_answers, self._site, comment_id, body)


class SqliteStore:
    """Store on one SQLite file in WAL mode; safe to share between processes on one host."""

    def __init__(self, path: str, *, group_commit: int = 32) -> None:
        """`group_commit`: the most transactions of this process committed together (1: each
        commits on its own)."""
        self.path = path
        self._writes = GroupWriter(group_commit, busy_timeout_ms=BUSY_TIMEOUT_MS)
        # The writer connection alone, outside any transaction (an open group commits first).
        self._write_lock = self._writes.exclusive
        self._writer: _DbThread | None = None
        self._reader: _DbThread | None = None

    async def open(self) -> None:
        """Connect both threads, check durability settings, and migrate the schema."""
        if self._writer is not None:
            raise StoreError("the store is already open")
        writer = _DbThread("livethread-sqlite-writer")
        reader = _DbThread("livethread-sqlite-reader")
        self._writer, self._reader = writer, reader
        try:
            await writer.connect(lambda: _connect(self.path, query_only=False))
            await self.migrate()
            # After migrating, so the reader never caches a schema older than the writer's.
            await reader.connect(lambda: _connect(self.path, query_only=True))
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

    async def close(self) -> None:
        writer, reader = self._writer, self._reader
        self._writer = self._reader = None
        # The lock lets a transaction in progress finish before its connection goes away.
        async with self._write_lock:
            for db in (reader, writer):
                if db is not None:
                    await db.close()

    @staticmethod
    def _require(db: _DbThread | None) -> _DbThread:
        if db is None:
            raise StoreError("the store is not open")
        return db

    @asynccontextmanager
    async def transaction(self, site: str, thread: str) -> AsyncIterator[Transaction]:
        # Exits only once the COMMIT holding this transaction is durable (sqlite_writer.py).
        async with self._writes.member(self._require(self._writer)) as member:
            tx = SqliteTransaction(member, site, thread)
            try:
                yield tx
            finally:
                tx.end()

    async def _write(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """One write outside a use-case transaction, committed with the group it joins."""
        async with self._writes.member(self._require(self._writer), single=True) as member:
            return await member.call(fn, *args, **kwargs)

    async def thread_state(self, site: str, thread: str) -> ThreadState:
        return await self._require(self._reader).call(q.thread_state, site, thread)

    async def comments(self, site: str, thread: str) -> tuple[ThreadState, list[CommentRecord]]:
        return await self._require(self._reader).call(q.thread_comments, site, thread)

    async def comment(self, comment_id: str) -> CommentRecord | None:
        return await self._require(self._reader).call(q.comment, comment_id)

    async def events_after(
        self, site: str, thread: str, after: int, limit: int
    ) -> list[StoredEvent]:
        return await self._require(self._reader).call(q.events_after, site, thread, after, limit)

    async def counts(self, site: str, threads: Sequence[str]) -> dict[str, int]:
        return await self._require(self._reader).call(q.counts, site, list(threads))

    async def log_end(self) -> int:
        return await self._require(self._reader).call(q.log_end)

    async def log_after(self, after: int, limit: int) -> list[LogEntry]:
        return await self._require(self._reader).call(q.log_after, after, limit)

    async def put_site(self, site: Site) -> None:
        await self._write(q.put_site, site)

    async def site(self, name: str) -> Site | None:
        return await self._require(self._reader).call(q.site, name)

    async def put_moderator(self, moderator: Moderator, token_hash: str) -> None:
        await self._write(q.put_moderator, moderator, token_hash)

    async def moderator(self, token_hash: str) -> Moderator | None:
        return await self._require(self._reader).call(q.moderator, token_hash)

    async def cursor(self, name: str) -> int:
        return await self._require(self._reader).call(q.cursor, name)

    async def lease(self, name: str, owner: str, until: float, now: float) -> bool:
        return await self._write(q.lease, name, owner, until, now)

    async def advance(self, name: str, owner: str, position: int) -> bool:
        return await self._write(q.advance, name, owner, position)

    async def moderators(self, site: str) -> list[Moderator]:
        return await self._require(self._reader).call(q.moderators, site)

    async def comments_by_email(self, email: str) -> list[CommentRecord]:
        return await self._require(self._reader).call(q.comments_by_email, email)

    async def put_webhook(self, webhook: Webhook) -> None:
        await self._write(q.put_webhook, webhook)

    async def webhook(self, webhook_id: str) -> Webhook | None:
        return await self._require(self._reader).call(q.webhook, webhook_id)

    async def webhooks(self, site: str) -> list[Webhook]:
        return await self._require(self._reader).call(q.webhooks, site)

    async def remove_webhook(self, webhook_id: str) -> bool:
        return await self._write(q.remove_webhook, webhook_id)

    async def enqueue_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        await self._write(q.enqueue_deliveries, list(deliveries))

    async def due_deliveries(self, now: float, limit: int) -> list[Delivery]:
        return await self._require(self._reader).call(q.due_deliveries, now, limit)

    async def settle_delivery(
        self,
        delivery_id: str,
        status: DeliveryStatus,
        attempts: int,
        next_at: float,
        last_error: str | None,
    ) -> None:
        await self._write(q.settle_delivery, delivery_id, status, attempts, next_at, last_error)

    async def deliveries(self, status: DeliveryStatus) -> list[Delivery]:
        return await self._require(self._reader).call(q.deliveries, status)

    async def replay_deliveries(self, ids: Sequence[str] | None) -> int:
        chosen = None if ids is None else list(ids)
        return await self._write(q.replay_deliveries, chosen)

    async def mark_notified(self, reply_id: str, recipient: str) -> bool:
        return await self._write(q.mark_notified, reply_id, recipient)

    async def was_notified(self, reply_id: str, recipient: str) -> bool:
        return await self._require(self._reader).call(q.was_notified, reply_id, recipient)

    async def unsubscribe(self, comment_id: str) -> bool:
        return await self._write(q.unsubscribe, comment_id)

    async def secret(self, name: str) -> str:
        return await self._write(q.secret, name, secrets.token_urlsafe(32))

    async def put_rules(self, site: str, rules: Rules) -> None:
        await self._write(q.put_rules, site, rules)

    async def rules(self, site: str) -> Rules | None:
        return await self._require(self._reader).call(q.rules, site)

    async def queue(self, site: str, limit: int) -> list[CommentRecord]:
        return await self._require(self._reader).call(q.queue, site, limit)
