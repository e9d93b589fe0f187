"""A thread's transaction on the SQLite store: the `Transaction` port over the writer connection,
and the `Threads` port that opens it.

Each method is one call on the writer connection, inside the group transaction its member joined
(sqlite_writer.py), so a use-case reads its own writes before they commit, and all of them
commit, or roll back, together. It writes to the one thread it was opened for: a comment of
another thread is refused here, before any SQL runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import msgspec

from server.adapters import (
    sqlite_audit,
    sqlite_comments,
    sqlite_events,
    sqlite_idempotency,
    sqlite_threads,
)
from server.adapters.sqlite_database import SqliteDatabase
from server.adapters.sqlite_writer import Member
from server.events import EventType
from server.model import CommentRecord, ThreadKey, ThreadMeta, ThreadState
from server.moderation.ports import AuditEntry
from server.storage import StoreError
from server.threads.ports import IdempotentAnswer, StoredEvent, Transaction


class SqliteTransaction:
    """A Transaction whose every method is one call on the writer connection, in its group's
    transaction (the group's BEGIN and the member's SAVEPOINT ride along with the first)."""

    def __init__(self, member: Member, key: ThreadKey) -> None:
        self._member = member
        self._key = key
        self._open = True
        # The thread's state as this transaction has left it, once read. The group's BEGIN
        # IMMEDIATE holds the database's write lock and the member holds the writer's turn,
        # so nobody else changes the thread meanwhile: the core's state() before each append
        # costs no statement. Kept up to date by append and set_locked; dropped
        # when one of them fails, so a half-known outcome is read again.
        self._state: ThreadState | None = None

    def _writer(self) -> Member:
        if not self._open:
            raise StoreError("the transaction has ended")
        return self._member

    def end(self) -> None:
        self._open = False

    async def state(self) -> ThreadState:
        writer = self._writer()
        if self._state is None:
            self._state = await writer.call(
                sqlite_threads.thread_state, self._key.site, self._key.thread
            )
        return self._state

    async def set_locked(self, locked: bool) -> None:
        known, self._state = self._state, None
        await self._writer().call(
            sqlite_threads.set_locked, self._key.site, self._key.thread, locked
        )
        if known is not None:
            self._state = msgspec.structs.replace(known, locked=locked)

    async def append(self, event: StoredEvent, type: EventType, comment_id: str | None) -> None:
        known, self._state = self._state, None
        await self._writer().call(
            sqlite_events.append, self._key.site, self._key.thread, event, type, comment_id
        )
        if known is not None:
            self._state = msgspec.structs.replace(known, seq=event.seq)

    async def events_of(self, comment_id: str, types: Sequence[EventType]) -> list[StoredEvent]:
        return await self._writer().call(
            sqlite_events.events_of, self._key.site, self._key.thread, comment_id, list(types)
        )

    async def replace(self, events: Sequence[StoredEvent]) -> None:
        if events:
            await self._writer().call(
                sqlite_events.replace, self._key.site, self._key.thread, list(events)
            )
        else:
            self._writer()  # refused all the same once the transaction has ended

    async def comment(self, comment_id: str) -> CommentRecord | None:
        return await self._writer().call(
            sqlite_comments.thread_comment, self._key.site, self._key.thread, comment_id
        )

    async def has_replies(self, comment_id: str) -> bool:
        return await self._writer().call(
            sqlite_comments.has_replies, self._key.site, self._key.thread, comment_id
        )

    async def insert_comment(self, record: CommentRecord) -> None:
        if record.key != self._key:
            raise StoreError(f"comment {record.id} is not in thread {self._key}")
        await self._writer().call(sqlite_comments.insert_comment, record)

    async def update_comment(self, record: CommentRecord) -> None:
        if record.key != self._key:
            raise StoreError(f"no comment {record.id} in thread {self._key}")
        await self._writer().call(sqlite_comments.update_comment, record)

    async def recall(self, key: str) -> IdempotentAnswer | None:
        return await self._writer().call(sqlite_idempotency.recall, self._key.site, key)

    async def remember(self, answer: IdempotentAnswer) -> None:
        await self._writer().call(sqlite_idempotency.remember, self._key.site, answer)

    async def forget_answers(self, before: float) -> None:
        await self._writer().call(sqlite_idempotency.forget_answers, before)

    async def erase_answers(self, comment_id: str, body: bytes) -> None:
        await self._writer().call(
            sqlite_idempotency.erase_answers, self._key.site, comment_id, body
        )

    async def audit(self, entry: AuditEntry) -> None:
        await self._writer().call(sqlite_audit.append_audit, entry)


class SqliteThreads:
    """`Threads`: transactions on the writer; state and metadata read from the reader."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    @asynccontextmanager
    async def transaction(self, key: ThreadKey) -> AsyncIterator[Transaction]:
        # Exits only once the COMMIT holding this transaction is durable (sqlite_writer.py).
        async with self._db.member() as member:
            tx = SqliteTransaction(member, key)
            try:
                yield tx
            finally:
                tx.end()

    async def state(self, key: ThreadKey) -> ThreadState:
        return await self._db.read_now(sqlite_threads.thread_state, key.site, key.thread)

    async def meta(self, key: ThreadKey) -> ThreadMeta:
        return await self._db.read_now(sqlite_threads.thread_meta, key.site, key.thread)

    async def set_meta(
        self, key: ThreadKey, meta: ThreadMeta, *, first: bool = False
    ) -> ThreadMeta:
        return await self._db.write(
            sqlite_threads.set_thread_meta, key.site, key.thread, meta, first
        )

    async def set_byline(self, key: ThreadKey, byline: str) -> None:
        await self._db.write(sqlite_threads.set_byline, key.site, key.thread, byline)
