"""The in-memory twin of the Store port: for tests, the demo and `--database memory:`.

It keeps the same promises as the SQLite store (atomic transactions, one writer at a time,
per-thread seqs) so the contract suite can hold both to one standard. Nothing survives the
process.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

import msgspec

from server import events
from server.adapters.redaction import redacted, tombstone
from server.events import DurableEvent
from server.model import CommentRecord, Moderator, Site, ThreadState
from server.ports import (
    ERASED,
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

_Key = tuple[str, str]


class _Event(NamedTuple):
    seq: int
    comment_id: str | None
    payload: bytes


@dataclass
class _Tables:
    sites: dict[str, Site] = field(default_factory=dict)
    # Token hash -> moderator, for authentication; `tokens` ((site, name) -> token hash) lets
    # a new token retire the old one, as the SQLite table's (site, name) key does.
    moderators: dict[str, Moderator] = field(default_factory=dict)
    tokens: dict[_Key, str] = field(default_factory=dict)
    threads: dict[_Key, ThreadState] = field(default_factory=dict)
    comments: dict[_Key, dict[str, CommentRecord]] = field(default_factory=dict)
    comment_thread: dict[str, _Key] = field(default_factory=dict)
    events: dict[_Key, list[_Event]] = field(default_factory=dict)
    answers: dict[_Key, IdempotentAnswer] = field(default_factory=dict)
    # The store-wide log: (thread, seq) in commit order; position n sits at index n - 1.
    # Payloads are read from `events` so a redaction shows through here too.
    log: list[tuple[_Key, int]] = field(default_factory=list)
    # Log readers: name -> [position, owner, lease until].
    cursors: dict[str, tuple[int, str | None, float]] = field(default_factory=dict)
    # (thread, seq) -> position, so a redaction can find the webhook deliveries of its events.
    positions: dict[tuple[_Key, int], int] = field(default_factory=dict)
    webhooks: dict[str, Webhook] = field(default_factory=dict)
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    notified: set[tuple[str, str]] = field(default_factory=set)
    secrets: dict[str, str] = field(default_factory=dict)
    rules: dict[str, Rules] = field(default_factory=dict)


class MemoryTransaction:
    """Stages every change in its own overlays; `apply()` publishes them all at once."""

    def __init__(self, tables: _Tables, site: str, thread: str) -> None:
        self._tables = tables
        self._site = site
        self._thread = thread
        self._key = (site, thread)
        self._state = tables.threads.get(self._key, ThreadState(site=site, thread=thread))
        self._comments: dict[str, CommentRecord] = {}
        # Copied on first write, so a transaction that only reads costs nothing.
        self._events: list[_Event] | None = None
        self._answers: dict[str, IdempotentAnswer] = {}
        # Answers (of every site) remembered before this are forgotten on apply.
        self._forget_before: float | None = None
        # Seqs of committed events this transaction redacted.
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
        self._staged_events().append(_Event(seq, comment_id, payload))
        self._state = msgspec.structs.replace(self._state, seq=seq)
        return payload

    async def redact(self, comment_id: str) -> None:
        self._check()
        record = self._comment(comment_id)
        if record is None:
            raise StoreError(f"no comment {comment_id} in thread {self._site}/{self._thread}")
        grave = tombstone(record)
        staged = self._staged_events()
        for index, stored in enumerate(staged):
            if stored.comment_id == comment_id:
                staged[index] = stored._replace(payload=redacted(stored.payload, grave))
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
        """Webhook deliveries carry a copy of their event: give them the redacted one."""
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

    def _staged_events(self) -> list[_Event]:
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


class MemoryStore:
    """Store kept in dicts. One transaction at a time, as SQLite allows one writer at a time."""

    def __init__(self) -> None:
        self._tables = _Tables()
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        return None

    async def migrate(self) -> int:
        """Nothing to migrate; the twin of `SqliteStore.migrate`."""
        return 0

    async def close(self) -> None:
        return None

    @asynccontextmanager
    async def transaction(self, site: str, thread: str) -> AsyncIterator[Transaction]:
        async with self._lock:
            staged = MemoryTransaction(self._tables, site, thread)
            try:
                yield staged
                # Reached only if the block did not raise: an exception drops the staging.
                staged.apply()
            finally:
                staged.end()

    async def thread_state(self, site: str, thread: str) -> ThreadState:
        return self._tables.threads.get((site, thread), ThreadState(site=site, thread=thread))

    async def comments(self, site: str, thread: str) -> tuple[ThreadState, list[CommentRecord]]:
        records = self._tables.comments.get((site, thread), {}).values()
        ordered = sorted(records, key=lambda r: (r.created_at, r.id))
        return await self.thread_state(site, thread), ordered

    async def comment(self, comment_id: str) -> CommentRecord | None:
        key = self._tables.comment_thread.get(comment_id)
        return None if key is None else self._tables.comments[key][comment_id]

    async def events_after(
        self, site: str, thread: str, after: int, limit: int
    ) -> list[StoredEvent]:
        stored = self._tables.events.get((site, thread), [])
        # Seqs are 1, 2, 3, ... so seq n sits at index n - 1.
        start = max(after, 0)
        chosen = stored[start : start + max(limit, 0)]
        return [StoredEvent(seq=e.seq, payload=e.payload) for e in chosen]

    async def log_end(self) -> int:
        return len(self._tables.log)

    async def log_after(self, after: int, limit: int) -> list[LogEntry]:
        start = max(after, 0)
        chosen = self._tables.log[start : start + max(limit, 0)]
        return [
            LogEntry(
                position=start + index + 1,
                site=key[0],
                thread=key[1],
                seq=seq,
                payload=self._tables.events[key][seq - 1].payload,
            )
            for index, (key, seq) in enumerate(chosen)
        ]

    async def counts(self, site: str, threads: Sequence[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for thread in threads:
            records = self._tables.comments.get((site, thread), {}).values()
            out[thread] = sum(1 for r in records if r.status == "visible")
        return out

    async def put_site(self, site: Site) -> None:
        self._tables.sites[site.name] = site

    async def site(self, name: str) -> Site | None:
        return self._tables.sites.get(name)

    async def put_moderator(self, moderator: Moderator, token_hash: str) -> None:
        tables = self._tables
        if moderator.site not in tables.sites:
            raise StoreError(f"no site {moderator.site!r} for moderator {moderator.name!r}")
        owner = tables.moderators.get(token_hash)
        if owner is not None and owner != moderator:
            raise StoreError("that token hash already belongs to another moderator")
        key = (moderator.site, moderator.name)
        old = tables.tokens.get(key)
        if old is not None:
            del tables.moderators[old]
        tables.tokens[key] = token_hash
        tables.moderators[token_hash] = moderator

    async def moderator(self, token_hash: str) -> Moderator | None:
        return self._tables.moderators.get(token_hash)

    async def cursor(self, name: str) -> int:
        return self._tables.cursors.get(name, (0, None, 0.0))[0]

    async def lease(self, name: str, owner: str, until: float, now: float) -> bool:
        position, holder, expires = self._tables.cursors.get(name, (0, None, 0.0))
        if holder is not None and holder != owner and expires >= now:
            return False
        self._tables.cursors[name] = (position, owner, until)
        return True

    async def advance(self, name: str, owner: str, position: int) -> bool:
        _, holder, expires = self._tables.cursors.get(name, (0, None, 0.0))
        if holder != owner:
            return False
        self._tables.cursors[name] = (position, holder, expires)
        return True

    async def moderators(self, site: str) -> list[Moderator]:
        found = [m for m in self._tables.moderators.values() if m.site == site]
        return sorted(found, key=lambda m: m.name)

    async def put_webhook(self, webhook: Webhook) -> None:
        if webhook.site not in self._tables.sites:
            raise StoreError(f"no site {webhook.site!r} for webhook {webhook.id!r}")
        self._tables.webhooks[webhook.id] = webhook

    async def webhook(self, webhook_id: str) -> Webhook | None:
        return self._tables.webhooks.get(webhook_id)

    async def webhooks(self, site: str) -> list[Webhook]:
        found = [w for w in self._tables.webhooks.values() if w.site == site]
        return sorted(found, key=lambda w: w.id)

    async def remove_webhook(self, webhook_id: str) -> bool:
        tables = self._tables
        if tables.webhooks.pop(webhook_id, None) is None:
            return False
        for delivery_id in [i for i, d in tables.deliveries.items() if d.webhook_id == webhook_id]:
            del tables.deliveries[delivery_id]
        return True

    async def enqueue_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        tables = self._tables
        for delivery in deliveries:
            if delivery.webhook_id in tables.webhooks:
                tables.deliveries.setdefault(delivery.id, delivery)

    async def due_deliveries(self, now: float, limit: int) -> list[Delivery]:
        due = [
            d
            for d in self._tables.deliveries.values()
            if d.status == "pending" and d.next_at <= now
        ]
        due.sort(key=lambda d: (d.next_at, d.position, d.id))
        return due[: max(limit, 0)]

    async def settle_delivery(
        self,
        delivery_id: str,
        status: DeliveryStatus,
        attempts: int,
        next_at: float,
        last_error: str | None,
    ) -> None:
        delivery = self._tables.deliveries.get(delivery_id)
        if delivery is not None:
            self._tables.deliveries[delivery_id] = msgspec.structs.replace(
                delivery, status=status, attempts=attempts, next_at=next_at, last_error=last_error
            )

    async def deliveries(self, status: DeliveryStatus) -> list[Delivery]:
        found = [d for d in self._tables.deliveries.values() if d.status == status]
        return sorted(found, key=lambda d: (d.position, d.id))

    async def replay_deliveries(self, ids: Sequence[str] | None) -> int:
        tables = self._tables
        chosen = tables.deliveries.keys() if ids is None else dict.fromkeys(ids)
        replayed = 0
        for delivery_id in list(chosen):
            delivery = tables.deliveries.get(delivery_id)
            if delivery is not None and delivery.status == "parked":
                tables.deliveries[delivery_id] = msgspec.structs.replace(
                    delivery, status="pending", attempts=0, next_at=0.0
                )
                replayed += 1
        return replayed

    async def comments_by_email(self, email: str) -> list[CommentRecord]:
        wanted = email.casefold()
        found = [
            record
            for thread in self._tables.comments.values()
            for record in thread.values()
            if record.author_email is not None and record.author_email.casefold() == wanted
        ]
        return sorted(found, key=lambda r: (r.created_at, r.id))

    async def mark_notified(self, reply_id: str, recipient: str) -> bool:
        key = (reply_id, recipient)
        if key in self._tables.notified:
            return False
        self._tables.notified.add(key)
        return True

    async def was_notified(self, reply_id: str, recipient: str) -> bool:
        return (reply_id, recipient) in self._tables.notified

    async def unsubscribe(self, comment_id: str) -> bool:
        # Under the transactions' lock, so an edit staged meanwhile cannot write notify back.
        async with self._lock:
            tables = self._tables
            where = tables.comment_thread.get(comment_id)
            record = None if where is None else tables.comments.get(where, {}).get(comment_id)
            if where is None or record is None:
                return False
            tables.comments[where][comment_id] = msgspec.structs.replace(record, notify=False)
            return True

    async def secret(self, name: str) -> str:
        return self._tables.secrets.setdefault(name, secrets.token_urlsafe(32))

    async def put_rules(self, site: str, rules: Rules) -> None:
        if site not in self._tables.sites:
            raise StoreError(f"no site {site!r} for rules")
        self._tables.rules[site] = rules

    async def rules(self, site: str) -> Rules | None:
        return self._tables.rules.get(site)

    async def queue(self, site: str, limit: int) -> list[CommentRecord]:
        found = [
            record
            for (where, _), thread in self._tables.comments.items()
            if where == site
            for record in thread.values()
            if record.status == "pending"
            or (record.status == "visible" and record.flag is not None)
        ]
        found.sort(key=lambda r: (r.created_at, r.id))
        return found[: max(limit, 0)]
