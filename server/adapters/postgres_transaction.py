"""A thread's transaction on the PostgreSQL store: the `Transaction` port's statements on the
connection that holds the thread (opened by postgres_threads.py, whose docstring says why a
thread's seqs are gap-free and commit in seq order; alone or in a group, postgres_group.py).

A failed statement aborts a PostgreSQL transaction, where SQLite's carries on; so the writes a
caller may see refused (an event's seq taken, an idempotency key remembered) use `ON CONFLICT DO
NOTHING` and say StoreError from the row count, leaving the transaction usable, and a statement
that did fail marks the transaction: a clean exit from it then raises StoreError (the rollback
that PostgreSQL would otherwise do silently in place of the COMMIT; in a group, the rollback to
the member's savepoint).
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

import asyncpg
import msgspec

from server.adapters.postgres_audit import INSERT_AUDIT, audit_values
from server.adapters.postgres_comments import (
    has_replies,
    insert_comment,
    insert_statement,
    thread_comment,
    update_comment,
    written,
)
from server.adapters.postgres_database import affected, store_errors
from server.adapters.postgres_migrations import Connection
from server.events import EventType
from server.model import CommentRecord, ThreadKey, ThreadState
from server.moderation.ports import AuditEntry
from server.storage import StoreError
from server.threads.ports import ERASED, IdempotentAnswer, StoredEvent

T = TypeVar("T")

STATE = "SELECT seq, locked, title, url, byline FROM threads WHERE site = $1 AND thread = $2"

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

# The same, with a comment inserted just before (`insert_comment` waits for the next statement:
# a post's comment and its event cost one round trip). All three writes run whatever the
# others did; the counts say which went in.
_COMMENT_SQL, _ = insert_statement(7)
_APPEND_WITH_COMMENT = f"""
    WITH comment AS ({_COMMENT_SQL} RETURNING 1),
    added AS (
        INSERT INTO events (site, thread, seq, type, comment_id, payload)
        VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (site, thread, seq) DO NOTHING
        RETURNING seq
    ),
    moved AS (
        UPDATE threads SET seq = added.seq FROM added
        WHERE threads.site = $1 AND threads.thread = $2
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM comment) AS comments, (SELECT count(*) FROM moved) AS moved
"""


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
        byline=row["byline"],
    )


class PostgresTransaction:
    """A Transaction whose every method is statements on the connection holding the thread's
    row lock (see the module's docstring)."""

    def __init__(self, conn: Connection, key: ThreadKey, state: ThreadState | None) -> None:
        self._conn = conn
        self._key = key
        self._open = True
        # A statement failed: PostgreSQL has aborted the transaction, it must not "commit".
        self.failed = False
        # The thread's state as this transaction has left it. The row lock keeps every other
        # writer (set_meta included) off the row until the commit, so it stays true; dropped
        # when append or set_locked fails, so a half-known outcome is read again.
        self._state: ThreadState | None = state
        # A comment whose INSERT waits to ride with the next statement (see _APPEND_WITH_COMMENT).
        self._pending: CommentRecord | None = None

    @property
    def known(self) -> ThreadState | None:
        """The thread's state as this transaction leaves it, if known (for the next member of a
        group, postgres_group.py)."""
        return self._state

    def end(self) -> None:
        self._open = False

    async def flush(self) -> None:
        """Send the INSERT still waiting for a statement to ride with."""
        record, self._pending = self._pending, None
        if record is not None:
            await self._run(insert_comment(self._check(), record))

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
        await self.flush()
        return await self._run(self._check().fetch(sql, *args))

    async def _fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        await self.flush()
        return await self._run(self._check().fetchrow(sql, *args))

    async def _execute(self, sql: str, *args: Any) -> str:
        await self.flush()
        return await self._run(self._check().execute(sql, *args))

    # Thread state and events.

    async def state(self) -> ThreadState:
        self._check()
        if self._state is None:
            row = await self._fetchrow(STATE, self._key.site, self._key.thread)
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
        args = (site, thread, event.seq, type, comment_id, event.payload)
        # txid and id take their defaults; position stays NULL until the log places it.
        record, self._pending = self._pending, None
        if record is None:
            moved = affected(await self._execute(_APPEND, *args))
        else:
            row = await self._run(
                self._check().fetchrow(_APPEND_WITH_COMMENT, *args, *written(record))
            )
            assert row is not None  # a SELECT without FROM: always one row
            moved = int(row["moved"])
            if int(row["comments"]) != 1:
                # The event may be in: only a rollback may follow.
                self.failed = True
                raise StoreError(f"comment {record.id} already exists")
        if moved != 1:
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
        await self.flush()
        return await self._run(thread_comment(self._check(), key.site, key.thread, comment_id))

    async def has_replies(self, comment_id: str) -> bool:
        key = self._key
        await self.flush()
        return await self._run(has_replies(self._check(), key.site, key.thread, comment_id))

    async def insert_comment(self, record: CommentRecord) -> None:
        if record.key != self._key:
            raise StoreError(f"comment {record.id} is not in thread {self._key}")
        self._check()
        # Sent with the next statement, or at the block's end (an id taken is refused then).
        await self.flush()
        self._pending = record

    async def update_comment(self, record: CommentRecord) -> None:
        if record.key != self._key:
            raise StoreError(f"no comment {record.id} in thread {self._key}")
        await self.flush()
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

    # The audit log (postgres_audit.py): a plain INSERT, committed with the thread's writes.

    async def audit(self, entry: AuditEntry) -> None:
        await self._execute(INSERT_AUDIT, *audit_values(entry))
