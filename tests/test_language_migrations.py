"""The comment's language column (issue 17 item 6) added to databases that already hold
comments: SQLite's migration 20 and PostgreSQL's 8 keep every row and read old ones as "en"."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import asyncpg

from server.adapters import postgres_migrations, sqlite_migrations
from server.adapters.postgres_later_migrations import LATER
from server.adapters.postgres_store import postgres_storage
from server.adapters.sqlite_store import sqlite_storage
from server.threads.idempotency import key_hash
from tests.support.postgres import PostgresServer

# A comment as a release before the column wrote it: only the columns every release had.
OLD_ROW = (
    "INSERT INTO comments (id, site, thread, author_name, body_source, body_html, status, "
    "created_at) VALUES ('old-1', 'news', 't1', 'Ann', 'Hi', '<p>Hi</p>', 'visible', 1.0)"
)


async def test_sqlite_reads_comments_from_before_the_column_as_english(tmp_path: Path) -> None:
    """A SQLite file at schema 19 with a comment migrates to the latest; the comment is kept
    and its language is "en"."""
    path = tmp_path / "old.db"
    before = sqlite_migrations.LATEST - 1
    with closing(sqlite3.connect(path)) as conn:
        conn.create_function("livethread_sha256", 1, key_hash)
        for migration in sqlite_migrations.MIGRATIONS[:before]:
            for statement in migration:
                conn.execute(statement)
        conn.execute(OLD_ROW)
        conn.execute(f"PRAGMA user_version = {before}")
        conn.commit()
    storage = sqlite_storage(str(path))
    await storage.open()
    try:
        assert await storage.database.migrate() == sqlite_migrations.LATEST
        found = await storage.comments.get("old-1")
        assert found is not None and (found.body_source, found.lang) == ("Hi", "en")
    finally:
        await storage.close()


async def test_postgres_reads_comments_from_before_the_column_as_english(
    postgres: PostgresServer,
) -> None:
    """A PostgreSQL database at schema 7 with a comment migrates to the latest (the new
    migration comes from its own module); the comment is kept and its language is "en"."""
    url = postgres.database()
    before = postgres_migrations.LATEST - len(LATER)
    assert before == 7
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            for migration in postgres_migrations.MIGRATIONS[:before]:
                for statement in migration:
                    await conn.execute(statement)
            await conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", before)
            await conn.execute(OLD_ROW)
    finally:
        await conn.close()
    storage = postgres_storage(url)
    await storage.open()
    try:
        assert await storage.database.migrate() == postgres_migrations.LATEST
        found = await storage.comments.get("old-1")
        assert found is not None and (found.body_source, found.lang) == ("Hi", "en")
    finally:
        await storage.close()
