"""The `livethread` command: admin commands, migrations, and refusing a setup that cannot work."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from server.settings import Settings, SettingsError
from server.tokens import token_hash
from server.web.app import store_for
from tests.support.command import livethread


def test_two_workers_without_redis_exit_at_once_saying_why() -> None:
    """`serve --workers 2` with the in-process bus exits 2 and names the fix (--redis)."""
    done = livethread("serve", "--workers", "2", "--database", "sqlite:///unused.db")
    assert done.returncode == 2
    assert "in-process bus cannot carry events between server processes" in done.stderr
    assert "--redis" in done.stderr


def test_settings_refuse_workers_without_redis_from_the_environment() -> None:
    """The same rule holds when the settings come from LIVETHREAD_* variables."""
    with pytest.raises(SettingsError, match="--redis"):
        Settings.from_environ({"LIVETHREAD_WORKERS": "3"})
    assert Settings.from_environ({"LIVETHREAD_WORKERS": "3", "LIVETHREAD_REDIS": "redis://x"})


def test_bad_environment_value_is_named() -> None:
    """A malformed variable is reported by name."""
    with pytest.raises(SettingsError, match="LIVETHREAD_PORT"):
        Settings.from_environ({"LIVETHREAD_PORT": "eighty"})


def test_site_and_moderator_add_store_only_a_token_hash(tmp_path: Path) -> None:
    """`site add` and `moderator add` work; the printed token is stored only as its hash."""
    database = f"sqlite:///{tmp_path / 'admin.db'}"
    added = livethread(
        "site", "add", "news", "--origin", "https://news.example", "--database", database
    )
    assert added.returncode == 0, added.stderr
    made = livethread("moderator", "add", "Lisa West", "--site", "news", "--database", database)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    assert len(token) >= 40

    async def check() -> None:
        store = store_for(Settings(database=database))
        await store.open()
        try:
            site = await store.site("news")
            assert site is not None and site.origins == ("https://news.example",)
            moderator = await store.moderator(token_hash(token))
            assert moderator is not None and moderator.name == "Lisa West"
        finally:
            await store.close()

    asyncio.run(check())
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("admin.db*"))
    assert token.encode() not in raw


def test_moderator_for_unknown_site_is_refused(tmp_path: Path) -> None:
    """Adding a moderator to a site that does not exist fails with a clear message."""
    database = f"sqlite:///{tmp_path / 'admin.db'}"
    done = livethread("moderator", "add", "X", "--site", "nowhere", "--database", database)
    assert done.returncode == 2
    assert "no site 'nowhere'" in done.stderr


def test_migrate_reports_the_schema_version(tmp_path: Path) -> None:
    """`livethread migrate` applies migrations and is idempotent."""
    database = f"sqlite:///{tmp_path / 'm.db'}"
    first = livethread("migrate", "--database", database)
    second = livethread("migrate", "--database", database)
    assert first.returncode == 0 and second.returncode == 0
    assert "schema version" in first.stdout and first.stdout == second.stdout
