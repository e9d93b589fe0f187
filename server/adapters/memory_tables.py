"""The in-memory store's tables: SQLite's tables as dicts, with the indexes SQLite gives for free.

Each field stands for a table of sqlite_migrations.py, or for an index of one (`tokens`,
`comment_thread`, `positions`, `skeletons`, `audit_ids`, `ban_ids`, `reacted`), keyed as that
table is, so every port of the in-memory store (memory_store.py builds them all on one
`Tables`) finds rows the way the SQL does. `locks` stands for the database's write lock, one per
thread.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left, insort
from dataclasses import dataclass, field
from typing import NamedTuple

import msgspec

from server.accounts.ports import Account, SignIn
from server.events import EventType
from server.importing.ports import ImportRun
from server.model import CommentRecord, Moderator, Site, ThreadKey, ThreadState
from server.moderation.ports import AuditEntry, Ban, BanKey, Report
from server.moderation.rules import Rules
from server.reactions.ports import ReactionKind
from server.threads.ports import IdempotentAnswer
from workers.notifications.ports import AddressState
from workers.webhooks.ports import Delivery, Webhook


class EventRow(NamedTuple):
    """A stored event: its seq, its type and comment (for `events_of`), and its bytes."""

    seq: int
    type: EventType
    comment_id: str | None
    payload: bytes


class SeenAccount(NamedTuple):
    """A row of `accounts`: the account as last seen, its name's skeleton, and when it was
    first and last seen."""

    account: Account
    skeleton: str
    first_seen: float
    last_seen: float


@dataclass
class Tables:
    sites: dict[str, Site] = field(default_factory=dict)
    # Token hash -> moderator, for authentication; `tokens` ((site, name) -> token hash) lets
    # a new token retire the old one, as the SQLite table's (site, name) key does.
    moderators: dict[str, Moderator] = field(default_factory=dict)
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)
    threads: dict[ThreadKey, ThreadState] = field(default_factory=dict)
    comments: dict[ThreadKey, dict[str, CommentRecord]] = field(default_factory=dict)
    comment_thread: dict[str, ThreadKey] = field(default_factory=dict)
    # Each thread's events by seq (seqs only grow, so the list stays sorted).
    events: dict[ThreadKey, list[EventRow]] = field(default_factory=dict)
    # (site, hashed idempotency key) -> answer.
    answers: dict[tuple[str, str], IdempotentAnswer] = field(default_factory=dict)
    # The store-wide log: (thread, seq) in commit order; position n sits at index n - 1.
    # Payloads are read from `events` so a rewrite shows through here too.
    log: list[tuple[ThreadKey, int]] = field(default_factory=list)
    # Log readers: name -> (position, owner, lease until).
    cursors: dict[str, tuple[int, str | None, float]] = field(default_factory=dict)
    # (thread, seq) -> position, so a rewrite can find the webhook deliveries of its events.
    positions: dict[tuple[ThreadKey, int], int] = field(default_factory=dict)
    webhooks: dict[str, Webhook] = field(default_factory=dict)
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    notified: set[tuple[str, str]] = field(default_factory=set)
    # Reply-mail addresses by keyed hash, and the site of each one's last confirmation mail.
    addresses: dict[str, AddressState] = field(default_factory=dict)
    address_sites: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    rules: dict[str, Rules] = field(default_factory=dict)
    sign_ins: dict[str, SignIn] = field(default_factory=dict)
    # (site, account id) -> the account; `skeletons` ((site, skeleton) -> account ids) stands
    # for the index `accounts_by_skeleton`.
    accounts: dict[tuple[str, str], SeenAccount] = field(default_factory=dict)
    skeletons: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    # (comment id, reporter) -> the report: the SQL's unique key.
    reports: dict[tuple[str, str], Report] = field(default_factory=dict)
    # The audit log by id; `audit_ids` (every id, ascending) stands for the index on id, and
    # `audit_last` for AUTOINCREMENT's memory of the largest id ever given.
    audit: dict[int, AuditEntry] = field(default_factory=dict)
    audit_ids: list[int] = field(default_factory=list)
    audit_last: int = 0
    # Bans by id; `ban_ids` ((site, key, value) -> id) stands for the UNIQUE key, and `bans_last`
    # for AUTOINCREMENT's largest id ever given.
    bans: dict[int, Ban] = field(default_factory=dict)
    ban_ids: dict[tuple[str, BanKey, str], int] = field(default_factory=dict)
    bans_last: int = 0
    # Readers' reactions: (comment id, reader, kind) -> its thread, for each in effect;
    # (comment id, kind) -> count; comment id -> (thread, version); and `reacted` (thread ->
    # comment ids) standing for the index reaction_versions_by_thread.
    reactions: dict[tuple[str, str, ReactionKind], ThreadKey] = field(default_factory=dict)
    reaction_counts: dict[tuple[str, ReactionKind], int] = field(default_factory=dict)
    reaction_versions: dict[str, tuple[ThreadKey, int]] = field(default_factory=dict)
    reacted: dict[ThreadKey, set[str]] = field(default_factory=dict)
    # Imports: (site, source format, source id) -> comment id; and every such comment id.
    imported: dict[tuple[str, str, str], str] = field(default_factory=dict)
    imported_ids: set[str] = field(default_factory=set)
    # Import runs by id (server/importing/ports.py `ImportRuns`).
    import_runs: dict[str, ImportRun] = field(default_factory=dict)
    # Each thread's write lock, held by its transaction and by the writes that must not
    # interleave with one (`set_meta`, `unsubscribe`).
    locks: dict[ThreadKey, asyncio.Lock] = field(default_factory=dict)

    def lock(self, key: ThreadKey) -> asyncio.Lock:
        found = self.locks.get(key)
        if found is None:
            found = self.locks[key] = asyncio.Lock()
        return found

    def state(self, key: ThreadKey) -> ThreadState:
        """The thread's committed state (seq 0, unlocked, no metadata if never written to)."""
        return self.threads.get(key, ThreadState(site=key.site, thread=key.thread))

    def keep_audit(self, entry: AuditEntry) -> AuditEntry:
        """Add an entry to the audit log: with the next id if it has none (0), else with its
        own (a copied one), which later ids then follow."""
        if entry.id == 0:
            entry = msgspec.structs.replace(entry, id=self.audit_last + 1)
        self.audit[entry.id] = entry
        insort(self.audit_ids, entry.id)
        self.audit_last = max(self.audit_last, entry.id)
        return entry

    def keep_ban(self, ban: Ban) -> Ban:
        """Add a ban in place of the site's ban on the same person, if any: with the next id if
        it has none (0), else with its own (a copied one), which later ids then follow."""
        if ban.id == 0:
            ban = msgspec.structs.replace(ban, id=self.bans_last + 1)
        person = (ban.site, ban.key, ban.value)
        replaced = self.ban_ids.get(person)
        if replaced is not None:
            del self.bans[replaced]
        self.bans[ban.id] = ban
        self.ban_ids[person] = ban.id
        self.bans_last = max(self.bans_last, ban.id)
        return ban

    def drop_ban(self, ban_id: int) -> Ban:
        ban = self.bans.pop(ban_id)
        del self.ban_ids[(ban.site, ban.key, ban.value)]
        return ban

    def event(self, key: ThreadKey, seq: int) -> EventRow | None:
        """The thread's committed event at `seq`, if any."""
        return find_seq(self.events.get(key, []), seq)


def find_seq(rows: list[EventRow], seq: int) -> EventRow | None:
    """The row at `seq` in rows sorted by seq, if any."""
    index = seq_index(rows, seq)
    return None if index is None else rows[index]


def seq_index(rows: list[EventRow], seq: int) -> int | None:
    """Where the row at `seq` sits in rows sorted by seq, if there is one."""
    index = bisect_left(rows, seq, key=lambda row: row.seq)
    return index if index < len(rows) and rows[index].seq == seq else None
