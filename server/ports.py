"""The two ports: Store (the truth) and Bus (delivery between server processes).

Each has an in-memory twin in `server.adapters`; `tests/contract/` runs one suite against every
implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import msgspec

from server.events import DurableEvent
from server.model import CommentRecord, Moderator, Site, ThreadState


class IdempotentAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """The answer a post gave, kept so a retry with the same key gets it again."""

    key: str
    fingerprint: str
    status: int
    body: bytes


class StoredEvent(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    payload: bytes


class LogEntry(msgspec.Struct, frozen=True, kw_only=True):
    """An event in the store-wide log: `position` orders every event of every thread in commit
    order, so a reader of the whole log (the hub's tail check, a worker) keeps one cursor."""

    position: int
    site: str
    thread: str
    seq: int
    payload: bytes


class StoreError(Exception):
    """The store could not do what was asked (a conflict, a missing row)."""


class Transaction(Protocol):
    """One atomic change to one thread. Nothing is visible to others until it commits.

    Entering the transaction locks the thread against other writers (in every process), so the
    seq read by `state()` is the one `append()` builds on.
    """

    async def state(self) -> ThreadState:
        """The thread's seq and lock flag; a thread never written to is at seq 0, unlocked."""
        ...

    async def comment(self, comment_id: str) -> CommentRecord | None:
        """A comment of this thread (None if absent or in another thread)."""
        ...

    async def has_replies(self, comment_id: str) -> bool: ...

    async def insert_comment(self, record: CommentRecord) -> None: ...

    async def update_comment(self, record: CommentRecord) -> None:
        """Replace the row with the same id (which must be in this thread)."""
        ...

    async def set_locked(self, locked: bool) -> None: ...

    async def append(self, event: DurableEvent, comment_id: str | None) -> bytes:
        """Store `event` at the thread's next seq; returns its encoded bytes for publishing."""
        ...

    async def redact(self, comment_id: str) -> None:
        """Rewrite stored events of a comment so no replay shows its author or body again."""
        ...

    async def recall(self, key: str) -> IdempotentAnswer | None:
        """The answer remembered for an idempotency key of this thread's site."""
        ...

    async def remember(self, answer: IdempotentAnswer) -> None: ...


class Store(Protocol):
    """Comments, sites, moderators and the per-thread event log. The source of truth."""

    async def open(self) -> None:
        """Connect, apply migrations, and check durability settings."""
        ...

    async def close(self) -> None: ...

    async def migrate(self) -> int:
        """Apply pending schema migrations; returns the schema version now in force."""
        ...

    def transaction(self, site: str, thread: str) -> AbstractAsyncContextManager[Transaction]:
        """Commits on a clean exit, rolls back if the block raises."""
        ...

    async def thread_state(self, site: str, thread: str) -> ThreadState: ...

    async def comments(self, site: str, thread: str) -> tuple[ThreadState, list[CommentRecord]]:
        """Every comment of a thread (all statuses) and the state they reflect, read together."""
        ...

    async def comment(self, comment_id: str) -> CommentRecord | None: ...

    async def events_after(
        self, site: str, thread: str, after: int, limit: int
    ) -> list[StoredEvent]:
        """Stored events with seq > after, oldest first, at most `limit`."""
        ...

    async def counts(self, site: str, threads: Sequence[str]) -> dict[str, int]:
        """Visible comments per thread (threads never written to count 0)."""
        ...

    async def log_end(self) -> int:
        """The position of the newest event in the log (0 when there is none)."""
        ...

    async def log_after(self, after: int, limit: int) -> list[LogEntry]:
        """Events of every thread with position > after, in commit order, at most `limit`."""
        ...

    async def put_site(self, site: Site) -> None:
        """Create or replace a site."""
        ...

    async def site(self, name: str) -> Site | None: ...

    async def put_moderator(self, moderator: Moderator, token_hash: str) -> None:
        """Create a moderator or replace their token (one token per moderator and site)."""
        ...

    async def moderator(self, token_hash: str) -> Moderator | None: ...

    async def moderators(self, site: str) -> list[Moderator]:
        """Everyone who moderates a site (their names are protected from look-alikes)."""
        ...

    async def comments_by_email(self, email: str) -> list[CommentRecord]:
        """Every comment left with this email (case-insensitive), oldest first, any thread."""
        ...


class Listener(Protocol):
    """Receives a channel's messages from the bus. Called on the event loop; must not block."""

    def deliver(self, payload: bytes) -> None: ...

    def resumed(self) -> None:
        """The bus lost and regained its transport: messages may have been dropped meanwhile."""
        ...


class Bus(Protocol):
    """Publish/subscribe of bytes on channels across server processes.

    At most once, no history: a message published while a subscriber is disconnected is lost,
    so the store stays the truth and listeners catch up from it when told `resumed()`.
    Subscriptions are reference-counted per channel: the transport subscribes once per channel
    per process however many listeners join.
    """

    @property
    def connected(self) -> bool:
        """Whether the transport is up now (for health checks; publishing never depends on it)."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, channel: str, payload: bytes) -> bool:
        """Hand a message to the transport; False (never an exception) if it is unavailable."""
        ...

    async def subscribe(self, channel: str, listener: Listener) -> None: ...

    async def unsubscribe(self, channel: str, listener: Listener) -> None: ...
