"""A use-case's transaction on the in-memory store: staged in overlays, then published at once.

`apply()` publishes every staged change with no await in between, so a reader sees all of a
transaction or none of it, and a transaction that raises is simply dropped, as a ROLLBACK would
drop it. MemoryStore runs one transaction at a time, as SQLite allows one writer at a time.
"""

from __future__ import annotations

import msgspec

from server import events
from server.adapters.memory_tables import EventRow, Tables
from server.adapters.redaction import rewritten
from server.events import DurableEvent
from server.model import CommentRecord, PublicComment, ThreadState
from server.ports import ERASED, IdempotentAnswer, StoreError


class MemoryTransaction:
    """Stages every change in its own overlays; `apply()` publishes them all at once."""

    def __init__(self, tables: Tables, site: str, thread: str) -> None:
        self._tables = tables
        self._site = site
        self._thread = thread
        self._key = (site, thread)
        self._state = tables.threads.get(self._key, ThreadState(site=site, thread=thread))
        self._comments: dict[str, CommentRecord] = {}
        # Copied on first write, so a transaction that only reads costs nothing.
        self._events: list[EventRow] | None = None
        self._answers: dict[str, IdempotentAnswer] = {}
        # Answers (of every site) remembered before this are forgotten on apply.
        self._forget_before: float | None = None
        # Seqs of committed events this transaction rewrote.
        self._redacted: set[int] = set()
        self._open = True

    def end(self) -> None:
        self._open = False

    def _check(self) -> None:
        # A write after the end would vanish silently; say so instead, as SQLite's twin does.
        if not self._open:
            raise StoreError("the transaction has ended")

    async def state(self) -> ThreadState:
        self._check()
        return self._state

    async def comment(self, comment_id: str) -> CommentRecord | None:
        self._check()
        return self._comment(comment_id)

    def _comment(self, comment_id: str) -> CommentRecord | None:
        staged = self._comments.get(comment_id)
        if staged is not None:
            return staged
        return self._tables.comments.get(self._key, {}).get(comment_id)

    async def has_replies(self, comment_id: str) -> bool:
        self._check()
        committed = self._tables.comments.get(self._key, {})
        merged = {**committed, **self._comments}
        return any(r.parent == comment_id for r in merged.values())

    async def insert_comment(self, record: CommentRecord) -> None:
        self._check()
        if (record.site, record.thread) != self._key:
            raise StoreError(f"comment {record.id} is not in thread {self._site}/{self._thread}")
        if record.id in self._comments or record.id in self._tables.comment_thread:
            raise StoreError(f"comment {record.id} already exists")
        self._comments[record.id] = record

    async def update_comment(self, record: CommentRecord) -> None:
        self._check()
        if (record.site, record.thread) != self._key or self._comment(record.id) is None:
            raise StoreError(f"no comment {record.id} in thread {self._site}/{self._thread}")
        self._comments[record.id] = record

    async def set_locked(self, locked: bool) -> None:
        self._check()
        self._state = msgspec.structs.replace(self._state, locked=locked)

    async def append(self, event: DurableEvent, comment_id: str | None) -> bytes:
        self._check()
        seq = self._state.seq + 1
        payload = events.encode(events.with_seq(event, seq))
        self._staged_events().append(EventRow(seq, comment_id, payload))
        self._state = msgspec.structs.replace(self._state, seq=seq)
        return payload

    async def rewrite(self, comment_id: str, comment: PublicComment) -> None:
        self._check()
        if self._comment(comment_id) is None:
            raise StoreError(f"no comment {comment_id} in thread {self._site}/{self._thread}")
        staged = self._staged_events()
        for index, stored in enumerate(staged):
            if stored.comment_id == comment_id:
                staged[index] = stored._replace(payload=rewritten(stored.payload, comment))
                self._redacted.add(stored.seq)

    async def recall(self, key: str) -> IdempotentAnswer | None:
        self._check()
        staged = self._answers.get(key)
        found = staged if staged is not None else self._tables.answers.get((self._site, key))
        if found is None or self._forgotten(found):
            return None
        return found

    async def remember(self, answer: IdempotentAnswer) -> None:
        self._check()
        if await self.recall(answer.key) is not None:
            raise StoreError(f"idempotency key {answer.key!r} is already remembered")
        self._answers[answer.key] = answer

    async def forget_answers(self, before: float) -> None:
        self._check()
        self._forget_before = max(before, self._forget_before or before)

    async def erase_answers(self, comment_id: str, body: bytes) -> None:
        self._check()
        committed = {k: a for (s, k), a in self._tables.answers.items() if s == self._site}
        for key, answer in {**committed, **self._answers}.items():
            if answer.comment_id == comment_id:
                self._answers[key] = msgspec.structs.replace(answer, body=body, fingerprint=ERASED)

    def _forgotten(self, answer: IdempotentAnswer) -> bool:
        return self._forget_before is not None and answer.created_at < self._forget_before

    def _redact_deliveries(self) -> None:
        """Webhook deliveries carry a copy of their event: give them the rewritten one."""
        tables = self._tables
        rewritten = {
            tables.positions[(self._key, seq)]: tables.events[self._key][seq - 1].payload
            for seq in self._redacted
            if (self._key, seq) in tables.positions
        }
        if not rewritten:
            return
        for delivery_id, delivery in tables.deliveries.items():
            payload = rewritten.get(delivery.position)
            if payload is not None:
                tables.deliveries[delivery_id] = msgspec.structs.replace(delivery, payload=payload)

    def _staged_events(self) -> list[EventRow]:
        if self._events is None:
            self._events = list(self._tables.events.get(self._key, ()))
        return self._events

    def apply(self) -> None:
        """Publish the staged changes. No awaits here, so readers see all of them or none."""
        tables = self._tables
        tables.threads[self._key] = self._state
        if self._comments:
            tables.comments.setdefault(self._key, {}).update(self._comments)
            for comment_id in self._comments:
                tables.comment_thread[comment_id] = self._key
        if self._events is not None:
            committed = len(tables.events.get(self._key, ()))
            tables.events[self._key] = self._events
            for event in self._events[committed:]:
                tables.log.append((self._key, event.seq))
                tables.positions[(self._key, event.seq)] = len(tables.log)
            self._redact_deliveries()
        if self._forget_before is not None:
            for old in [k for k, a in tables.answers.items() if self._forgotten(a)]:
                del tables.answers[old]
        for key, answer in self._answers.items():
            if not self._forgotten(answer):
                tables.answers[(self._site, key)] = answer
