"""The in-memory twins of the accounts room's ports (server/accounts/ports.py): each site's
sign-in settings and the accounts seen, on the shared `Tables`."""

from __future__ import annotations

from server.accounts.ports import Account, SignIn
from server.adapters.memory_tables import SeenAccount, Tables
from server.storage import StoreError


class MemorySignIns:
    """`SignIns`: at most one per site, for a site that exists (as the SQL's foreign key)."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def get(self, site: str) -> SignIn | None:
        return self._tables.sign_ins.get(site)

    async def put(self, sign_in: SignIn) -> None:
        if sign_in.site not in self._tables.sites:
            raise StoreError(f"no site {sign_in.site!r} for sign-in settings")
        self._tables.sign_ins[sign_in.site] = sign_in

    async def remove(self, site: str) -> bool:
        return self._tables.sign_ins.pop(site, None) is not None


class MemoryAccounts:
    """`Accounts`: by (site, id), with `skeletons` as the index on (site, skeleton)."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def seen(self, account: Account, skeleton: str, at: float) -> None:
        tables = self._tables
        if account.site not in tables.sites:
            raise StoreError(f"no site {account.site!r} for account {account.id!r}")
        key = (account.site, account.id)
        old = tables.accounts.get(key)
        first = at
        if old is not None:
            first = old.first_seen
            self._unindex(account.site, old.skeleton, account.id)
        tables.accounts[key] = SeenAccount(account, skeleton, first, at)
        tables.skeletons.setdefault((account.site, skeleton), set()).add(account.id)

    def _unindex(self, site: str, skeleton: str, account_id: str) -> None:
        ids = self._tables.skeletons.get((site, skeleton))
        if ids is not None:
            ids.discard(account_id)
            if not ids:
                del self._tables.skeletons[(site, skeleton)]

    async def get(self, site: str, account_id: str) -> Account | None:
        found = self._tables.accounts.get((site, account_id))
        return None if found is None else found.account

    async def named(self, site: str, skeleton: str) -> bool:
        return bool(self._tables.skeletons.get((site, skeleton)))
