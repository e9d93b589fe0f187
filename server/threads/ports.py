"""The threads' storage ports: the per-thread event log, the comments, and a post's transaction.

A thread's writes happen in a `Transaction`, one at a time per thread in every process; the
core (server/threads/log.py) gives each event its seq and its bytes, and decides what a
comment's stored events carry after an edit or a removal. Stores only keep and return rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import msgspec

from server.events import EventType
from server.model import CommentRecord, ThreadKey, ThreadMeta, ThreadState
from server.moderation.ports import AuditEntry, BanKey


class StoredEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event as the log keeps it: its seq in its thread and the bytes readers are sent."""

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

    @property
    def key(self) -> ThreadKey:
        return ThreadKey(self.site, self.thread)


class IdempotentAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """The answer a post gave, kept so a retry with the same key gets it again (until it
    expires: see `AnswerWrites.forget_answers`)."""

    # The SHA-256 of the client's Idempotency-Key (server/threads/idempotency.py): the key itself,
    # from which a keyed post's edit token is derived, is never kept.
    key: str
    fingerprint: str
    status: int
    body: bytes
    # When it was remembered, by the use-cases' clock.
    created_at: float
    # The comment the answer holds, so erasing the comment can erase its copy here too.
    comment_id: str | None = None


# The fingerprint of an answer whose comment was erased: it matches no retry's fingerprint,
# and no hash of the erased text or email is kept.
ERASED = ""


class ThreadWrites(Protocol):
    """A thread's state and its event log, inside its transaction."""

    async def state(self) -> ThreadState:
        """The thread's seq, lock flag and metadata as of this transaction (its own writes
        included); a thread never written to is at seq 0, unlocked."""
        ...

    async def set_locked(self, locked: bool) -> None: ...

    async def append(self, event: StoredEvent, type: EventType, comment_id: str | None) -> None:
        """Keep `event` as the thread's newest: its seq is `state().seq + 1` (the core's to
        choose, never the store's) and becomes the thread's seq. `comment_id` names the
        comment the event is about, for `events_of`. Store-wide, the event takes the next
        position of the log when the transaction commits."""
        ...

    async def events_of(self, comment_id: str, types: Sequence[EventType]) -> list[StoredEvent]:
        """This thread's stored events about a comment, of the given types, by seq."""
        ...

    async def replace(self, events: Sequence[StoredEvent]) -> None:
        """Give stored events (by seq) new payloads, and the webhook deliveries copied from
        them the same: a removal's or an edit's rewrite, decided by the core. A seq the thread
        does not have is refused (StoreError)."""
        ...


class CommentWrites(Protocol):
    """The comments of the transaction's thread; a comment of another thread is refused
    (StoreError) before anything is written."""

    async def comment(self, comment_id: str) -> CommentRecord | None:
        """A comment of this thread (None if absent or in another thread)."""
        ...

    async def has_replies(self, comment_id: str) -> bool: ...

    async def insert_comment(self, record: CommentRecord) -> None: ...

    async def update_comment(self, record: CommentRecord) -> None:
        """Replace the row with the same id (which must be in this thread)."""
        ...


class AnswerWrites(Protocol):
    """Idempotency answers of the transaction's site, kept with the post they answer."""

    async def recall(self, key: str) -> IdempotentAnswer | None:
        """The answer remembered for an idempotency key of this thread's site."""
        ...

    async def remember(self, answer: IdempotentAnswer) -> None: ...

    async def forget_answers(self, before: float) -> None:
        """Forget the answers of every site remembered before `before`: keys expire."""
        ...

    async def erase_answers(self, comment_id: str, body: bytes) -> None:
        """Replace the body of this site's answers that hold the comment with `body`, and their
        fingerprint with ERASED: the erased comment's text must not live on in them."""
        ...


class AuditWrites(Protocol):
    """The audit log, inside the transaction: a decision about one of the thread's comments is
    kept if and only if the decision commits."""

    async def audit(self, entry: AuditEntry) -> None:
        """Append the entry (its id is the store's) to the site's audit log."""
        ...


class Transaction(ThreadWrites, CommentWrites, AnswerWrites, AuditWrites, Protocol):
    """One atomic change to one thread: its comments, its events and the post's idempotency
    answer commit together or not at all, and nothing is visible to others before the commit.
    Opening it locks the thread against other writers in every process, so the seq that
    `state()` reads is the one the next `append` follows."""


