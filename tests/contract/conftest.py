"""The store contract's fixture: each port suite runs against every store, freshly opened.

`storage` is a whole `Storage` bundle, built by the store's own factory; those factories return
`Storage`, whose fields are the ports, so mypy proves there that every adapter conforms to its
port. The suites' helpers are in records.py (test_bus.py's in conftest_bus.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.adapters import postgres_migrations, sqlite_migrations
from server.adapters.memory_store import memory_storage
from server.adapters.postgres_store import postgres_storage
from server.adapters.sqlite_store import sqlite_storage
from server.storage import Storage
from tests.support.postgres import PostgresServer

# The schema version each store's `Database.migrate` answers (0: a store without a schema).
SCHEMA_VERSIONS = {
    "memory": 0,
    "sqlite": sqlite_migrations.LATEST,
    "postgres": postgres_migrations.LATEST,
}


@pytest.fixture(params=sorted(SCHEMA_VERSIONS))
def store_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
async def storage(
    store_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Storage]:
    """An opened store of each kind (a fresh SQLite file, or a fresh database in the session's
    private PostgreSQL cluster, per test), closed after the test."""
    if store_kind == "memory":
        opened = memory_storage()
    elif store_kind == "sqlite":
        opened = sqlite_storage(str(tmp_path / "store.db"))
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        opened = postgres_storage(server.database())
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def schema_version(store_kind: str) -> int:
    """The schema version `storage` must be at once migrated."""
    return SCHEMA_VERSIONS[store_kind]
