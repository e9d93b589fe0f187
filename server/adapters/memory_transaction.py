"""A thread's transaction on the in-memory store: staged in overlays, then published at once.

Implements `server.threads.ports.Transaction`. Every write is staged (comments, state, events
appended or given new payloads, idempotency answers, audit entries) and reads see the staged
writes over the committed rows. `apply()` publishes them all with no await in between, so a
reader sees all of a transaction or none of it; a transaction that raises is simply dropped, as
a ROLLBACK drops it. `MemoryThreads.transaction` holds the thread's lock while one is open, so
one transaction at a time writes a thread. The events' seqs and bytes are the core's: they are
kept as given.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from server.adapters.memory_tables import EventRow, Tables, seq_index
from server.events import EventType
from server.model import CommentRecord, ThreadKey, ThreadState
from server.moderation.ports import AuditEntry
from server.storage import StoreError
from server.threads.ports import ERASED, IdempotentAnswer, StoredEvent


class MemoryTransaction:
    """Stages every change in its own overlays; `apply()` publishes them all at once."""

    def __init__(self, tables: Tables, key: ThreadKey) -> None:
        self._tables = tables
        self._key = key
        self._state = tables.state(key)
        self._comments: dict[str, CommentRecord] = {}
        # Events appended here, by seq; and new payloads of committed events, by seq.
        self._appended: list[EventRow] = []
        self._replaced: dict[int, bytes] = {}
        # Answers remembered here (`_new`) or rewritten by `erase_answers`, by key.
        self._answers: dict[str, IdempotentAnswer] = {}
        self._new: set[str] = set()
        # Answers (of every site) remembered before this are forgotten on apply.
        self._forget_before: float | None = None
        # Audit entries appended here: they take their ids when published, in this order.
        self._audit: list[AuditEntry] = []
        self._open = True

    def end(self) -> None:
        self._open = False

    def _check(self) -> None:
        # A write after the end would vanish silently; say so instead, as SQLite's twin does.
        if not self._open:
            raise StoreError("the transaction has ended")

    # Thread state and events.

    async def state(self) -> ThreadState:
        self._check()
        return self._state

    async def set_locked(self, locked: bool) -> None:
        self._check()
        self._state = msgspec.structs.replace(self._state, locked=locked)

    async def append(self, event: StoredEvent, type: EventType, comment_id: str | None) -> None:
        self._check()
        if event.seq <= self._state.seq:
            # What the (thread, seq) primary key, and the log's order, would refuse.
            raise StoreError(f"seq {event.seq} is not after {self._state.seq} in {self._key}")
        self._appended.append(EventRow(event.seq, type, comment_id, event.payload))
        self._state = msgspec.structs.replace(self._state, seq=event.seq)

    async def events_of(self, comment_id: str, types: Sequence[EventType]) -> list[StoredEvent]:
        self._check()
        committed = self._tables.events.get(self._key, [])
        return [
            StoredEvent(seq=row.seq, payload=self._replaced.get(row.seq, row.payload))
            for row in (*committed, *self._appended)
            if row.comment_id == comment_id and row.type in types
        ]

    async def replace(self, events: Sequence[StoredEvent]) -> None:
        self._check()
        committed = self._tables.events.get(self._key, [])
        # Every seq is checked before anything is staged: all of them or none.
        staged: list[tuple[int | None, StoredEvent]] = []
        for event in events:
            index = seq_index(self._appended, event.seq)
            if index is None and seq_index(committed, event.seq) is None:
                raise StoreError(f"no event at seq {event.seq} in {self._key}")
            staged.append((index, event))
        for index, event in staged:
            if index is None:
                self._replaced[event.seq] = event.payload
            else:
                self._appended[index] = self._appended[index]._replace(payload=event.payload)

    # Comments.

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
        if record.key != self._key:
            raise StoreError(f"comment {record.id} is not in thread {self._key}")
        if record.id in self._comments or record.id in self._tables.comment_thread:
            raise StoreError(f"comment {record.id} already exists")
        self._comments[record.id] = record

    async def update_comment(self, record: CommentRecord) -> None:
        self._check()
        if record.key != self._key or self._comment(record.id) is None:
            raise StoreError(f"no comment {record.id} in thread {self._key}")
        self._comments[record.id] = record

    # Idempotency answers.

    async def recall(self, key: str) -> IdempotentAnswer | None:
        self._check()
        staged = self._answers.get(key)
        found = staged if staged is not None else self._tables.answers.get((self._key.site, key))
        if found is None or self._forgotten(found):
            return None
        return found

    async def remember(self, answer: IdempotentAnswer) -> None:
        self._check()
        if await self.recall(answer.key) is not None:
            raise StoreError(f"idempotency key {answer.key!r} is already remembered")
        self._answers[answer.key] = answer
        self._new.add(answer.key)

    async def forget_answers(self, before: float) -> None:
        self._check()
        self._forget_before = max(before, self._forget_before or before)

    async def erase_answers(self, comment_id: str, body: bytes) -> None:
        self._check()
        site = self._key.site
        committed = {k: a for (s, k), a in self._tables.answers.items() if s == site}
        for key, answer in {**committed, **self._answers}.items():
            if answer.comment_id == comment_id:
                self._answers[key] = msgspec.structs.replace(answer, body=body, fingerprint=ERASED)

    def _forgotten(self, answer: IdempotentAnswer) -> bool:
        return self._forget_before is not None and answer.created_at < self._forget_before

    # The audit log.

    async def audit(self, entry: AuditEntry) -> None:
        self._check()
        # The store gives the id, whatever the entry came with.
        self._audit.append(msgspec.structs.replace(entry, id=0))

    # Commit.

    def _conflicts(self) -> None:
        """Refuse, before anything is published, what a transaction of another thread
        committed meanwhile (threads lock apart): a comment id or an idempotency key taken."""
        tables = self._tables
        for comment_id in self._comments:
            where = tables.comment_thread.get(comment_id)
            if where is not None and where != self._key:
                raise StoreError(f"comment {comment_id} already exists")
        for key in self._new:
            taken = tables.answers.get((self._key.site, key))
            if taken is not None and not self._forgotten(taken):
                raise StoreError(f"idempotency key {key!r} is already remembered")

    def _rewrite_deliveries(self) -> None:
        """Webhook deliveries carry a copy of their event: give them its new payload."""
        tables = self._tables
        payloads = {
            tables.positions[(self._key, seq)]: payload
            for seq, payload in self._replaced.items()
            if (self._key, seq) in tables.positions
        }
        if not payloads:
            return
        for delivery_id, delivery in tables.deliveries.items():
            payload = payloads.get(delivery.position)
            if payload is not None:
                tables.deliveries[delivery_id] = msgspec.structs.replace(delivery, payload=payload)

    def apply(self) -> None:
        """Publish the staged changes. No awaits here, so readers see all of them or none."""
        self._conflicts()
        tables, key = self._tables, self._key
        tables.threads[key] = self._state
        if self._comments:
            tables.comments.setdefault(key, {}).update(self._comments)
            for comment_id in self._comments:
                tables.comment_thread[comment_id] = key
        if self._replaced:
            rows = tables.events[key]
            for seq, payload in self._replaced.items():
                index = seq_index(rows, seq)
                if index is not None:
                    rows[index] = rows[index]._replace(payload=payload)
            self._rewrite_deliveries()
        if self._appended:
            tables.events.setdefault(key, []).extend(self._appended)
            for row in self._appended:
                tables.log.append((key, row.seq))
                tables.positions[(key, row.seq)] = len(tables.log)
        self._apply_answers()
        for entry in self._audit:
            tables.keep_audit(entry)

    def _apply_answers(self) -> None:
        tables, site = self._tables, self._key.site
        if self._forget_before is not None:
            for old in [k for k, a in tables.answers.items() if self._forgotten(a)]:
                del tables.answers[old]
        for key, answer in self._answers.items():
            if self._forgotten(answer):
                continue
            # An erased copy of an answer another transaction forgot meanwhile stays forgotten.
            if key in self._new or (site, key) in tables.answers:
                tables.answers[(site, key)] = answer
