"""The SQLite schema's first thirteen migrations, as they shipped: the schema PostgreSQL's
migration 1 starts from (postgres_migrations.py). sqlite_migrations.py goes on from them, and
numbers them all.

Never edit one: every database, however old, reaches the same schema by the same steps.
"""

from __future__ import annotations

# One migration: single statements rather than one script, because `executescript` would commit
# the transaction that makes a migration all-or-nothing.
Migration = tuple[str, ...]

BASELINE: tuple[Migration, ...] = (
    (
        """
        CREATE TABLE sites (
            name TEXT PRIMARY KEY,
            origins TEXT NOT NULL DEFAULT '[]',
            premoderate INTEGER NOT NULL DEFAULT 0
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
        CREATE TABLE threads (
            site TEXT NOT NULL,
            thread TEXT NOT NULL,
            seq INTEGER NOT NULL DEFAULT 0,
            locked INTEGER NOT NULL DEFAULT 0,
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
            created_at REAL NOT NULL,
            edited_at REAL,
            edit_token_hash TEXT,
            pinned INTEGER NOT NULL DEFAULT 0,
            reason TEXT
        )
        """,
        "CREATE INDEX comments_by_thread ON comments (site, thread, created_at)",
        # has_replies() asks this on every author delete and moderator removal.
        "CREATE INDEX comments_by_parent ON comments (parent)",
        """
        CREATE TABLE events (
            site TEXT NOT NULL,
            thread TEXT NOT NULL,
            seq INTEGER NOT NULL,
            type TEXT NOT NULL,
            comment_id TEXT,
            payload BLOB NOT NULL,
            PRIMARY KEY (site, thread, seq)
        )
        """,
        "CREATE INDEX events_by_comment ON events (comment_id)",
        """
        CREATE TABLE idempotency (
            site TEXT NOT NULL,
            key TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            status INTEGER NOT NULL,
            body BLOB NOT NULL,
            -- Kept so old keys can be pruned; answers are never read by age.
            created_at REAL NOT NULL,
            PRIMARY KEY (site, key)
        )
        """,
    ),
    (
        # 2: a store-wide position on every event, in commit order (SQLite has one writer, so
        # AUTOINCREMENT order is commit order), for readers of the whole log: the hub's tail
        # check and the workers' cursors. AUTOINCREMENT, unlike a plain rowid, never reuses a
        # position, even after the newest rows are deleted.
        """
        CREATE TABLE events_v2 (
            position INTEGER PRIMARY KEY AUTOINCREMENT,
            site TEXT NOT NULL,
            thread TEXT NOT NULL,
            seq INTEGER NOT NULL,
            type TEXT NOT NULL,
            comment_id TEXT,
            payload BLOB NOT NULL,
            UNIQUE (site, thread, seq)
        )
        """,
        """
        INSERT INTO events_v2 (site, thread, seq, type, comment_id, payload)
        SELECT site, thread, seq, type, comment_id, payload FROM events ORDER BY rowid
        """,
        "DROP TABLE events",
        "ALTER TABLE events_v2 RENAME TO events",
        "CREATE INDEX events_by_comment ON events (comment_id)",
    ),
    (
        # 3: a person's comments by email, for `livethread user export|delete EMAIL`.
        "CREATE INDEX comments_by_email ON comments (author_email COLLATE NOCASE)",
    ),
    (
        # 4: readers of the event log (workers): a committed position and a lease each.
        """
        CREATE TABLE cursors (
            name TEXT PRIMARY KEY,
            position INTEGER NOT NULL DEFAULT 0,
            owner TEXT,
            lease_until REAL NOT NULL DEFAULT 0
        )
        """,
    ),
    (
        # 5: webhooks (per site, subscribed to event types) and their deliveries, one per
        # webhook and event, id "WEBHOOK:POSITION" so queueing one twice changes nothing.
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
            position INTEGER NOT NULL,
            site TEXT NOT NULL,
            thread TEXT NOT NULL,
            payload BLOB NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_at REAL NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sent', 'parked')),
            last_error TEXT
        )
        """,
        # The sender's question ("what is due?") reads only pending rows, in due order.
        "CREATE INDEX deliveries_due ON deliveries (next_at, position) WHERE status = 'pending'",
        "CREATE INDEX deliveries_by_status ON deliveries (status, position)",
        # A redaction rewrites the deliveries of the events it rewrites; removing a webhook
        # deletes its deliveries.
        "CREATE INDEX deliveries_by_position ON deliveries (position)",
        "CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id)",
    ),
    (
        # 6: reply notifications: who asked to be emailed, the mails already sent (one per
        # reply and recipient, so a worker handling an event twice mails once), and secrets
        # generated on first use (e.g. the unsubscribe-token key) that every process shares.
        "ALTER TABLE comments ADD COLUMN notify INTEGER NOT NULL DEFAULT 0",
        """
        CREATE TABLE notifications_sent (
            reply_id TEXT NOT NULL,
            recipient TEXT NOT NULL,
            PRIMARY KEY (reply_id, recipient)
        )
        """,
        "CREATE TABLE secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
    (
        # 7: auto-moderation. A site's rules as one JSON document (a rule added later is a
        # field with a default, so no migration per rule); why a visible comment is flagged
        # and who made the last decision on a comment; and the moderators' queue (held or
        # flagged comments of a site), which a partial index keeps cheap to read.
        """
        CREATE TABLE rules (
            site TEXT PRIMARY KEY REFERENCES sites (name) ON DELETE CASCADE,
            config TEXT NOT NULL
        )
        """,
        "ALTER TABLE comments ADD COLUMN flag TEXT",
        "ALTER TABLE comments ADD COLUMN decided_by TEXT",
        """
        CREATE INDEX comments_queue ON comments (site, created_at)
        WHERE status = 'pending' OR (status = 'visible' AND flag IS NOT NULL)
        """,
    ),
    (
        # 8: idempotency answers expire and are erased with their comment. Each answer names
        # the comment it holds (read back from the answers already kept); the answers of
        # comments erased before this version are forgotten, since they still hold the text;
        # and answers are pruned by age, which an index keeps cheap.
        "ALTER TABLE idempotency ADD COLUMN comment_id TEXT",
        "UPDATE idempotency SET comment_id = json_extract(CAST(body AS TEXT), '$.comment.id')",
        """
        DELETE FROM idempotency
        WHERE comment_id IN (SELECT id FROM comments WHERE status = 'deleted')
        """,
        "CREATE INDEX idempotency_by_comment ON idempotency (site, comment_id)",
        "CREATE INDEX idempotency_by_age ON idempotency (created_at)",
    ),
    (
        # 9: a thread's comments come out of the index in the snapshot's order (created_at,
        # then id), so reading a long thread needs no sort.
        "DROP INDEX comments_by_thread",
        "CREATE INDEX comments_by_thread ON comments (site, thread, created_at, id)",
    ),
    (
        # 10: edits pass auto-moderation (issue 13): an author's edit of a published comment
        # may wait for a moderator beside the published text, and the queue (whose partial
        # index is rebuilt with the new condition) holds such comments too.
        "ALTER TABLE comments ADD COLUMN pending_body_source TEXT",
        "ALTER TABLE comments ADD COLUMN pending_body_html TEXT",
        "DROP INDEX comments_queue",
        """
        CREATE INDEX comments_queue ON comments (site, created_at)
        WHERE status = 'pending' OR (status = 'visible'
        AND (flag IS NOT NULL OR pending_body_html IS NOT NULL))
        """,
        # Idempotency keys are kept only as their SHA-256 (a keyed post's edit token is
        # derived from the key: server/threads/idempotency.py), and answers without their edit
        # token: a retry of an answer kept before this version gets its comment with no token.
        "UPDATE idempotency SET key = livethread_sha256(key)",
        """
        UPDATE idempotency
        SET body = CAST(json_remove(CAST(body AS TEXT), '$.edit_token') AS BLOB)
        """,
    ),
    (
        # 11: reply-mail double opt-in. One row per address that asked for reply mail, keyed
        # by the address's keyed hash (HMAC-SHA256 under the signing secret; never the address
        # itself): when its last confirmation mail went out and for which site (for the
        # per-address and per-site limits), and when it was confirmed.
        """
        CREATE TABLE mail_addresses (
            key TEXT PRIMARY KEY,
            site TEXT,
            requested_at REAL,
            confirmed_at REAL
        )
        """,
        "CREATE INDEX mail_addresses_by_request ON mail_addresses (site, requested_at)",
    ),
    (
        # 12: thread metadata. The article's title and URL ('' while not known), for reply
        # mails (and feeds) to name the thread and link to the article (server/threads/meta.py).
        "ALTER TABLE threads ADD COLUMN title TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE threads ADD COLUMN url TEXT NOT NULL DEFAULT ''",
    ),
    (
        # 13: the review queue's and the comment count's rules leave the SQL (issue 14). Each
        # row keeps the core's answers, `model.in_review` and `model.counted`, written with the
        # row by every insert and update; the queue and the counts only read them back. The
        # backfill below restates the rules once, for the rows written before this version
        # (as migration 10's index stated them); from now on the core decides and the store
        # keeps its answers. The queue's partial index is rebuilt on the kept answer.
        "ALTER TABLE comments ADD COLUMN in_review INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE comments ADD COLUMN counted INTEGER NOT NULL DEFAULT 0",
        """
        UPDATE comments SET
            in_review = (status = 'pending' OR (status = 'visible'
                AND (flag IS NOT NULL OR pending_body_html IS NOT NULL))),
            counted = (status = 'visible')
        """,
        "DROP INDEX comments_queue",
        "CREATE INDEX comments_queue ON comments (site, created_at) WHERE in_review = 1",
    ),
)
