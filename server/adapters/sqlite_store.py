"""The default store: one SQLite file, shared by every server process on the host.

`sqlite_storage` builds the `Storage` bundle: a `SqliteDatabase` (sqlite_database.py: the
connections, each on its own thread, the group commit, the checks at open) and one small adapter
per port, each next to its SQL:

- sqlite_transaction.py: `Threads` (and the `Transaction` it opens), over sqlite_threads.py
  (a thread's row), sqlite_comments.py, sqlite_events.py and sqlite_idempotency.py;
- sqlite_events.py: `EventLog`, `Cursors`;
- sqlite_comments.py: `CommentReads`, `ReviewQueue`;
- sqlite_sites.py: `Sites`, `Moderators`, `RuleBook`;
- sqlite_audit.py: `Reports`, `AuditLog`;
- sqlite_bans.py: `Bans`, `Expiry`;
- sqlite_reactions.py: `Reactions` (settled by reaction_batches.py);
- sqlite_accounts.py: `SignIns`, `Accounts`;
- sqlite_webhooks.py: `WebhookRegistry`, `DeliveryQueue`;
- sqlite_notifications.py: `Subscriptions`, `Addresses`, `Secrets`.

Adapters only read and write rows: the seq and bytes of an event, the redaction of a comment's
events, who is in the review queue and what counts are the core's (server/threads/history.py,
server/model.py); the store keeps what it is given.
"""

from __future__ import annotations

from server.adapters.sqlite_accounts import SqliteAccounts, SqliteSignIns
from server.adapters.sqlite_audit import SqliteAuditLog, SqliteReports
from server.adapters.sqlite_bans import SqliteBans, SqliteExpiry
from server.adapters.sqlite_comments import SqliteCommentReads, SqliteReviewQueue
from server.adapters.sqlite_database import BUSY_TIMEOUT_MS, Durability, SqliteDatabase
from server.adapters.sqlite_events import SqliteEventLog
from server.adapters.sqlite_import_runs import SqliteImportRuns
from server.adapters.sqlite_imports import SqliteImportCursors, SqliteImportedComments
from server.adapters.sqlite_notifications import (
    SqliteAddresses,
    SqliteSecrets,
    SqliteSubscriptions,
)
from server.adapters.sqlite_reactions import SqliteReactions
from server.adapters.sqlite_sites import SqliteModerators, SqliteRuleBook, SqliteSites
from server.adapters.sqlite_transaction import SqliteThreads
from server.adapters.sqlite_webhooks import SqliteDeliveries, SqliteWebhooks
from server.storage import Storage

__all__ = ["BUSY_TIMEOUT_MS", "Durability", "SqliteDatabase", "sqlite_storage"]


def sqlite_storage(
    path: str, *, group_commit: int = 32, busy_timeout_ms: int = BUSY_TIMEOUT_MS
) -> Storage:
    """The SQLite store on the file at `path`, not yet open (`Storage.open`); its `database` is
    the `SqliteDatabase`.

    `group_commit`: the most transactions of this process committed together (1: each commits
    on its own). `busy_timeout_ms`: how long a write waits for another process's lock before it
    fails with StoreUnavailable."""
    db = SqliteDatabase(path, group_commit=group_commit, busy_timeout_ms=busy_timeout_ms)
    return Storage(
        database=db,
        threads=SqliteThreads(db),
        log=SqliteEventLog(db),
        comments=SqliteCommentReads(db),
        review=SqliteReviewQueue(db),
        rules=SqliteRuleBook(db),
        reports=SqliteReports(db),
        audit=SqliteAuditLog(db),
        bans=SqliteBans(db),
        expiry=SqliteExpiry(db),
        reactions=SqliteReactions(db),
        sites=SqliteSites(db),
        moderators=SqliteModerators(db),
        sign_ins=SqliteSignIns(db),
        accounts=SqliteAccounts(db),
        cursors=SqliteImportCursors(db),
        webhooks=SqliteWebhooks(db),
        deliveries=SqliteDeliveries(db),
        subscriptions=SqliteSubscriptions(db),
        addresses=SqliteAddresses(db),
        secrets=SqliteSecrets(db),
        imports=SqliteImportedComments(db),
        import_runs=SqliteImportRuns(db),
    )
