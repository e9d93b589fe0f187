"""The sites room's storage ports: publishers and the people who moderate them."""

from __future__ import annotations

from typing import Protocol

from server.model import Moderator, Site


class Sites(Protocol):
    """The publishers livethread serves."""

    async def put(self, site: Site) -> None:
        """Create or replace a site."""
        ...

    async def get(self, name: str) -> Site | None: ...

    async def all(self) -> list[Site]:
        """Every site, by name."""
        ...

    async def remove(self, name: str) -> bool:
        """Delete a site with its moderators, rules, webhooks (and their deliveries), sign-in
        configuration and the accounts seen on it; its threads and comments stay, under its
        name, and come back with a site of that name. False if there is no such site."""
        ...


class Moderators(Protocol):
    """Who moderates each site, each known by the hash of their one bearer token."""

    async def put(self, moderator: Moderator, token_hash: str) -> None:
        """Create a moderator or replace their token (one token per moderator and site); the
        site must exist (StoreError)."""
        ...

    async def by_token(self, token_hash: str) -> Moderator | None: ...

    async def of_site(self, site: str) -> list[Moderator]:
        """Everyone who moderates a site, by name (their names are protected from
        look-alikes)."""
        ...

    async def remove(self, site: str, name: str) -> bool:
        """Delete a moderator and so their token; False if the site has no such moderator."""
        ...
