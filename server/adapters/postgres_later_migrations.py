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
)
