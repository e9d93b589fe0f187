"""The in-memory store: `memory_storage()` builds a `Storage` of in-memory ports, for tests, the
demo and `--database memory:`.

Every port is a small class over one shared `Tables` (memory_tables.py), in the module of its
room: memory_threads.py (threads, log, comments; transactions in memory_transaction.py),
memory_moderation.py, memory_audit.py, memory_bans.py, memory_reactions.py, memory_sites.py,
memory_accounts.py, memory_webhooks.py, memory_notifications.py; the database, the secrets and
the workers' cursors are here. They keep the SQLite store's promises (atomic transactions, one
writer per thread, positions in commit order) so the contract suite holds both to one standard.
Nothing survives the process.
"""

from __future__ import annotations

import secrets

from server.adapters.memory_accounts import MemoryAccounts, MemorySignIns
from server.adapters.memory_audit import MemoryAuditLog, MemoryReports
from server.adapters.memory_bans import MemoryBans, MemoryExpiry
from server.adapters.memory_import_runs import MemoryImportRuns
from server.adapters.memory_imports import MemoryImportedComments, passed_over
from server.adapters.memory_moderation import MemoryReviewQueue, MemoryRuleBook
from server.adapters.memory_notifications import MemoryAddresses, MemorySubscriptions
from server.adapters.memory_reactions import MemoryReactions
from server.adapters.memory_sites import MemoryModerators, MemorySites
from server.adapters.memory_tables import Tables
from server.adapters.memory_threads import MemoryComments, MemoryEventLog, MemoryThreads
from server.adapters.memory_webhooks import MemoryDeliveries, MemoryWebhooks
from server.storage import Storage


class MemoryDatabase:
    """`Database`: nothing to connect, migrate or wait for. Holds the store's tables, which
    every in-memory port shares (and its archive reads)."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def migrate(self) -> int:
        """No schema: the twin of the SQLite store's `migrate`."""
        return 0

    async def writable(self, lock_wait: float) -> None:
        """Memory is always writable: the twin of the SQLite store's `writable`."""
        return None


class MemorySecrets:
    """`Secrets`: made on first use, shared by everything holding this store."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def get(self, name: str) -> str:
        return self._tables.secrets.setdefault(name, secrets.token_urlsafe(32))


class MemoryCursors:
    """`Cursors`: each log reader's position and lease."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def position(self, name: str) -> int:
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

    async def passed_over(self, after: int, upto: int) -> set[int]:
        return passed_over(self._tables, after, upto)


def memory_storage() -> Storage:
    """A fresh, empty in-memory store: every port over one set of tables."""
    tables = Tables()
    return Storage(
        database=MemoryDatabase(tables),
        threads=MemoryThreads(tables),
        log=MemoryEventLog(tables),
        comments=MemoryComments(tables),
        review=MemoryReviewQueue(tables),
        rules=MemoryRuleBook(tables),
        reports=MemoryReports(tables),
        audit=MemoryAuditLog(tables),
        bans=MemoryBans(tables),
        expiry=MemoryExpiry(tables),
        reactions=MemoryReactions(tables),
        sites=MemorySites(tables),
        moderators=MemoryModerators(tables),
        sign_ins=MemorySignIns(tables),
        accounts=MemoryAccounts(tables),
        cursors=MemoryCursors(tables),
        webhooks=MemoryWebhooks(tables),
        deliveries=MemoryDeliveries(tables),
        subscriptions=MemorySubscriptions(tables),
        addresses=MemoryAddresses(tables),
        secrets=MemorySecrets(tables),
        imports=MemoryImportedComments(tables),
        import_runs=MemoryImportRuns(tables),
    )
