"""The in-memory store's tables: SQLite's tables as dicts, with the indexes SQLite gives for free.

Each field stands for a table of sqlite_migrations.py, or for an index of one (`tokens`,
`comment_thread`, `positions`), keyed as that table is, so MemoryStore and MemoryTransaction,
which share one instance, find rows the way the SQL does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from server.model import CommentRecord, Moderator, Site, ThreadState
from server.ports import AddressState, Delivery, IdempotentAnswer, Webhook
from server.rules import Rules

_Key = tuple[str, str]


class EventRow(NamedTuple):
    seq: int
    comment_id: str | None
    payload: bytes


@dataclass
class Tables:
    sites: dict[str, Site] = field(default_factory=dict)
    # Token hash -> moderator, for authentication; `tokens` ((site, name) -> token hash) lets
    # a new token retire the old one, as the SQLite table's (site, name) key does.
    moderators: dict[str, Moderator] = field(default_factory=dict)
    tokens: dict[_Key, str] = field(default_factory=dict)
    threads: dict[_Key, ThreadState] = field(default_factory=dict)
    comments: dict[_Key, dict[str, CommentRecord]] = field(default_factory=dict)
    comment_thread: dict[str, _Key] = field(default_factory=dict)
    events: dict[_Key, list[EventRow]] = field(default_factory=dict)
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
    # Reply-mail addresses by keyed hash, and the site of each one's last confirmation mail.
    addresses: dict[str, AddressState] = field(default_factory=dict)
    address_sites: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    rules: dict[str, Rules] = field(default_factory=dict)
