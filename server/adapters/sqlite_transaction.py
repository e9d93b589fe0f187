"""A use-case's transaction on the SQLite store: the Transaction port over the writer thread.

Each method is one job on the writer connection, inside the group transaction its member joined
(sqlite_writer.py), so a use-case reads its own writes before they commit, and all of them
commit, or roll back, together. It writes to the one thread it was opened for: a comment of
another thread is refused here, before any SQL runs.
"""

from __future__ import annotations

from server.adapters import sqlite_comments, sqlite_events, sqlite_idempotency
from server.adapters.sqlite_writer import Member
from server.events import DurableEvent
from server.model import CommentRecord, PublicComment, ThreadState
from server.ports import IdempotentAnswer, StoreError


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
        return await self._writer().call(sqlite_comments.thread_state, self._site, self._thread)

    async def comment(self, comment_id: str) -> CommentRecord | None:
        return await self._writer().call(
            sqlite_comments.thread_comment, self._site, self._thread, comment_id
        )

    async def has_replies(self, comment_id: str) -> bool:
        return await self._writer().call(
            sqlite_comments.has_replies, self._site, self._thread, comment_id
        )

    async def insert_comment(self, record: CommentRecord) -> None:
        if (record.site, record.thread) != (self._site, self._thread):
            raise StoreError(f"comment {record.id} is not in thread {self._site}/{self._thread}")
        await self._writer().call(sqlite_comments.insert_comment, record)

    async def update_comment(self, record: CommentRecord) -> None:
        if (record.site, record.thread) != (self._site, self._thread):
            raise StoreError(f"no comment {record.id} in thread {self._site}/{self._thread}")
        await self._writer().call(sqlite_comments.update_comment, record)

    async def set_locked(self, locked: bool) -> None:
        await self._writer().call(sqlite_comments.set_locked, self._site, self._thread, locked)

    async def append(self, event: DurableEvent, comment_id: str | None) -> bytes:
        return await self._writer().call(
            sqlite_events.append, self._site, self._thread, event, comment_id
        )

    async def rewrite(self, comment_id: str, comment: PublicComment) -> None:
        await self._writer().call(
            sqlite_events.rewrite, self._site, self._thread, comment_id, comment
        )

    async def recall(self, key: str) -> IdempotentAnswer | None:
        return await self._writer().call(sqlite_idempotency.recall, self._site, key)

    async def remember(self, answer: IdempotentAnswer) -> None:
        await self._writer().call(sqlite_idempotency.remember, self._site, answer)

    async def forget_answers(self, before: float) -> None:
        await self._writer().call(sqlite_idempotency.forget_answers, before)

    async def erase_answers(self, comment_id: str, body: bytes) -> None:
        await self._writer().call(sqlite_idempotency.erase_answers, self._site, comment_id, body)
