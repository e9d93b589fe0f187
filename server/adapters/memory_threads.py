"""The in-memory twins of the threads' ports (server/threads/ports.py): `Threads`, `EventLog`
and `CommentReads`, reading and writing the shared `Tables`.

A thread's transaction (memory_transaction.py) holds the thread's lock, as SQLite's write lock
holds the database: `set_meta` takes it too, so an open transaction cannot put back, as it
commits, the state it read before the change.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import msgspec

from server.adapters.memory_tables import Tables
from server.adapters.memory_transaction import MemoryTransaction
from server.model import CommentRecord, ThreadKey, ThreadMeta, ThreadState, counted, readable
from server.moderation.ports import BanKey
from server.threads.ports import LogEntry, StoredEvent, Transaction


def _oldest_first(records: list[CommentRecord]) -> list[CommentRecord]:
    return sorted(records, key=lambda r: (r.created_at, r.id))


class MemoryThreads:
    """`Threads`: each thread's transaction, state and metadata."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    @asynccontextmanager
    async def transaction(self, key: ThreadKey) -> AsyncIterator[Transaction]:
        async with self._tables.lock(key):
            staged = MemoryTransaction(self._tables, key)
            try:
                yield staged
                # Reached only if the block did not raise: an exception drops the staging.
                staged.apply()
            finally:
                staged.end()

    async def state(self, key: ThreadKey) -> ThreadState:
        return self._tables.state(key)

    async def meta(self, key: ThreadKey) -> ThreadMeta:
        return self._tables.state(key).meta

    async def set_meta(
        self, key: ThreadKey, meta: ThreadMeta, *, first: bool = False
    ) -> ThreadMeta:
        async with self._tables.lock(key):
            state = self._tables.state(key)
            title = state.title if first and state.title else meta.title
            url = state.url if first and state.url else meta.url
            changed = msgspec.structs.replace(state, title=title, url=url)
            self._tables.threads[key] = changed
            return changed.meta

    async def set_byline(self, key: ThreadKey, byline: str) -> None:
        async with self._tables.lock(key):
            state = self._tables.state(key)
            self._tables.threads[key] = msgspec.structs.replace(state, byline=byline)


class MemoryEventLog:
    """`EventLog`: the committed events, per thread by seq and store-wide by position."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def events_after(self, key: ThreadKey, after: int, limit: int) -> list[StoredEvent]:
        if limit <= 0:
            return []
        rows = self._tables.events.get(key, [])
        start = bisect_right(rows, after, key=lambda row: row.seq)
        return [StoredEvent(seq=r.seq, payload=r.payload) for r in rows[start : start + limit]]

    async def end(self) -> int:
        return len(self._tables.log)

    async def after(self, after: int, limit: int) -> list[LogEntry]:
        tables = self._tables
        start = max(after, 0)
        chosen = tables.log[start : start + max(limit, 0)]
        entries: list[LogEntry] = []
        for index, (key, seq) in enumerate(chosen):
            row = tables.event(key, seq)
            # Every logged event is in `events`: both are written by the same commit.
            assert row is not None
            entries.append(
                LogEntry(
                    position=start + index + 1,
                    site=key.site,
                    thread=key.thread,
                    seq=seq,
                    payload=row.payload,
                )
            )
        return entries


class MemoryComments:
    """`CommentReads`: committed comments, read outside any transaction."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def of_thread(self, key: ThreadKey) -> tuple[ThreadState, list[CommentRecord]]:
        records = list(self._tables.comments.get(key, {}).values())
        return self._tables.state(key), _oldest_first(records)

    async def readable(self, key: ThreadKey) -> tuple[ThreadState, list[CommentRecord]]:
        state, records = await self.of_thread(key)
        # The address hash and the shadow mark are private too: the SQL stores' readable
        # columns leave them out.
        return state, [
            msgspec.structs.replace(readable(record), author_address=None, shadow=False)
            for record in records
        ]

    async def get(self, comment_id: str) -> CommentRecord | None:
        key = self._tables.comment_thread.get(comment_id)
        return None if key is None else self._tables.comments[key][comment_id]

    async def get_many(self, comment_ids: Sequence[str]) -> dict[str, CommentRecord]:
        found = {i: await self.get(i) for i in comment_ids}
        return {i: record for i, record in found.items() if record is not None}

    async def counts(self, site: str, threads: Sequence[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for thread in threads:
            records = self._tables.comments.get(ThreadKey(site, thread), {}).values()
            out[thread] = sum(1 for r in records if counted(r))
        return out

    async def by_email(self, email: str) -> list[CommentRecord]:
        wanted = email.casefold()
        found = [
            record
            for thread in self._tables.comments.values()
            for record in thread.values()
            if record.author_email is not None and record.author_email.casefold() == wanted
        ]
        return _oldest_first(found)

    async def published_by(self, site: str, account: str | None, email: str | None) -> bool:
        if account is None and email is None:
            return False
        return any(
            record.status == "visible"
            and (
                record.account == account
                if account is not None
                else (record.author_email or "").casefold() == (email or "").casefold()
            )
            for key, thread in self._tables.comments.items()
            if key.site == site
            for record in thread.values()
        )

    async def authored(
        self, site: str, key: BanKey, value: str, thread: str | None, limit: int
    ) -> list[CommentRecord]:
        found = [
            record
            for where, comments in self._tables.comments.items()
            if where.site == site and (thread is None or where.thread == thread)
            for record in comments.values()
            if record.status in ("visible", "pending") and _by(record, key, value)
        ]
        return _oldest_first(found)[: max(limit, 0)]

    async def shadowed(
        self, key: ThreadKey, account: str | None, address: str | None
    ) -> list[CommentRecord]:
        found = [
            record
            for record in self._tables.comments.get(key, {}).values()
            if record.shadow
            and record.status == "pending"
            and (
                (account is not None and record.account == account)
                or (address is not None and record.author_address == address)
            )
        ]
        return _oldest_first(found)

    async def recent(self, site: str, thread: str | None, limit: int) -> list[CommentRecord]:
        found = [
            record
            for where, comments in self._tables.comments.items()
            if where.site == site and (thread is None or where.thread == thread)
            for record in comments.values()
            if record.status == "visible"
        ]
        return [readable(record) for record in _oldest_first(found)[::-1][: max(limit, 0)]]


def _by(record: CommentRecord, key: BanKey, value: str) -> bool:
    """Whether the record's author has this account id, email (in any case) or address hash."""
    if key == "account":
        return record.account == value
    if key == "email":
        email = record.author_email
        return email is not None and email.casefold() == value.casefold()
    return record.author_address == value
