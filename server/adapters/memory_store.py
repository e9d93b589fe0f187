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

import msgspec

from server.adapters.memory_tables import Tables
from server.adapters.memory_transaction import MemoryTransaction
from server.model import CommentRecord, Moderator, Site, ThreadMeta, ThreadState, readable
from server.ports import (
    AddressState,
    Delivery,
    DeliveryStatus,
    LogEntry,
    StoredEvent,
    StoreError,
    Transaction,
    Webhook,
)
from server.rules import Rules


class MemoryStore:
    """Store kept in dicts. One transaction at a time, as SQLite allows one writer at a time."""

    def __init__(self) -> None:
        self._tables = Tables()
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

    async def thread_meta(self, site: str, thread: str) -> ThreadMeta:
        return (await self.thread_state(site, thread)).meta

    async def set_thread_meta(
        self, site: str, thread: str, meta: ThreadMeta, *, first: bool = False
    ) -> ThreadMeta:
        # Taken as a transaction is: one open now would otherwise put back, as it commits, the
        # state it read before this change.
        async with self._lock:
            state = await self.thread_state(site, thread)
            title = state.title if first and state.title else meta.title
            url = state.url if first and state.url else meta.url
            changed = msgspec.structs.replace(state, title=title, url=url)
            self._tables.threads[(site, thread)] = changed
            return changed.meta

    async def comments(self, site: str, thread: str) -> tuple[ThreadState, list[CommentRecord]]:
        records = self._tables.comments.get((site, thread), {}).values()
        ordered = sorted(records, key=lambda r: (r.created_at, r.id))
        return await self.thread_state(site, thread), ordered

    async def readable_comments(
        self, site: str, thread: str
    ) -> tuple[ThreadState, list[CommentRecord]]:
        state, records = await self.comments(site, thread)
        return state, [readable(record) for record in records]

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

    async def remove_moderator(self, site: str, name: str) -> bool:
        token = self._tables.tokens.pop((site, name), None)
        if token is None:
            return False
        del self._tables.moderators[token]
        return True

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

    async def address(self, key: str) -> AddressState | None:
        return self._tables.addresses.get(key)

    async def confirmations_sent(self, site: str, since: float) -> int:
        tables = self._tables
        return sum(
            1
            for key, state in tables.addresses.items()
            if tables.address_sites.get(key) == site
            and state.requested_at is not None
            and state.requested_at >= since
        )

    async def confirmation_sent(self, key: str, site: str, at: float) -> None:
        state = self._tables.addresses.get(key) or AddressState(key=key)
        self._tables.addresses[key] = msgspec.structs.replace(state, requested_at=at)
        self._tables.address_sites[key] = site

    async def confirm_address(self, key: str, at: float) -> bool:
        state = self._tables.addresses.get(key) or AddressState(key=key)
        if state.confirmed_at is not None:
            return False
        self._tables.addresses[key] = msgspec.structs.replace(state, confirmed_at=at)
        return True

    async def forget_address(self, key: str) -> bool:
        self._tables.address_sites.pop(key, None)
        return self._tables.addresses.pop(key, None) is not None

    async def secret(self, name: str) -> str:
        return self._tables.secrets.setdefault(name, secrets.token_urlsafe(32))

    async def put_rules(self, site: str, rules: Rules) -> None:
        if site not in self._tables.sites:
            raise StoreError(f"no site {site!r} for rules")
        self._tables.rules[site] = rules

    async def rules(self, site: str) -> Rules | None:
        return self._tables.rules.get(site)

    async def writable(self, lock_wait: float) -> None:
        """Memory is always writable: the twin of `SqliteStore.writable`."""
        return None

    async def queue(self, site: str, limit: int) -> list[CommentRecord]:
        found = [
            record
            for (where, _), thread in self._tables.comments.items()
            if where == site
            for record in thread.values()
            if record.status == "pending"
            or (
                record.status == "visible"
                and (record.flag is not None or record.pending_body_html is not None)
            )
        ]
        found.sort(key=lambda r: (r.created_at, r.id))
        return found[: max(limit, 0)]
