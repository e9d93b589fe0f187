"""Bans and the expiry of personal data on the PostgreSQL store: the `Bans` and `Expiry` ports
(server/moderation/ports.py); the PostgreSQL twin of sqlite_bans.py.

A ban is one row per (site, key, value), the table's UNIQUE key, which `matching` looks up on
every post. `put` is one upsert that, on the person's existing row, draws the row a new id from
the sequence: two moderators banning one person at once both succeed, the later commit's ban
kept, where a DELETE then INSERT would fail the second on the unique key. The expiry's bulk
writes run on the partial indexes bans_by_end and comments_with_address, which hold only the
rows that can expire.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import msgspec

from server.adapters.postgres_database import PostgresDatabase, affected
from server.moderation.ports import Ban, BanKey

# Every column but the id, which the sequence gives.
_COLUMNS = ("site", "key", "value", "mode", "until", "reason", "by", "at", "label")
_RETURNED = f"id, {', '.join(_COLUMNS)}"
_SELECT = f"SELECT {_RETURNED} FROM bans"
# Not ended at `now` ($2 in every query that asks).
_CURRENT = "(until IS NULL OR until > $2::float8)"

_PUT = (
    f"INSERT INTO bans ({', '.join(_COLUMNS)}) "
    "VALUES ($1, $2, $3, $4, $5::float8, $6, $7, $8::float8, $9) "
    "ON CONFLICT (site, key, value) DO UPDATE SET id = nextval('bans_id_seq'), "
    + ", ".join(f"{column} = EXCLUDED.{column}" for column in _COLUMNS[3:])
    + " RETURNING id"
)


def _bans(rows: list[asyncpg.Record]) -> list[Ban]:
    # convert, not Ban(**fields): it checks the key and mode are ones the port knows.
    return [msgspec.convert(dict(row), Ban) for row in rows]


class PostgresBans:
    """`Bans`: looked up on the UNIQUE key's index; a site's list on bans_by_site."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def put(self, ban: Ban) -> Ban:
        ban_id = await self._db.fetchval(
            _PUT,
            ban.site,
            ban.key,
            ban.value,
            ban.mode,
            None if ban.until is None else float(ban.until),
            ban.reason,
            ban.by,
            float(ban.at),
            ban.label,
        )
        return msgspec.structs.replace(ban, id=int(ban_id))

    async def matching(
        self, site: str, keys: Sequence[tuple[BanKey, str]], now: float
    ) -> list[Ban]:
        if not keys:
            return []
        rows = await self._db.fetch(
            f"{_SELECT} WHERE site = $1 AND (key, value) IN "
            "(SELECT * FROM unnest($3::text[], $4::text[])) "
            f"AND {_CURRENT} ORDER BY id",
            site,
            float(now),
            [key for key, _ in keys],
            [value for _, value in keys],
        )
        return _bans(rows)

    async def of_site(self, site: str, now: float) -> list[Ban]:
        rows = await self._db.fetch(
            f"{_SELECT} WHERE site = $1 AND {_CURRENT} ORDER BY id DESC", site, float(now)
        )
        return _bans(rows)

    async def lift(self, site: str, ban_id: int) -> Ban | None:
        rows = await self._db.fetch(
            f"DELETE FROM bans WHERE id = $1 AND site = $2 RETURNING {_RETURNED}", ban_id, site
        )
        return _bans(rows)[0] if rows else None


class PostgresExpiry:
    """`Expiry`: each forgetting one statement."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def forget_addresses(self, before: float) -> int:
        status = await self._db.execute(
            "UPDATE comments SET author_address = NULL "
            "WHERE author_address IS NOT NULL AND created_at < $1::float8",
            float(before),
        )
        return affected(status)

    async def forget_bans(self, before: float) -> int:
        status = await self._db.execute(
            "DELETE FROM bans WHERE until IS NOT NULL AND until < $1::float8", float(before)
        )
        return affected(status)
