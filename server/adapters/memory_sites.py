"""The in-memory twins of the sites room's ports (server/sites/ports.py): the sites and their
moderators, on the shared `Tables`."""

from __future__ import annotations

from server.adapters.memory_tables import Tables
from server.model import Moderator, Site
from server.storage import StoreError


class MemorySites:
    """`Sites`: the publishers, by name."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def put(self, site: Site) -> None:
        self._tables.sites[site.name] = site

    async def get(self, name: str) -> Site | None:
        return self._tables.sites.get(name)

    async def all(self) -> list[Site]:
        return [self._tables.sites[name] for name in sorted(self._tables.sites)]

    async def remove(self, name: str) -> bool:
        tables = self._tables
        if tables.sites.pop(name, None) is None:
            return False
        # What the SQL stores' ON DELETE CASCADE takes with the site's row.
        for key in [k for k in tables.tokens if k[0] == name]:
            del tables.moderators[tables.tokens.pop(key)]
        for hook in [h for h in tables.webhooks.values() if h.site == name]:
            del tables.webhooks[hook.id]
            for delivery in [d for d in tables.deliveries.values() if d.webhook_id == hook.id]:
                del tables.deliveries[delivery.id]
        tables.rules.pop(name, None)
        tables.sign_ins.pop(name, None)
        for account in [k for k in tables.accounts if k[0] == name]:
            del tables.accounts[account]
        return True


class MemoryModerators:
    """`Moderators`: one token hash per moderator and site, as the SQLite table's keys allow."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def put(self, moderator: Moderator, token_hash: str) -> None:
        tables = self._tables
        if moderator.site not in tables.sites:
            raise StoreError(f"no site {moderator.site!r} for moderator {moderator.name!r}")
        owner = tables.moderators.get(token_hash)
        # The same moderator may be put again with their token (a new role): only another
        # moderator's token is refused, as the SQL stores' unique token_hash refuses it.
        if owner is not None and (owner.site, owner.name) != (moderator.site, moderator.name):
            raise StoreError("that token hash already belongs to another moderator")
        key = (moderator.site, moderator.name)
        old = tables.tokens.get(key)
        if old is not None:
            del tables.moderators[old]
        tables.tokens[key] = token_hash
        tables.moderators[token_hash] = moderator

    async def by_token(self, token_hash: str) -> Moderator | None:
        return self._tables.moderators.get(token_hash)

    async def of_site(self, site: str) -> list[Moderator]:
        found = [m for m in self._tables.moderators.values() if m.site == site]
        return sorted(found, key=lambda m: m.name)

    async def remove(self, site: str, name: str) -> bool:
        token = self._tables.tokens.pop((site, name), None)
        if token is None:
            return False
        del self._tables.moderators[token]
        return True
