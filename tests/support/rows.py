"""What a store holds, read straight from its database: for tests that prove something is not
kept anywhere (not only that the ports do not return it)."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import asyncpg


async def stored_payloads(database: str) -> list[bytes]:
    """Every stored event's bytes, as the database has them (SQLite file or PostgreSQL)."""
    if database.startswith("sqlite:///"):
        with closing(sqlite3.connect(database.removeprefix("sqlite:///"))) as db:
            return [bytes(row[0]) for row in db.execute("SELECT payload FROM events")]
    pg = await asyncpg.connect(database, timeout=10)
    try:
        return [bytes(row[0]) for row in await pg.fetch("SELECT payload FROM events")]
    finally:
        await pg.close()
