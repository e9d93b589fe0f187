"""The storage a deployment runs on: one narrow port per concern, bundled.

Each port lives with the room that uses it and states its own guarantee (server/threads,
server/moderation, server/reactions, server/sites, server/accounts, server/importing,
workers/cursors.py, workers/webhooks, workers/notifications).
A store is an adapter per port plus a `Database` that opens and closes them together; the
composition root builds the bundle and hands each use-case only the ports it needs. Every port
has an in-memory twin, and `tests/contract/` runs one suite per port against every store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from server.accounts.ports import Accounts, SignIns
from server.importing.ports import ImportedComments, ImportRuns
from server.moderation.ports import AuditLog, Bans, Expiry, Reports, ReviewQueue, RuleBook
from server.reactions.ports import Reactions
from server.sites.ports import Moderators, Sites
from server.threads.ports import CommentReads, EventLog, Threads
from workers.cursors import Cursors
from workers.notifications.ports import Addresses, Subscriptions
from workers.webhooks.ports import DeliveryQueue, WebhookRegistry


class StoreError(Exception):
    """The store could not do what was asked (a conflict, a missing row)."""


class StoreUnavailable(StoreError):
    """The store cannot write now, through no fault of the request: the database stayed locked
    past its busy timeout, the disk is full, or an I/O error. Worth retrying later (503)."""


class Database(Protocol):
    """The connection every port of one store shares."""

    async def open(self) -> None:
        """Connect, apply migrations, and check durability settings."""
        ...

    async def close(self) -> None:
        """Let a transaction in progress finish, then disconnect."""
        ...

    async def migrate(self) -> int:
        """Apply pending schema migrations; returns the schema version now in force (0 for a
        store without a schema)."""
        ...

    async def writable(self, lock_wait: float) -> None:
        """Return if a write could start now; else StoreUnavailable saying why (the database
        is locked by another writer for longer than `lock_wait`, its disk is full). For
        /readyz; writes nothing."""
        ...


class Secrets(Protocol):
    """Named random secrets shared by every process of a deployment."""

    async def get(self, name: str) -> str:
        """The secret called `name`, made on first use; every caller, in any process, gets
        the same one."""
        ...


@dataclass(frozen=True, kw_only=True)
class Storage:
    """One store's ports. Built by the composition root; each use-case takes what it needs."""

    database: Database
    threads: Threads
    log: EventLog
    comments: CommentReads
    review: ReviewQueue
    rules: RuleBook
    reports: Reports
    audit: AuditLog
    bans: Bans
    expiry: Expiry
    reactions: Reactions
    sites: Sites
    moderators: Moderators
    sign_ins: SignIns
    accounts: Accounts
    cursors: Cursors
    webhooks: WebhookRegistry
    deliveries: DeliveryQueue
    subscriptions: Subscriptions
    addresses: Addresses
    secrets: Secrets
    imports: ImportedComments
    import_runs: ImportRuns

    async def open(self) -> None:
        await self.database.open()

    async def close(self) -> None:
        await self.database.close()
