"""The SQL of bans and of the expiry of personal data (server/moderation/ports.py).

A ban is one row per (site, key, value), the table's UNIQUE key, which `matching` looks up on
every post. `put` deletes the person's row and inserts the new one in one write, so the ban
takes a new id: AUTOINCREMENT never gives an id twice, even the largest one deleted. The
expiry's bulk writes run on the partial indexes bans_by_end and comments_with_address, which hold
only the rows that can expire.

Functions take the connection first and block, as in sqlite_comments.py. The adapters of the
`Bans` and `Expiry` ports are at the end.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import msgspec

from server.adapters.sqlite_comments import MAX_PARAMS
from server.adapters.sqlite_database import SqliteDatabase
from server.moderation.ports import Ban, BanKey

# Every column but the id, which the store gives.
_COLUMNS = ("site", "key", "value", "mode", "until", "reason", "by", "at", "label")
_SELECT = f"SELECT id, {', '.join(_COLUMNS)} FROM bans"
# Not ended at `now` (the parameter).
_CURRENT = "(until IS NULL OR until > ?)"


def _bans(rows: list[tuple[object, ...]]) -> list[Ban]:
    # convert, not Ban(**fields): it checks the key and mode are ones the port knows.
    return [msgspec.convert(dict(zip(("id", *_COLUMNS), row, strict=True)), Ban) for row in rows]


def put_ban(conn: sqlite3.Connection, ban: Ban) -> int:
    """Replace the site's ban on the same person with `ban`; the id it took."""
    conn.execute(
        "DELETE FROM bans WHERE site = ? AND key = ? AND value = ?", (ban.site, ban.key, ban.value)
    )
    cursor = conn.execute(
        f"INSERT INTO bans ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
        tuple(getattr(ban, column) for column in _COLUMNS),
    )
    assert cursor.lastrowid is not None  # an INSERT of one row into a rowid table
    return cursor.lastrowid


def matching_bans(
    conn: sqlite3.Connection, site: str, keys: list[tuple[BanKey, str]], now: float
) -> list[Ban]:
    found: list[tuple[object, ...]] = []
    # Each pair an equality on the UNIQUE key's index (site, key, value).
    for start in range(0, len(keys), MAX_PARAMS // 2):
        chunk = keys[start : start + MAX_PARAMS // 2]
        pairs = " OR ".join(["(key = ? AND value = ?)"] * len(chunk))
        found += conn.execute(
            f"{_SELECT} WHERE site = ? AND ({pairs}) AND {_CURRENT}",
            (site, *(part for pair in chunk for part in pair), now),
        ).fetchall()
    return sorted(_bans(found), key=lambda ban: ban.id)


def bans_of_site(conn: sqlite3.Connection, site: str, now: float) -> list[Ban]:
    rows = conn.execute(
        f"{_SELECT} WHERE site = ? AND {_CURRENT} ORDER BY id DESC", (site, now)
    ).fetchall()
    return _bans(rows)


def lift_ban(conn: sqlite3.Connection, site: str, ban_id: int) -> Ban | None:
    # Read, then deleted in the same write transaction (not DELETE … RETURNING, which older
    # SQLite libraries than 3.35 lack).
    rows = conn.execute(f"{_SELECT} WHERE id = ? AND site = ?", (ban_id, site)).fetchall()
    if not rows:
        return None
    conn.execute("DELETE FROM bans WHERE id = ?", (ban_id,))
    return _bans(rows)[0]


def forget_addresses(conn: sqlite3.Connection, before: float) -> int:
    # The WHERE implies comments_with_address's condition, so SQLite reads only that index.
    cursor = conn.execute(
        "UPDATE comments SET author_address = NULL "
        "WHERE author_address IS NOT NULL AND created_at < ?",
        (before,),
    )
    return cursor.rowcount


def forget_bans(conn: sqlite3.Connection, before: float) -> int:
    cursor = conn.execute("DELETE FROM bans WHERE until IS NOT NULL AND until < ?", (before,))
    return cursor.rowcount


class SqliteBans:
    """`Bans`: written by the writer; looked up on the reader (every post asks)."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def put(self, ban: Ban) -> Ban:
        ban_id = await self._db.write(put_ban, ban)
        return msgspec.structs.replace(ban, id=ban_id)

    async def matching(
        self, site: str, keys: Sequence[tuple[BanKey, str]], now: float
    ) -> list[Ban]:
        if not keys:
            return []
        return await self._db.read_now(matching_bans, site, list(keys), now)

    async def of_site(self, site: str, now: float) -> list[Ban]:
        return await self._db.read(bans_of_site, site, now)

    async def lift(self, site: str, ban_id: int) -> Ban | None:
        return await self._db.write(lift_ban, site, ban_id)


class SqliteExpiry:
    """`Expiry`: each forgetting one write."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def forget_addresses(self, before: float) -> int:
        return await self._db.write(forget_addresses, before)

    async def forget_bans(self, before: float) -> int:
        return await self._db.write(forget_bans, before)
