"""Single sign-on on the PostgreSQL store: the `SignIns` and `Accounts` ports
(server/accounts/ports.py); the PostgreSQL twin of sqlite_accounts.py.

Roles are kept as a JSON list in text, as on SQLite, so a row copies between stores as it is.
Sign-in settings and accounts belong to a site: each write is one statement whose `WHERE
EXISTS` finds the site, and for a site that does not exist it is refused with a StoreError that
names it (as postgres_sites.py refuses moderators). An account seen again is upserted, its
first-seen time kept.
"""

from __future__ import annotations

import msgspec

from server.accounts.ports import Account, SignIn
from server.adapters.postgres_database import PostgresDatabase, affected
from server.storage import StoreError

_SIGN_IN_COLUMNS = ("site", "policy", "audience", "issuer", "secret", "public_key", "jwks_url")


def _roles(roles: tuple[str, ...]) -> str:
    return msgspec.json.encode(list(roles)).decode()


class PostgresSignIns:
    """`SignIns`: one row per site."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def get(self, site: str) -> SignIn | None:
        row = await self._db.fetchrow(
            f"SELECT {', '.join(_SIGN_IN_COLUMNS)}, roles FROM sign_ins WHERE site = $1", site
        )
        if row is None:
            return None
        fields: dict[str, object] = {column: row[column] for column in _SIGN_IN_COLUMNS}
        fields["roles"] = msgspec.json.decode(row["roles"])
        # convert, not SignIn(**fields): it checks the policy is one the port knows.
        return msgspec.convert(fields, SignIn)

    async def put(self, sign_in: SignIn) -> None:
        status = await self._db.execute(
            f"INSERT INTO sign_ins ({', '.join(_SIGN_IN_COLUMNS)}, roles) "
            "SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, "
            "$8::text WHERE EXISTS (SELECT 1 FROM sites WHERE name = $1) "
            "ON CONFLICT (site) DO UPDATE SET "
            "policy = excluded.policy, audience = excluded.audience, issuer = excluded.issuer, "
            "secret = excluded.secret, public_key = excluded.public_key, "
            "jwks_url = excluded.jwks_url, roles = excluded.roles",
            *(getattr(sign_in, column) for column in _SIGN_IN_COLUMNS),
            _roles(sign_in.roles),
        )
        if affected(status) != 1:
            raise StoreError(f"no site {sign_in.site!r} for sign-in settings")

    async def remove(self, site: str) -> bool:
        status = await self._db.execute("DELETE FROM sign_ins WHERE site = $1", site)
        return affected(status) == 1


class PostgresAccounts:
    """`Accounts`: by (site, id); `named` on the index `accounts_by_skeleton`."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def seen(self, account: Account, skeleton: str, at: float) -> None:
        # An upsert that leaves first_seen alone: the first sighting stays the first.
        status = await self._db.execute(
            "INSERT INTO accounts "
            "(site, id, name, skeleton, email, avatar, roles, first_seen, last_seen) "
            "SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, "
            "$8::float8, $8::float8 WHERE EXISTS (SELECT 1 FROM sites WHERE name = $1) "
            "ON CONFLICT (site, id) DO UPDATE SET "
            "name = excluded.name, skeleton = excluded.skeleton, email = excluded.email, "
            "avatar = excluded.avatar, roles = excluded.roles, last_seen = excluded.last_seen",
            account.site,
            account.id,
            account.name,
            skeleton,
            account.email,
            account.avatar,
            _roles(account.roles),
            float(at),
        )
        if affected(status) != 1:
            raise StoreError(f"no site {account.site!r} for account {account.id!r}")

    async def get(self, site: str, account_id: str) -> Account | None:
        row = await self._db.fetchrow(
            "SELECT name, email, avatar, roles FROM accounts WHERE site = $1 AND id = $2",
            site,
            account_id,
        )
        if row is None:
            return None
        roles = msgspec.json.decode(row["roles"], type=tuple[str, ...])
        return Account(
            site=site,
            id=account_id,
            name=row["name"],
            email=row["email"],
            avatar=row["avatar"],
            roles=roles,
        )

    async def named(self, site: str, skeleton: str) -> bool:
        found = await self._db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM accounts WHERE site = $1 AND skeleton = $2)",
            site,
            skeleton,
        )
        return bool(found)
