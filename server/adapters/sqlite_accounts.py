"""The SQL of single sign-on (server/accounts/ports.py): each site's sign-in settings and the
accounts seen, roles kept as a JSON list. Both belong to a site: for a site that does not
exist they are refused with a StoreError that names it, as sqlite_sites.py refuses moderators.
An account seen again is upserted, its first-seen time kept.

Functions take the connection first, block, and write inside the caller's transaction, as in
sqlite_comments.py. The adapters of the `SignIns` and `Accounts` ports are at the end.
"""

from __future__ import annotations

import sqlite3

import msgspec

from server.accounts.ports import Account, SignIn
from server.adapters.sqlite_database import SqliteDatabase
from server.storage import StoreError

_SIGN_IN_COLUMNS = ("site", "policy", "audience", "issuer", "secret", "public_key", "jwks_url")


def _has_site(conn: sqlite3.Connection, site: str) -> bool:
    return conn.execute("SELECT 1 FROM sites WHERE name = ?", (site,)).fetchone() is not None


def _roles(roles: tuple[str, ...]) -> str:
    return msgspec.json.encode(list(roles)).decode()


def put_sign_in(conn: sqlite3.Connection, sign_in: SignIn) -> None:
    if not _has_site(conn, sign_in.site):
        raise StoreError(f"no site {sign_in.site!r} for sign-in settings")
    values = tuple(getattr(sign_in, column) for column in _SIGN_IN_COLUMNS)
    conn.execute(
        f"INSERT INTO sign_ins ({', '.join(_SIGN_IN_COLUMNS)}, roles) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (site) DO UPDATE SET "
        "policy = excluded.policy, audience = excluded.audience, issuer = excluded.issuer, "
        "secret = excluded.secret, public_key = excluded.public_key, "
        "jwks_url = excluded.jwks_url, roles = excluded.roles",
        (*values, _roles(sign_in.roles)),
    )


def sign_in(conn: sqlite3.Connection, site: str) -> SignIn | None:
    row = conn.execute(
        f"SELECT {', '.join(_SIGN_IN_COLUMNS)}, roles FROM sign_ins WHERE site = ?", (site,)
    ).fetchone()
    if row is None:
        return None
    fields: dict[str, object] = dict(zip(_SIGN_IN_COLUMNS, row[:-1], strict=True))
    fields["roles"] = msgspec.json.decode(row[-1])
    # convert, not SignIn(**fields): it checks the policy is one the port knows.
    return msgspec.convert(fields, SignIn)


def remove_sign_in(conn: sqlite3.Connection, site: str) -> bool:
    return conn.execute("DELETE FROM sign_ins WHERE site = ?", (site,)).rowcount == 1


def account_seen(conn: sqlite3.Connection, account: Account, skeleton: str, at: float) -> None:
    if not _has_site(conn, account.site):
        raise StoreError(f"no site {account.site!r} for account {account.id!r}")
    # An upsert that leaves first_seen alone: the first sighting stays the first.
    conn.execute(
        "INSERT INTO accounts "
        "(site, id, name, skeleton, email, avatar, roles, first_seen, last_seen) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (site, id) DO UPDATE SET "
        "name = excluded.name, skeleton = excluded.skeleton, email = excluded.email, "
        "avatar = excluded.avatar, roles = excluded.roles, last_seen = excluded.last_seen",
        (
            account.site,
            account.id,
            account.name,
            skeleton,
            account.email,
            account.avatar,
            _roles(account.roles),
            at,
            at,
        ),
    )


def account(conn: sqlite3.Connection, site: str, account_id: str) -> Account | None:
    row = conn.execute(
        "SELECT name, email, avatar, roles FROM accounts WHERE site = ? AND id = ?",
        (site, account_id),
    ).fetchone()
    if row is None:
        return None
    roles = msgspec.json.decode(row[3], type=tuple[str, ...])
    return Account(site=site, id=account_id, name=row[0], email=row[1], avatar=row[2], roles=roles)


def named(conn: sqlite3.Connection, site: str, skeleton: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM accounts WHERE site = ? AND skeleton = ? LIMIT 1", (site, skeleton)
    ).fetchone()
    return row is not None


class SqliteSignIns:
    """`SignIns`: written by the writer, read from the reader."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def get(self, site: str) -> SignIn | None:
        return await self._db.read_now(sign_in, site)

    async def put(self, sign_in: SignIn) -> None:
        await self._db.write(put_sign_in, sign_in)

    async def remove(self, site: str) -> bool:
        return await self._db.write(remove_sign_in, site)


class SqliteAccounts:
    """`Accounts`: written by the writer, read from the reader (`named` on the index
    `accounts_by_skeleton`)."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def seen(self, account: Account, skeleton: str, at: float) -> None:
        await self._db.write(account_seen, account, skeleton, at)

    async def get(self, site: str, account_id: str) -> Account | None:
        return await self._db.read_now(account, site, account_id)

    async def named(self, site: str, skeleton: str) -> bool:
        return await self._db.read_now(named, site, skeleton)
