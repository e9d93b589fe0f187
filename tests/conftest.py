"""Shared fixtures: settings for a private server, its sites and moderators, a server, a client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from server.settings import Settings
from tests.support.clients import WAIT, Tokens, provision
from tests.support.server import Running, serve


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A SQLite database in the test's own folder, the in-process bus, no rate limits (tests
    post far faster than a person; tests of the limits turn them on), and webhooks and
    classifiers allowed on loopback, where the tests' receivers listen (tests/test_destinations.py
    turns that off)."""
    return Settings(
        database=f"sqlite:///{tmp_path / 'livethread.db'}",
        demo=True,
        rate_limit=False,
        allow_private_hooks=True,
    )


@pytest.fixture
async def tokens(settings: Settings) -> Tokens:
    """Sites "news" and "other" with a moderator each (the demo site comes with --demo)."""
    return await provision(settings)


@pytest.fixture
async def server(settings: Settings, tokens: Tokens) -> AsyncIterator[Running]:
    async with serve(settings) as running:
        yield running


@pytest.fixture
async def http(server: Running) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.http, timeout=WAIT) as client:
        yield client
