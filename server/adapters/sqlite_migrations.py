"""The SQLite schema, as numbered migrations tracked in `PRAGMA user_version`.

Migration N (1-based) is `MIGRATIONS[N - 1]`: the first thirteen are sqlite_baseline.py's, the
rest are here. Never edit one that has shipped: append a new one, so every database, however
old, reaches the same schema by the same steps. Each migration is a tuple of single statements
rather than one script because `executescript` would commit the transaction that makes a
migration all-or-nothing.
"""

from __future__ import annotations

import hashlib
import sqlite3

from server.adapters.sqlite_baseline import BASELINE, Migration
from server.storage import StoreError

MIGRATIONS: tuple[Migration, ...] = (
    *BASELINE,
    (
        # 14: single sign-on (server/accounts, issue 16). A comment may be a signed-in
        # author's: their publisher's account id (private, indexed per site for bans by
        # account), the key readers see in its place, and their avatar. Each site's sign-in
        # settings (roles: a JSON list), and the accounts seen, with their name's skeleton
        # indexed so a look-alike name is found without reading a site's every account.
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
            first_seen REAL NOT NULL,
            last_seen REAL NOT NULL,
            PRIMARY KEY (site, id)
        )
        """,
        "CREATE INDEX accounts_by_skeleton ON accounts (site, skeleton)",
    ),
    (
        # 15: readers' reports of comments, one per reader and comment, and the audit log of
        # moderation decisions (issue 16), append-only, read per site and per comment in id
        # order (AUTOINCREMENT: ids follow the single writer's append order, never reused).
        """
        CREATE TABLE reports (
            site TEXT NOT NULL,
            thread TEXT NOT NULL,
            comment_id TEXT NOT NULL REFERENCES comments (id),
            reporter TEXT NOT NULL,
            reason TEXT NOT NULL CHECK (reason IN ('spam', 'abuse', 'off_topic', 'other')),
            text TEXT,
            at REAL NOT NULL,
            UNIQUE (comment_id, reporter)
        )
        """,
        """
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            site TEXT NOT NULL,
            at REAL NOT NULL,
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
    ),
    (
        # 16: roles and badges (issue 16): a moderator's role, a thread's byline author, the
        # badges a comment's author had when posting (JSON, sqlite_comments.badges_text).
        "ALTER TABLE moderators ADD COLUMN role TEXT NOT NULL DEFAULT 'moderator' "
        "CHECK (role IN ('moderator', 'admin'))",
        "ALTER TABLE threads ADD COLUMN byline TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE comments ADD COLUMN author_badges TEXT NOT NULL DEFAULT '[]'",
    ),
    (
        # 17: bans (issue 16). A site's bans on people, one per key and value (a new ban on the
        # same person replaces the row, under a new id), looked up by that key on every post;
        # and on each comment, the keyed hash of its poster's address (private, like the email;
        # cleared after the address retention) and whether it was posted under a shadow-ban.
        # A person's comments are found within a site by account (comments_by_account), and
        # now by email (NOCASE) and by address hash.
        """
        CREATE TABLE bans (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            site TEXT NOT NULL,
            key TEXT NOT NULL CHECK (key IN ('account', 'email', 'address')),
            value TEXT NOT NULL,
            mode TEXT NOT NULL CHECK (mode IN ('ban', 'suspend', 'shadow')),
            until REAL,
            reason TEXT,
            by TEXT NOT NULL,
            at REAL NOT NULL,
            label TEXT NOT NULL DEFAULT '',
            UNIQUE (site, key, value)
        )
        """,
        # A site's list, newest first; forget_bans deletes the ended ones, any site.
        "CREATE INDEX bans_by_site ON bans (site, id)",
        "CREATE INDEX bans_by_end ON bans (until) WHERE until IS NOT NULL",
        "ALTER TABLE comments ADD COLUMN author_address TEXT",
        "ALTER TABLE comments ADD COLUMN shadow INTEGER NOT NULL DEFAULT 0",
        "CREATE INDEX comments_by_address ON comments (site, author_address)",
        "CREATE INDEX comments_by_site_email ON comments (site, author_email COLLATE NOCASE)",
        # forget_addresses clears the hashes older than the retention, any site.
        """
        CREATE INDEX comments_with_address ON comments (created_at)
        WHERE author_address IS NOT NULL
        """,
        # What a shadow-banned author is shown of their own: few rows of a thread, read often.
        """
        CREATE INDEX comments_shadowed ON comments (site, thread, created_at, id)
        WHERE shadow = 1 AND status = 'pending'
        """,
    ),
    (
        # 18: readers' reactions (issue 17). One row per reaction in effect, by comment, reader
        # and kind (a reader's own in a thread found by reactions_by_reader); beside them each
        # comment's count of each kind, and its version (its reactions' changes ever made) with
        # its thread, moved in the same write, so a thread's counts are one read of
        # reaction_versions_by_thread joined to reaction_counts by key, never a count.
        """
        CREATE TABLE reactions (
            comment_id TEXT NOT NULL,
            reader TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('like', 'love', 'laugh', 'wow', 'sad')),
            site TEXT NOT NULL,
            thread TEXT NOT NULL,
            PRIMARY KEY (comment_id, reader, kind)
        )
        """,
        "CREATE INDEX reactions_by_reader ON reactions (site, thread, reader)",
        """
        CREATE TABLE reaction_counts (
            comment_id TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('like', 'love', 'laugh', 'wow', 'sad')),
            n INTEGER NOT NULL CHECK (n >= 0),
            PRIMARY KEY (comment_id, kind)
        )
        """,
        """
        CREATE TABLE reaction_versions (
            comment_id TEXT PRIMARY KEY,
            site TEXT NOT NULL,
            thread TEXT NOT NULL,
            version INTEGER NOT NULL CHECK (version >= 0)
        )
        """,
        "CREATE INDEX reaction_versions_by_thread ON reaction_versions (site, thread)",
    ),
    (
        # 19: feeds (issue 17, server/feeds): a site's newest visible comments, read backwards
        # without walking its held and removed ones (a thread's use comments_by_thread).
        "CREATE INDEX comments_visible ON comments (site, created_at, id) WHERE status = 'visible'",
    ),
    (
        # 20: the language the author's request asked for (issue 17, server/language), in which
        # their reply and confirmation mails are written; comments from before it are English.
        "ALTER TABLE comments ADD COLUMN lang TEXT NOT NULL DEFAULT 'en'",
    ),
    (
        # 21: imports (issue 18, server/importing): which source comment became which of ours,
        # so a second import adds nothing and workers pass over what an import wrote.
        """
        CREATE TABLE imported_comments (
            site TEXT NOT NULL,
            source TEXT NOT NULL,
            source_id TEXT NOT NULL,
            comment_id TEXT NOT NULL,
            PRIMARY KEY (site, source, source_id)
        )
        """,
        "CREATE INDEX imported_comments_by_comment ON imported_comments (comment_id)",
    ),
    (
        # 22: import runs (issue 18): each `livethread import`'s totals, progress and summary
        # (JSON of server.importing.ports.RunSummary, NULL while it runs), for the admin page.
        """
        CREATE TABLE import_runs (
            id TEXT PRIMARY KEY,
            site TEXT NOT NULL,
            format TEXT NOT NULL,
            source_name TEXT NOT NULL,
            started_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            threads_total INTEGER NOT NULL,
            comments_total INTEGER NOT NULL,
            threads_done INTEGER NOT NULL DEFAULT 0,
            comments_done INTEGER NOT NULL DEFAULT 0,
            summary TEXT
        )
        """,
        "CREATE INDEX import_runs_by_site ON import_runs (site, started_at)",
    ),
)

LATEST = len(MIGRATIONS)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to `LATEST`; returns the version reached.

    `conn` must be in autocommit mode (isolation_level=None). BEGIN IMMEDIATE takes the write
    lock before the version is read, so two processes starting on one file cannot both apply
    the same migration; the loser finds the work done.
    """
    # Migration 10 hashes the idempotency keys kept before it, as server/threads/idempotency.py
    # does.
    conn.create_function("livethread_sha256", 1, _sha256, deterministic=True)
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = schema_version(conn)
        if version > LATEST:
            raise StoreError(
                f"database schema is version {version}, newer than this livethread knows "
                f"({LATEST}); upgrade livethread before serving this database"
            )
        for number in range(version + 1, LATEST + 1):
            for statement in MIGRATIONS[number - 1]:
                conn.execute(statement)
            # user_version lives in the file header and is written inside the transaction,
            # so a migration and its number commit (or vanish) together.
            conn.execute(f"PRAGMA user_version = {number:d}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return LATEST