class Threads(Protocol):
    """Each thread's transaction, state and metadata."""

    def transaction(self, key: ThreadKey) -> AbstractAsyncContextManager[Transaction]:
        """Commits on a clean exit (returning once the commit is durable), rolls back if the
        block raises."""
        ...

    async def state(self, key: ThreadKey) -> ThreadState:
        """The thread's last committed seq, lock flag and metadata (a thread never written to:
        seq 0, unlocked, no title or URL)."""
        ...

    async def meta(self, key: ThreadKey) -> ThreadMeta:
        """The thread's title and URL ("" each while not known)."""
        ...

    async def set_byline(self, key: ThreadKey, byline: str) -> None:
        """Name the article's byline author ("" clears it); made if the thread is new, seq, lock
        and title untouched. Read back as `ThreadState.byline`."""
        ...

    async def set_meta(
        self, key: ThreadKey, meta: ThreadMeta, *, first: bool = False
    ) -> ThreadMeta:
        """Store the thread's title and URL as given ("" clears one), seq and lock untouched.
        `first`: set only the fields that are empty now, in one atomic step against every
        process, so the first page to name a thread wins. Returns the metadata as it now is."""
        ...


class EventLog(Protocol):
    """The committed events, per thread by seq and store-wide by position.

    Positions grow in commit order: a reader holding position P has seen every event that
    committed before any event after P, so one cursor never skips a late commit.
    """

    async def events_after(self, key: ThreadKey, after: int, limit: int) -> list[StoredEvent]:
        """The thread's events with seq > after, oldest first, at most `limit` (none if
        `limit` <= 0)."""
        ...

    async def end(self) -> int:
        """The position of the newest event in the log (0 when there is none)."""
        ...

    async def after(self, after: int, limit: int) -> list[LogEntry]:
        """Events of every thread with position > after, in commit order, at most `limit`."""
        ...


class CommentReads(Protocol):
    """Committed comments, read outside any transaction."""

    async def of_thread(self, key: ThreadKey) -> tuple[ThreadState, list[CommentRecord]]:
        """Every comment of a thread (all statuses) by (created_at, id), and the state they
        reflect, read together."""
        ...

    async def readable(self, key: ThreadKey) -> tuple[ThreadState, list[CommentRecord]]:
        """`of_thread`, each with only what a reader's view is made of: no email, no address
        hash, no source text, no token hash, no moderation notes (those fields empty). For the
        snapshot."""
        ...

    async def get(self, comment_id: str) -> CommentRecord | None: ...

    async def get_many(self, comment_ids: Sequence[str]) -> dict[str, CommentRecord]:
        """The comments among `comment_ids` that exist, by id, in one read (a worker's batch)."""
        ...

    async def counts(self, site: str, threads: Sequence[str]) -> dict[str, int]:
        """How many comments of each thread `model.counted` counts (threads never written to
        count 0)."""
        ...

    async def by_email(self, email: str) -> list[CommentRecord]:
        """Every comment left with this email (case-insensitive), oldest first, any thread."""
        ...

    async def published_by(self, site: str, account: str | None, email: str | None) -> bool:
        """Whether the site has a published (visible) comment by this account or, when the
        account is None, left with this email (case-insensitive); False when both are None.
        An indexed lookup: every post of a site that holds first comments asks."""
        ...

    async def authored(
        self, site: str, key: BanKey, value: str, thread: str | None, limit: int
    ) -> list[CommentRecord]:
        """The site's visible and pending comments (of one thread when `thread` is given) whose
        author has this account id, email (case-insensitive) or address hash, oldest first, at
        most `limit`: what a ban removes."""
        ...

    async def shadowed(
        self, key: ThreadKey, account: str | None, address: str | None
    ) -> list[CommentRecord]:
        """The thread's shadow comments still pending, posted by this account or from this
        address hash (None matches nothing), oldest first: what their author is shown."""
        ...

    async def recent(self, site: str, thread: str | None, limit: int) -> list[CommentRecord]:
        """The site's (or, when `thread` is given, that thread's) visible comments only, newest
        first by created_at then id, at most `limit`, each as `readable` gives it: what a feed
        shows. An indexed read: feed readers poll it."""
        ...
