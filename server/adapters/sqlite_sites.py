"""The SQL of what an operator sets up per site: the site, its moderators and its rules.

Moderators and rules belong to a site: for a site that does not exist they are refused with a
StoreError that names it, not the foreign key's bare "constraint failed". Sites are upserted,
never replaced: INSERT OR REPLACE deletes the row first, and the delete would cascade to
everything that hangs below the site.

Functions take the connection first, block, and write inside the caller's transaction, as in
sqlite_comments.py. The adapters of the `Sites`, `Moderators` and `RuleBook` ports are at the
end.
"""

from __future__ import annotations

import sqlite3

import msgspec

from server.adapters.sqlite_database import SqliteDatabase
from server.model import Moderator, Site
from server.moderation.rules import Rules
from server.storage import StoreError


def put_site(conn: sqlite3.Connection, site: Site) -> None:
    # An upsert, not INSERT OR REPLACE: replacing would delete the row and cascade to the
    # site's moderators.
    conn.execute(
        "INSERT INTO sites (name, origins, premoderate) VALUES (?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET "
        "origins = excluded.origins, premoderate = excluded.premoderate",
        (site.name, msgspec.json.encode(list(site.origins)).decode(), int(site.premoderate)),
    )


def site(conn: sqlite3.Connection, name: str) -> Site | None:
    row = conn.execute("SELECT origins, premoderate FROM sites WHERE name = ?", (name,)).fetchone()
    if row is None:
        return None
    origins = msgspec.json.decode(row[0], type=tuple[str, ...])
    return Site(name=name, origins=origins, premoderate=bool(row[1]))


def all_sites(conn: sqlite3.Connection) -> list[Site]:
    rows = conn.execute("SELECT name, origins, premoderate FROM sites ORDER BY name").fetchall()
    return [
        Site(
            name=row[0],
            origins=msgspec.json.decode(row[1], type=tuple[str, ...]),
            premoderate=bool(row[2]),
        )
        for row in rows
    ]


def remove_site(conn: sqlite3.Connection, name: str) -> bool:
    # Its moderators, rules, webhooks, sign-in and accounts go by ON DELETE CASCADE.
    return conn.execute("DELETE FROM sites WHERE name = ?", (name,)).rowcount == 1


def put_moderator(conn: sqlite3.Connection, moderator: Moderator, token_hash: str) -> None:
    if site(conn, moderator.site) is None:
        raise StoreError(f"no site {moderator.site!r} for moderator {moderator.name!r}")
    try:
        conn.execute(
            "INSERT INTO moderators (site, name, token_hash, role) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (site, name) DO UPDATE SET token_hash = excluded.token_hash, "
            "role = excluded.role",
            (moderator.site, moderator.name, token_hash, moderator.role),
        )
    except sqlite3.IntegrityError as exc:
        raise StoreError("that token hash already belongs to another moderator") from exc


def remove_moderator(conn: sqlite3.Connection, site: str, name: str) -> bool:
    cursor = conn.execute("DELETE FROM moderators WHERE site = ? AND name = ?", (site, name))
    return cursor.rowcount == 1


def moderators(conn: sqlite3.Connection, site: str) -> list[Moderator]:
    rows = conn.execute(
        "SELECT site, name, role FROM moderators WHERE site = ? ORDER BY name", (site,)
    ).fetchall()
    return [Moderator(name=row[1], site=row[0], role=row[2]) for row in rows]


def moderator(conn: sqlite3.Connection, token_hash: str) -> Moderator | None:
    row = conn.execute(
        "SELECT site, name, role FROM moderators WHERE token_hash = ?", (token_hash,)
    ).fetchone()
    return None if row is None else Moderator(name=row[1], site=row[0], role=row[2])


def put_rules(conn: sqlite3.Connection, site_name: str, rules: Rules) -> None:
    if site(conn, site_name) is None:
        raise StoreError(f"no site {site_name!r} for rules")
    conn.execute(
        "INSERT INTO rules (site, config) VALUES (?, ?) "
        "ON CONFLICT (site) DO UPDATE SET config = excluded.config",
        (site_name, msgspec.json.encode(rules).decode()),
    )


def rules(conn: sqlite3.Connection, site_name: str) -> Rules | None:
    row = conn.execute("SELECT config FROM rules WHERE site = ?", (site_name,)).fetchone()
    return None if row is None else msgspec.json.decode(row[0], type=Rules)


class SqliteSites:
    """`Sites`: written by the writer, read from the reader."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def put(self, site: Site) -> None:
        await self._db.write(put_site, site)

    async def get(self, name: str) -> Site | None:
        return await self._db.read_now(site, name)

    async def all(self) -> list[Site]:
        return await self._db.read_now(all_sites)

    async def remove(self, name: str) -> bool:
        return await self._db.write(remove_site, name)


class SqliteModerators:
    """`Moderators`: written by the writer, read from the reader."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def put(self, moderator: Moderator, token_hash: str) -> None:
        await self._db.write(put_moderator, moderator, token_hash)

    async def by_token(self, token_hash: str) -> Moderator | None:
        return await self._db.read_now(moderator, token_hash)

    async def of_site(self, site: str) -> list[Moderator]:
        return await self._db.read_now(moderators, site)

    async def remove(self, site: str, name: str) -> bool:
        return await self._db.write(remove_moderator, site, name)


class SqliteRuleBook:
    """`RuleBook`: written by the writer, read from the reader."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def put(self, site: str, rules: Rules) -> None:
        await self._db.write(put_rules, site, rules)

    async def get(self, site: str) -> Rules | None:
        return await self._db.read_now(rules, site)
