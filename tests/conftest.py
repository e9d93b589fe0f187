"""Shared fixtures: settings for a private server, and the demo data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server import demo
from server.settings import Settings
from tests.support.server import Running, serve

SITE = "news"
THREAD = "article-1"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A SQLite database in the test's own folder, the in-process bus, and no rate limits
    (tests post far faster than a person; tests of the limits turn them on)."""
    return Settings(database=f"sqlite:///{tmp_path / 'livethread.db'}", demo=True, rate_limit=False)


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[Running]:
    async with serve(settings) as running:
        yield running


__all__ = ["SITE", "THREAD", "demo"]
