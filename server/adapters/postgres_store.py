"""The PostgreSQL store: one database shared by every server process on every host.

`postgres_storage` builds the `Storage` bundle: a `PostgresDatabase` (postgres_database.py: the
asyncpg pool, the migrations of postgres_migrations.py, readiness, and how PostgreSQL's failures
become StoreUnavailable or StoreError) and one small adapter per port, each next to its SQL:

- postgres_threads.py: `Threads`, which holds a thread (its locks, its row) for each
  transaction it opens, a hot thread's transactions committed in groups by postgres_group.py;
  postgres_transaction.py: the `Transaction` (its events, its comments through
  postgres_comments.py, the idempotency answers);
- postgres_events.py: `EventLog` (with the placing of events in the store-wide log), `Cursors`;
- postgres_comments.py: `CommentReads`, `ReviewQueue`;
- postgres_sites.py: `Sites`, `Moderators`, `RuleBook`;
- postgres_audit.py: `Reports`, `AuditLog`;
- postgres_bans.py: `Bans`, `Expiry`;
- postgres_reactions.py: `Reactions`;
- postgres_accounts.py: `SignIns`, `Accounts`;
- postgres_webhooks.py: `WebhookRegistry`, `DeliveryQueue`;
- postgres_notifications.py: `Subscriptions`, `Addresses`, `Secrets`.

Adapters only read and write rows: the seq and bytes of an event, the redaction of a comment's
events, who is in the review queue and what counts are the core's (server/threads/history.py,
server/model.py); the store keeps what it is given.
"""

from __future__ import annotations

from server.adapters.postgres_accounts import PostgresAccounts, PostgresSignIns
from server.adapters.postgres_audit import PostgresAuditLog, PostgresReports
from server.adapters.postgres_bans import PostgresBans, PostgresExpiry
from server.adapters.postgres_comments import PostgresCommentReads, PostgresReviewQueue
from server.adapters.postgres_database import PostgresDatabase
from server.adapters.postgres_events import PostgresEventLog
from server.adapters.postgres_import_runs import PostgresImportRuns
from server.adapters.postgres_imports import PostgresImportCursors, PostgresImportedComments
from server.adapters.postgres_notifications import (
    PostgresAddresses,
    PostgresSecrets,
    PostgresSubscriptions,
)
from server.adapters.postgres_reactions import PostgresReactions
from server.adapters.postgres_sites import PostgresModerators, PostgresRuleBook, PostgresSites
from server.adapters.postgres_threads import PostgresThreads
from server.adapters.postgres_webhooks import PostgresDeliveries, PostgresWebhooks
from server.storage import Storage

__all__ = ["PostgresDatabase", "postgres_storage"]


def postgres_storage(
    url: str, *, pool_size: int = 10, statement_timeout: float = 5.0, group_commit: int = 32
) -> Storage:
    """The PostgreSQL store at `url` (a `postgresql://` DSN), not yet open (`Storage.open`:
    connects and migrates); its `database` is the `PostgresDatabase`.

    `pool_size`: the most connections this process holds (each open thread transaction holds
    one until it commits). `statement_timeout`: the longest a statement, or the wait for a
    pooled connection or a thread's lock, may take before it fails with StoreUnavailable.
    `group_commit`: the most transactions of one thread in this process that share one
    PostgreSQL transaction, one COMMIT (postgres_group.py); 1: each commits alone."""
    db = PostgresDatabase(url, pool_size=pool_size, statement_timeout=statement_timeout)
    return Storage(
        database=db,
        threads=PostgresThreads(db, group_commit=group_commit),
        log=PostgresEventLog(db),
        comments=PostgresCommentReads(db),
        review=PostgresReviewQueue(db),
        rules=PostgresRuleBook(db),
        reports=PostgresReports(db),
        audit=PostgresAuditLog(db),
        bans=PostgresBans(db),
        expiry=PostgresExpiry(db),
        reactions=PostgresReactions(db),
        sites=PostgresSites(db),
        moderators=PostgresModerators(db),
        sign_ins=PostgresSignIns(db),
        accounts=PostgresAccounts(db),
        cursors=PostgresImportCursors(db),
        webhooks=PostgresWebhooks(db),
        deliveries=PostgresDeliveries(db),
        subscriptions=PostgresSubscriptions(db),
        addresses=PostgresAddresses(db),
        secrets=PostgresSecrets(db),
        imports=PostgresImportedComments(db),
        import_runs=PostgresImportRuns(db),
    )
