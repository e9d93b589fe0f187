"""What an operator sets up per site, on the PostgreSQL store: the `Sites`, `Moderators` and
`RuleBook` ports; the PostgreSQL twin of sqlite_sites.py.

Moderators and rules belong to a site: for a site that does not exist they are refused with a
StoreError that names it. Each write is one statement whose `WHERE EXISTS` finds the site (a
foreign key violation, should the site go meanwhile, is a StoreError all the same). Sites are
upserted, never deleted and inserted again: the delete would cascade to everything below the
site. Names are listed byte by byte (COLLATE "C"), as SQLite and the memory store sort them.
"""

from __future__ import annotations

import asyncpg
import msgspec

from server.adapters.postgres_database import PostgresDatabase, affected
from server.model import Moderator, Site
from server.moderation.rules import Rules
from server.storage import StoreError


class PostgresSites:
    """`Sites`: one row per publisher."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def put(self, site: Site) -> None:
        await self._db.execute(
            "INSERT INTO sites (name, origins, premoderate) VALUES ($1, $2, $3) "
            "ON CONFLICT (name) DO UPDATE SET "
            "origins = excluded.origins, premoderate = excluded.premoderate",
            site.name,
            msgspec.json.encode(list(site.origins)).decode(),
            bool(site.premoderate),
        )

    async def get(self, name: str) -> Site | None:
        row = await self._db.fetchrow(
            "SELECT origins, premoderate FROM sites WHERE name = $1", name
        )
        if row is None:
            return None
        origins = msgspec.json.decode(row[0], type=tuple[str, ...])
        return Site(name=name, origins=origins, premoderate=bool(row[1]))

    async def all(self) -> list[Site]:
        rows = await self._db.fetch("SELECT name, origins, premoderate FROM sites ORDER BY name")
        return [
            Site(
                name=row[0],
                origins=msgspec.json.decode(row[1], type=tuple[str, ...]),
                premoderate=bool(row[2]),
            )
            for row in rows
        ]

    async def remove(self, name: str) -> bool:
        # Its moderators, rules, webhooks, sign-in and accounts go by ON DELETE CASCADE.
        return affected(await self._db.execute("DELETE FROM sites WHERE name = $1", name)) == 1


class PostgresModerators:
    """`Moderators`: one token hash per moderator and site, unique across every site."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def put(self, moderator: Moderator, token_hash: str) -> None:
        try:
            status = await self._db.execute(
                "INSERT INTO moderators (site, name, token_hash, role) "
                "SELECT $1::text, $2::text, $3::text, $4::text "
                "WHERE EXISTS (SELECT 1 FROM sites WHERE name = $1) "
                "ON CONFLICT (site, name) DO UPDATE SET token_hash = excluded.token_hash, "
                "role = excluded.role",
                moderator.site,
                moderator.name,
                token_hash,
                moderator.role,
            )
        except StoreError as exc:
            # The one unique constraint ON CONFLICT (site, name) leaves to fail.
            if isinstance(exc.__cause__, asyncpg.exceptions.UniqueViolationError):
                raise StoreError("that token hash already belongs to another moderator") from exc
            raise
        if affected(status) != 1:
            raise StoreError(f"no site {moderator.site!r} for moderator {moderator.name!r}")

    async def by_token(self, token_hash: str) -> Moderator | None:
        row = await self._db.fetchrow(
            "SELECT site, name, role FROM moderators WHERE token_hash = $1", token_hash
        )
        return None if row is None else Moderator(name=row[1], site=row[0], role=row[2])

    async def of_site(self, site: str) -> list[Moderator]:
        rows = await self._db.fetch(
            'SELECT site, name, role FROM moderators WHERE site = $1 ORDER BY name COLLATE "C"',
            site,
        )
        return [Moderator(name=row[1], site=row[0], role=row[2]) for row in rows]

    async def remove(self, site: str, name: str) -> bool:
        status = await self._db.execute(
            "DELETE FROM moderators WHERE site = $1 AND name = $2", site, name
        )
        return affected(status) == 1


class PostgresRuleBook:
    """`RuleBook`: each site's rules, as their JSON."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def put(self, site: str, rules: Rules) -> None:
        status = await self._db.execute(
            "INSERT INTO rules (site, config) "
            "SELECT $1::text, $2::text WHERE EXISTS (SELECT 1 FROM sites WHERE name = $1) "
            "ON CONFLICT (site) DO UPDATE SET config = excluded.config",
            site,
            msgspec.json.encode(rules).decode(),
        )
        if affected(status) != 1:
            raise StoreError(f"no site {site!r} for rules")

    async def get(self, site: str) -> Rules | None:
        config = await self._db.fetchval("SELECT config FROM rules WHERE site = $1", site)
        return None if config is None else msgspec.json.decode(config, type=Rules)
