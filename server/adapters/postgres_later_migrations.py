"""The PostgreSQL migrations after the seventh, kept here so postgres_migrations.py (which runs
them all, in order, after its own) stays a readable size. The same rules: never edit one that
has shipped, append a new one; migration N is `postgres_migrations.MIGRATIONS[N - 1]`.
"""

from __future__ import annotations

Migration = tuple[str, ...]

LATER: tuple[Migration, ...] = (
    (
        # 8: the language of the author's request, as SQLite's migration 20: their reply and
        # confirmation mails are written in it; comments from before it are English.
        "ALTER TABLE comments ADD COLUMN lang TEXT NOT NULL DEFAULT 'en'",
    ),
    (
        # 9: imports, as SQLite's migration 21: which source comment became which of ours.
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
        # 10: import runs, as SQLite's migration 22: each import's totals, progress and summary.
        """
        CREATE TABLE import_runs (
            id TEXT PRIMARY KEY,
            site TEXT NOT NULL,
            format TEXT NOT NULL,
            source_name TEXT NOT NULL,
            started_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL,
            threads_total BIGINT NOT NULL,
            comments_total BIGINT NOT NULL,
            threads_done BIGINT NOT NULL DEFAULT 0,
            comments_done BIGINT NOT NULL DEFAULT 0,
            summary TEXT
        )
        """,
        "CREATE INDEX import_runs_by_site ON import_runs (site, started_at)",
    ),
)
