"""The PostgreSQL schema, as numbered migrations: each runs in one transaction, all of them
under an advisory lock, so ten processes starting together migrate once.

Migration N (1-based) is `MIGRATIONS[N - 1]`. Never edit one that has shipped: append a new one.
The version in force is the `schema_version` table's one row; a database newer than this code
is refused, naming both versions.

The tables are SQLite's (sqlite_migrations.py) in PostgreSQL's types, with one addition: the
event log's store-wide `position` is not taken at insert. Transactions of different threads
commit in any order, so a number drawn at insert could become visible after a larger one a
reader has already passed. Each event row records its transaction (`txid`), and a reader of the
log first places the events whose transactions are older than every transaction still running
(postgres_events.py): they are final, so numbering them in (txid, id) order never puts a new
position below one already read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from server.adapters.postgres_later_migrations import LATER, Migration
from server.storage import StoreError

# Any constant: the key of the session advisory lock every migrating process takes.
LOCK_KEY = 0x6C69766574687264  # "livethrd"

# A pooled connection. Generic only in asyncpg-stubs: at runtime PoolConnectionProxy cannot be
# subscripted.
if TYPE_CHECKING:
    Connection = PoolConnectionProxy[asyncpg.Record]
else:
    Connection = PoolConnectionProxy

MIGRATIONS: tuple[Migration, ...] = (
    (
        # 1: everything SQLite had at its migration 13.
        """
        CREATE TABLE sites (
            name TEXT PRIMARY KEY,
            origins TEXT NOT NULL DEFAULT '[]',
            premoderate BOOLEAN NOT NULL DEFAULT FALSE
        )
        """,
        """
        CREATE TABLE moderators (
            site TEXT NOT NULL REFERENCES sites (name) ON DELETE CASCADE,
            name TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            PRIMARY KEY (site, name)
        )
        """,
        """
        CREATE TABLE rules (
            site TEXT PRIMARY KEY REFERENCES sites (name) ON DELETE CASCADE,
            config TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE threads (
            site TEXT NOT NULL,
            thread TEXT NOT NULL,
            seq BIGINT NOT NULL DEFAULT 0,
            locked BOOLEAN NOT NULL DEFAULT FALSE,
            title TEXT NOT NULL DEFAULT '',
            url TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (site, thread)
        )
        """,
        """
        CREATE TABLE comments (
            id TEXT PRIMARY KEY,
            site TEXT NOT NULL,
            thread TEXT NOT NULL,
            parent TEXT,
            author_name TEXT NOT NULL,
            author_email TEXT,
            author_url TEXT,
            body_source TEXT NOT NULL,
            body_html TEXT NOT NULL,
            status TEXT NOT NULL
                CHECK (status IN ('visible', 'pending', 'removed', 'deleted')),
            created_at DOUBLE PRECISION NOT NULL,
            edited_at DOUBLE PRECISION,
            edit_token_hash TEXT,
            pinned BOOLEAN NOT NULL DEFAULT FALSE,
            reason TEXT,
            notify BOOLEAN NOT NULL DEFAULT FALSE,
            flag TEXT,
            decided_by TEXT,
            pending_body_source TEXT,
            pending_body_html TEXT,
            -- The core's answers (model.in_review, model.counted), kept beside the row.
            in_review BOOLEAN NOT NULL DEFAULT FALSE,
            counted BOOLEAN NOT NULL DEFAULT FALSE
        )
        """,
        "CREATE INDEX comments_by_thread ON comments (site, thread, created_at, id)",
        "CREATE INDEX comments_by_parent ON comments (parent)",
        "CREATE INDEX comments_by_email ON comments (lower(author_email))",
        "CREATE INDEX comments_queue ON comments (site, created_at) WHERE in_review",
        """
        CREATE TABLE events (
            -- Insert order: the tiebreak between events of one transaction.
            id BIGSERIAL PRIMARY KEY,
            -- The writing transaction, by which the log's reader orders and places events.
            txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
            -- The store-wide position, set once the event is placed (see the module's doc).
            position BIGINT UNIQUE,
            site TEXT NOT NULL,
            thread TEXT NOT NULL,
            seq BIGINT NOT NULL,
            type TEXT NOT NULL,
            comment_id TEXT,
            payload BYTEA NOT NULL,
            UNIQUE (site, thread, seq)
        )
        """,
        "CREATE INDEX events_unplaced ON events (txid, id) WHERE position IS NULL",
        "CREATE INDEX events_by_comment ON events (comment_id)",
        """
        CREATE TABLE idempotency (
            site TEXT NOT NULL,
            key TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            status INTEGER NOT NULL,
            body BYTEA NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            comment_id TEXT,
            PRIMARY KEY (site, key)
        )
        """,
        "CREATE INDEX idempotency_by_comment ON idempotency (site, comment_id)",
        "CREATE INDEX idempotency_by_age ON idempotency (created_at)",
        """
        CREATE TABLE cursors (
            name TEXT PRIMARY KEY,
            position BIGINT NOT NULL DEFAULT 0,
            owner TEXT,
            lease_until DOUBLE PRECISION NOT NULL DEFAULT 0
        )
        """,
        """
        CREATE TABLE webhooks (
            id TEXT PRIMARY KEY,
            site TEXT NOT NULL REFERENCES sites (name) ON DELETE CASCADE,
            url TEXT NOT NULL,
            secret TEXT NOT NULL,
            events TEXT NOT NULL DEFAULT '[]'
        )
        """,
        "CREATE INDEX webhooks_by_site ON webhooks (site)",
        """
        CREATE TABLE deliveries (
            id TEXT PRIMARY KEY,
            webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
            position BIGINT NOT NULL,
            site TEXT NOT NULL,
            thread TEXT NOT NULL,
            payload BYTEA NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_at DOUBLE PRECISION NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sent', 'parked')),
            last_error TEXT
        )
        """,
        "CREATE INDEX deliveries_due ON deliveries (next_at, position) WHERE status = 'pending'",
        "CREATE INDEX deliveries_by_status ON deliveries (status, position)",
        "CREATE INDEX deliveries_by_position ON deliveries (position)",
        "CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id)",
        """
        CREATE TABLE notifications_sent (
            reply_id TEXT NOT NULL,
            recipient TEXT NOT NULL,
            PRIMARY KEY (reply_id, recipient)
        )
        """,
        "CREATE TABLE secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """
        CREATE TABLE mail_addresses (
            key TEXT PRIMARY KEY,
            site TEXT,
            requested_at DOUBLE PRECISION,
            confirmed_at DOUBLE PRECISION
        )
        """,
        "CREATE INDEX mail_addresses_by_request ON mail_addresses (site, requested_at)",
    ),
    (
        # 2: single sign-on, as SQLite's migration 14: a signed-in author's account (private;
        # indexed per site for bans by account), public key and avatar on each comment; each
        # site's sign-in settings (roles: a JSON list, as SQLite keeps them, so a row copies
        # between stores as it is); the accounts seen, their names' skeletons indexed.
        "ALTER TABLE comments ADD COLUMN account TEXT",
        "ALTER TABLE comments ADD COLUMN author_key TEXT",
        "ALTER TABLE comments ADD COLUMN author_avatar TEXT",
        "CREATE INDEX comments_by_account ON comments (site, account)",
        """
        CREATE TABLE sign_ins (
            site TEXT PRIMARY KEY REFERENCES sites (name) ON DELETE CASCADE,
            policy TEXT NOT NULL CHECK (policy IN ('anonymous', 'accounts', 'both')),
            audience TEXT NOT NULL,
            issuer TEXT,
            secret TEXT,
            public_key TEXT,
            jwks_url TEXT,
            roles TEXT NOT NULL DEFAULT '[]'
        )
        """,
        """
        CREATE TABLE accounts (
            site TEXT NOT NULL REFERENCES sites (name) ON DELETE CASCADE,
            id TEXT NOT NULL,
            name TEXT NOT NULL,
            skeleton TEXT NOT NULL,
            email TEXT,
            avatar TEXT,
            roles TEXT NOT NULL DEFAULT '[]',
            first_seen DOUBLE PRECISION NOT NULL,
            last_seen DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (site, id)
        )
        """,
        "CREATE INDEX accounts_by_skeleton ON accounts (site, skeleton)",
    ),
    (
        # 3: readers' reports and the audit log, as SQLite's migration 15. An audit row
        # written with its id (`livethread copy`) moves the ids' sequence past it, so the
        # entries appended after a copy do not collide with the copied ones: the trigger does
        # it for any writer, and only when the id is above what the sequence has given (an
        # id the sequence gave itself never moves it, whatever the commit order).
        """
        CREATE TABLE reports (
            site TEXT NOT NULL,
            thread TEXT NOT NULL,
            comment_id TEXT NOT NULL REFERENCES comments (id),
            reporter TEXT NOT NULL,
            reason TEXT NOT NULL CHECK (reason IN ('spam', 'abuse', 'off_topic', 'other')),
            text TEXT,
            at DOUBLE PRECISION NOT NULL,
            UNIQUE (comment_id, reporter)
        )
        """,
        """
        CREATE TABLE audit (
            id BIGSERIAL PRIMARY KEY,
            site TEXT NOT NULL,
            at DOUBLE PRECISION NOT NULL,
            by TEXT NOT NULL,
            action TEXT NOT NULL,
            thread TEXT,
            comment_id TEXT,
            subject TEXT,
            reason TEXT
        )
        """,
        "CREATE INDEX audit_by_site ON audit (site, id)",
        "CREATE INDEX audit_by_comment ON audit (comment_id, id)",
        """
        CREATE FUNCTION audit_ids_follow() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            top BIGINT;
        BEGIN
            SELECT max(id) INTO top FROM added;
            PERFORM setval('audit_id_seq', top) FROM audit_id_seq
            WHERE top > last_value OR NOT is_called;
            RETURN NULL;
        END
        $$
        """,
        """
        CREATE TRIGGER audit_ids_follow AFTER INSERT ON audit
        REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION audit_ids_follow()
        """,
    ),
    (
        # 4: roles and badges, as SQLite's migration 16. The badges are JSON text, not JSONB,
        # so both stores keep the same bytes (postgres_comments.badges_text).
        "ALTER TABLE moderators ADD COLUMN role TEXT NOT NULL DEFAULT 'moderator' "
        "CHECK (role IN ('moderator', 'admin'))",
        "ALTER TABLE threads ADD COLUMN byline TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE comments ADD COLUMN author_badges TEXT NOT NULL DEFAULT '[]'",
    ),
    (
        # 5: bans, as SQLite's migration 17: one per site, key and value (a new ban on the same
        # person replaces the row under a new id), looked up by that key on every post; each
        # comment's address hash and whether it was posted under a shadow-ban. A person's
        # comments are found within a site by account (comments_by_account), and now by email
        # (on lower()) and by address hash. A ban written with its id
        # (`livethread copy`) moves the ids' sequence past it, as migration 3's trigger does
        # for the audit log.
        """
        CREATE TABLE bans (
            id BIGSERIAL PRIMARY KEY,
            site TEXT NOT NULL,
            key TEXT NOT NULL CHECK (key IN ('account', 'email', 'address')),
            value TEXT NOT NULL,
            mode TEXT NOT NULL CHECK (mode IN ('ban', 'suspend', 'shadow')),
            until DOUBLE PRECISION,
            reason TEXT,
            by TEXT NOT NULL,
            at DOUBLE PRECISION NOT NULL,
            label TEXT NOT NULL DEFAULT '',
            UNIQUE (site, key, value)
        )
        """,
        "CREATE INDEX bans_by_site ON bans (site, id)",
        "CREATE INDEX bans_by_end ON bans (until) WHERE until IS NOT NULL",
        """
        CREATE FUNCTION bans_ids_follow() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            top BIGINT;
        BEGIN
            SELECT max(id) INTO top FROM added;
            PERFORM setval('bans_id_seq', top) FROM bans_id_seq
            WHERE top > last_value OR NOT is_called;
            RETURN NULL;
        END
        $$
        """,
        """
        CREATE TRIGGER bans_ids_follow AFTER INSERT ON bans
        REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION bans_ids_follow()
        """,
        "ALTER TABLE comments ADD COLUMN author_address TEXT",
        "ALTER TABLE comments ADD COLUMN shadow BOOLEAN NOT NULL DEFAULT FALSE",
        "CREATE INDEX comments_by_address ON comments (site, author_address)",
        "CREATE INDEX comments_by_site_email ON comments (site, lower(author_email))",
        """
        CREATE INDEX comments_with_address ON comments (created_at)
        WHERE author_address IS NOT NULL
        """,
        """
        CREATE INDEX comments_shadowed ON comments (site, thread, created_at, id)
        WHERE shadow AND status = 'pending'
        """,
    ),
    (
        # 6: readers' reactions, as SQLite's migration 18.
        "CREATE TABLE reactions (comment_id TEXT NOT NULL, reader TEXT NOT NULL, "
        "kind TEXT NOT NULL CHECK (kind IN ('like', 'love', 'laugh', 'wow', 'sad')), "
        "site TEXT NOT NULL, thread TEXT NOT NULL, PRIMARY KEY (comment_id, reader, kind))",
        "CREATE INDEX reactions_by_reader ON reactions (site, thread, reader)",
        "CREATE TABLE reaction_counts (comment_id TEXT NOT NULL, kind TEXT NOT NULL "
        "CHECK (kind IN ('like', 'love', 'laugh', 'wow', 'sad')), "
        "n BIGINT NOT NULL CHECK (n >= 0), PRIMARY KEY (comment_id, kind))",
        "CREATE TABLE reaction_versions (comment_id TEXT PRIMARY KEY, site TEXT NOT NULL, "
        "thread TEXT NOT NULL, version BIGINT NOT NULL CHECK (version >= 0))",
        "CREATE INDEX reaction_versions_by_thread ON reaction_versions (site, thread)",
    ),
    (
        # 7: feeds, as SQLite's migration 19, and a thread's twin (ids in byte order, as read).
        'CREATE INDEX comments_visible ON comments (site, created_at, id COLLATE "C") '
        "WHERE status = 'visible'",
        "CREATE INDEX comments_visible_by_thread ON comments "
        "(site, thread, created_at, id COLLATE \"C\") WHERE status = 'visible'",
    ),
    *LATER,
)

LATEST = len(MIGRATIONS)


class SchemaTooNew(StoreError):
    """The database was migrated by a newer livethread than this one."""


async def version(conn: Connection) -> int:
    """The schema version in force (0 for a database livethread never migrated)."""
    found = await conn.fetchval("SELECT to_regclass('schema_version') IS NOT NULL")
    if not found:
        return 0
    value = await conn.fetchval("SELECT version FROM schema_version")
    return int(value or 0)


async def migrate(conn: Connection) -> int:
    """Apply the pending migrations, each in its own transaction, under the advisory lock;
    returns the version now in force. Refuses (SchemaTooNew) a database newer than the code."""
    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    try:
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = await version(conn)
        if current > LATEST:
            raise SchemaTooNew(
                f"the PostgreSQL database is at schema version {current}, newer than this "
                f"livethread knows ({LATEST}): run the newer livethread, or restore a backup"
            )
        for number in range(current + 1, LATEST + 1):
            async with conn.transaction():
                for statement in MIGRATIONS[number - 1]:
                    await conn.execute(statement)
                await conn.execute("DELETE FROM schema_version")
                await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", number)
        return max(current, LATEST)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
