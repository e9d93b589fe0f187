"""The admin page from a test: an admin token on a site, and a client that signs in and posts
the page's forms with their CSRF token, as a browser on this server's origin would."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TypeVar

import httpx

from server.model import Moderator
from server.settings import Settings
from server.storage import Storage
from server.tokens import new_token, token_hash
from server.web.app import store_for
from tests.support.clients import WAIT

T = TypeVar("T")
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


async def in_store(settings: Settings, work: Callable[[Storage], Awaitable[T]]) -> T:
    """`work` on the test's database, opened beside the running server's."""
    store = store_for(settings)
    await store.open()
    try:
        return await work(store)
    finally:
        await store.close()


async def admin_token(settings: Settings, site: str = "news", name: str = "Ada") -> str:
    """A new admin of `site` (the site must exist); their token."""
    token = new_token()

    async def put(store: Storage) -> None:
        await store.moderators.put(Moderator(name=name, site=site, role="admin"), token_hash(token))

    await in_store(settings, put)
    return token


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, html[:500]
    return found.group(1)


class AdminClient:
    """A browser's view of /admin: its cookies, its Origin, the CSRF token of its last page."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.csrf = ""

    async def page(self) -> httpx.Response:
        answer = await self.http.get("/admin")
        if 'name="csrf"' in answer.text:
            self.csrf = csrf_of(answer.text)
        return answer

    async def post(self, path: str, fields: Mapping[str, str | list[str]]) -> httpx.Response:
        """POST a form with the CSRF token of the page last seen."""
        answer = await self.http.post(path, data={"csrf": self.csrf, **fields})
        if 'name="csrf"' in answer.text:
            self.csrf = csrf_of(answer.text)
        return answer

    async def sign_in(self, token: str) -> httpx.Response:
        await self.page()
        return await self.post("/admin/sign-in", {"token": token})


@asynccontextmanager
async def admin_client(base: str) -> AsyncIterator[AdminClient]:
    async with httpx.AsyncClient(base_url=base, timeout=WAIT, headers={"Origin": base}) as http:
        yield AdminClient(http)
