"""Shared fixtures: settings for a private server, its sites and moderators, a server, a client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from server.settings import Settings
from tests.support.clients import WAIT, Tokens, provision
from tests.support.postgres import PostgresServer
from tests.support.server import Running, serve

STORES = ("sqlite", "postgres")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store",
        choices=STORES,
        default="sqlite",
        help="the store the end-to-end tests' servers use (`make test` runs them on each)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: about SQLite itself (its file, its locks); not run on other stores"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--store") == "sqlite":
        return
    # Deselected, not skipped: on another store these tests have nothing to prove.
    kept = [item for item in items if item.get_closest_marker("sqlite_only") is None]
    dropped = [item for item in items if item.get_closest_marker("sqlite_only") is not None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One private PostgreSQL cluster for the session (never the machine's on 5432)."""
    with PostgresServer() as server:
        yield server


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The test's own database: a SQLite file in its folder, or with `--store postgres` a new
    database in the session's private cluster."""
    if request.config.getoption("--store") == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres")
        return server.database()
    return f"sqlite:///{tmp_path / 'livethread.db'}"


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The test's own database (see `database_url`), the in-process bus, no rate limits (tests
    post far faster than a person; tests of the limits turn them on), and webhooks and
    classifiers allowed on loopback, where the tests' receivers listen (tests/test_destinations.py
    turns that off)."""
    return Settings(
        database=database_url,
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
