"""The two ports: Store (the truth) and Bus (delivery between server processes).

Each has an in-memory twin in `server.adapters`; `tests/contract/` runs one suite against every
implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Literal, Protocol

import msgspec

from server.events import DurableEvent
from server.model import (
    CommentRecord,
    Moderator,
    PublicComment,
    Site,
    ThreadMeta,
    ThreadState,
)
from server.rules import Rules


class IdempotentAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """The answer a post gave, kept so a retry with the same key gets it again (until it
    expires: see `Transaction.forget_answers`)."""

    # The SHA-256 of the client's Idempotency-Key (server/idempotency.py): the key itself,
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


class Webhook(msgspec.Struct, frozen=True, kw_only=True):
    """A URL of a site's that receives that site's events as signed POSTs."""

    id: str
    site: str
    url: str
    # The HMAC key of the signatures; kept in clear because signing needs it.
    secret: str
    # The event types sent (`comment.created`, ...); empty means every type.
    events: tuple[str, ...] = ()


DeliveryStatus = Literal["pending", "sent", "parked"]


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """One event for one webhook. `id` is stable (f"{webhook_id}:{position}"), so queueing the
    same event again changes nothing and receivers can drop a delivery they already have."""

    id: str
    webhook_id: str
    position: int
    site: str
    thread: str
    # The event's stored JSON (redacted with it if its comment is removed).
    payload: bytes
    attempts: int = 0
    # When it is due (pending) or was last tried.
    next_at: float = 0.0
    status: DeliveryStatus = "pending"
    last_error: str | None = None


class AddressState(msgspec.Struct, frozen=True, kw_only=True):
    """A reply-mail address's double opt-in, keyed by the address's keyed hash (never the
    address itself): when its last confirmation mail went out, and when it was confirmed."""

    key: str
    requested_at: float | None = None
    confirmed_at: float | None = None


class StoreError(Exception):
    """The store could not do what was asked (a conflict, a missing row)."""


class StoreUnavailable(StoreError):
    """The store cannot write now, through no fault of the request: the database stayed locked
    past its busy timeout, the disk is full, or an I/O error. Worth retrying later (503)."""


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

    async def rewrite(self, comment_id: str, comment: PublicComment) -> None:
        """Make every stored event of a comment that carries it (created, edited, restored,
        approved), and the queued webhook deliveries copied from them, carry `comment`
        instead; seq and type are kept. The use-cases decide what that is (a tombstone after a
        removal, the current text after an edit), so no replay shows superseded text."""
        ...

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

    async def thread_state(self, site: str, thread: str) -> ThreadState:
        """The thread's seq, lock flag and metadata (a thread never written to: seq 0, no
        title or URL)."""
        ...

    async def thread_meta(self, site: str, thread: str) -> ThreadMeta:
        """The thread's title and URL ("" each while not known)."""
        ...

    async def set_thread_meta(
        self, site: str, thread: str, meta: ThreadMeta, *, first: bool = False
    ) -> ThreadMeta:
        """Store the thread's title and URL as given ("" clears one), seq and lock untouched.
        `first`: set only the fields that are empty now, in one atomic step against every
        process, so the first page to name a thread wins. Returns the metadata as it now is."""
        ...

    async def comments(self, site: str, thread: str) -> tuple[ThreadState, list[CommentRecord]]:
        """Every comment of a thread (all statuses) and the state they reflect, read together."""
        ...

    async def readable_comments(
        self, site: str, thread: str
    ) -> tuple[ThreadState, list[CommentRecord]]:
        """`comments`, each with only what a reader's view is made of: no email, no source
        text, no token hash, no moderation notes (those fields empty). For the snapshot."""
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

    async def cursor(self, name: str) -> int:
        """A log reader's committed position (0 for a reader never seen)."""
        ...

    async def lease(self, name: str, owner: str, until: float, now: float) -> bool:
        """Hold reader `name` for `owner` until `until`: granted (or renewed) when the lease is
        free, expired at `now`, or already `owner`'s. Two copies of a worker never hold it
        together, so they never handle the same event at the same time."""
        ...

    async def advance(self, name: str, owner: str, position: int) -> bool:
        """Commit reader `name`'s position, if `owner` still holds its lease (else False)."""
        ...

    async def comments_by_email(self, email: str) -> list[CommentRecord]:
        """Every comment left with this email (case-insensitive), oldest first, any thread."""
        ...

    async def put_webhook(self, webhook: Webhook) -> None:
        """Create or replace a webhook (by id); its site must exist."""
        ...

    async def webhook(self, webhook_id: str) -> Webhook | None: ...

    async def webhooks(self, site: str) -> list[Webhook]:
        """A site's webhooks, by id."""
        ...

    async def remove_webhook(self, webhook_id: str) -> bool:
        """Remove a webhook and its deliveries; False if there was none."""
        ...

    async def enqueue_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """Queue deliveries; one whose id is already queued (in any status), or whose webhook
        is gone, is left out. Idempotent, so a worker may handle an event twice."""
        ...

    async def due_deliveries(self, now: float, limit: int) -> list[Delivery]:
        """Pending deliveries with next_at <= now, longest due first, at most `limit`."""
        ...

    async def settle_delivery(
        self,
        delivery_id: str,
        status: DeliveryStatus,
        attempts: int,
        next_at: float,
        last_error: str | None,
    ) -> None:
        """Record an attempt's outcome (nothing happens if the delivery is gone)."""
        ...

    async def deliveries(self, status: DeliveryStatus) -> list[Delivery]:
        """Every delivery in a status, by position."""
        ...

    async def replay_deliveries(self, ids: Sequence[str] | None) -> int:
        """Make parked deliveries (these, or all when None) pending again, due at once, with
        their attempts reset; returns how many were parked."""
        ...

    async def mark_notified(self, reply_id: str, recipient: str) -> bool:
        """Record that `recipient` was mailed about reply `reply_id`; False if it already was."""
        ...

    async def was_notified(self, reply_id: str, recipient: str) -> bool:
        """Whether `mark_notified(reply_id, recipient)` has been recorded."""
        ...

    async def unsubscribe(self, comment_id: str) -> bool:
        """Stop reply mails for a comment (notify off); False if there is no such comment."""
        ...

    async def secret(self, name: str) -> str:
        """A named random secret shared by every process, made on first use."""
        ...

    async def put_rules(self, site: str, rules: Rules) -> None:
        """Set a site's auto-moderation rules (StoreError if there is no such site)."""
        ...

    async def rules(self, site: str) -> Rules | None:
        """A site's auto-moderation rules; None if never set (the defaults apply)."""
        ...

    async def queue(self, site: str, limit: int) -> list[CommentRecord]:
        """A site's comments awaiting a moderator, any thread, oldest first, at most `limit`:
        pending ones, and visible ones with a flag."""
        ...

    async def writable(self, lock_wait: float) -> None:
        """Return if a write could start now; else StoreUnavailable saying why (the database
        is locked by another writer for longer than `lock_wait`, its disk is full). For /readyz."""
        ...

    async def remove_moderator(self, site: str, name: str) -> bool:
        """Delete a moderator and so their token; False if the site has no such moderator."""
        ...

    async def address(self, key: str) -> AddressState | None:
        """What is known of a reply-mail address (by its keyed hash); None if never asked."""
        ...

    async def confirmations_sent(self, site: str, since: float) -> int:
        """How many addresses were sent a confirmation mail for `site` at `since` or later."""
        ...

    async def confirmation_sent(self, key: str, site: str, at: float) -> None:
        """Record that the address `key` was sent a confirmation mail for `site` at `at`."""
        ...

    async def confirm_address(self, key: str, at: float) -> bool:
        """Mark the address confirmed at `at` (kept if it already was); False if it already
        was confirmed."""
        ...

    async def forget_address(self, key: str) -> bool:
        """Forget all that is known of the address `key` (its owner asked to be erased): it is
        asked again before any mail. False if nothing was known."""
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

    async def publish_all(self, messages: Sequence[tuple[str, bytes]]) -> bool:
        """Hand several (channel, payload) messages over in order, at the cost of about one
        (Redis: one round trip); False (never an exception) if the transport is unavailable."""
        ...

    async def subscribe(self, channel: str, listener: Listener) -> None: ...

    async def unsubscribe(self, channel: str, listener: Listener) -> None: ...
