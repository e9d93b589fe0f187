"""The operator's everyday commands (issue 18, item 8), run as real processes on a migrated
SQLite database: `--version`; `site list` and `site remove`; `moderator rotate`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from server.model import Moderator
from server.settings import Settings
from server.tokens import token_hash
from server.web.app import store_for
from tests.support.command import livethread, migrated


def moderator_of(database: str, token: str) -> Moderator | None:
    """Who the token names in the database now (None: nobody, it no longer works)."""

    async def look() -> Moderator | None:
        store = store_for(Settings(database=database))
        await store.open()
        try:
            return await store.moderators.by_token(token_hash(token))
        finally:
            await store.close()

    return asyncio.run(look())


def test_version_prints_the_installed_version() -> None:
    """`livethread --version` prints the package's version and exits 0."""
    done = livethread("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "livethread 0.1.0"


def test_site_list_shows_every_site_by_name(tmp_path: Path) -> None:
    """`site list` prints each site with its origins and pre-moderation, by name; none: nothing."""
    database = migrated(tmp_path / "admin.db")
    assert livethread("site", "list", "--database", database).stdout == ""
    for name, extra in (("zeta", ["--premoderate"]), ("news", ["--origin", "https://a.example"])):
        assert livethread("site", "add", name, *extra, "--database", database).returncode == 0
    listed = livethread("site", "list", "--database", database)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout == (
        "site news\n  origins: https://a.example\n  premoderation: off\n"
        "site zeta\n  origins: none (only livethread's own pages can post or go live)\n"
        "  premoderation: on (comments wait for a moderator)\n"
    )


def test_site_remove_asks_for_yes_then_takes_its_moderators_tokens(tmp_path: Path) -> None:
    """Without --yes `site remove` says what would go and changes nothing; with it the site is
    gone and its moderator's token no longer works; an unknown site is refused."""
    database = migrated(tmp_path / "admin.db")
    assert livethread("site", "add", "news", "--database", database).returncode == 0
    made = livethread("moderator", "add", "Lisa", "--site", "news", "--database", database)
    token = made.stdout.strip().splitlines()[-1]

    asked = livethread("site", "remove", "news", "--database", database)
    assert asked.returncode == 2
    assert "--yes" in asked.stderr and "comments stay" in asked.stderr.replace("\n", " ")
    assert moderator_of(database, token) == Moderator(name="Lisa", site="news")

    done = livethread("site", "remove", "news", "--yes", "--database", database)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "site news removed (its comments are kept)\n"
    assert moderator_of(database, token) is None
    assert livethread("site", "list", "--database", database).stdout == ""
    again = livethread("site", "remove", "news", "--yes", "--database", database)
    assert again.returncode == 2 and "no site 'news'" in again.stderr


def test_moderator_rotate_gives_a_new_token_and_the_old_one_stops(tmp_path: Path) -> None:
    """`moderator rotate` prints a new token, which works, keeps the moderator's role, and the
    old one stops working; rotating nobody is refused pointing to `moderator add`."""
    database = migrated(tmp_path / "admin.db")
    assert livethread("site", "add", "news", "--database", database).returncode == 0
    made = livethread(
        "moderator", "add", "Lisa", "--site", "news", "--role", "admin", "--database", database
    )
    old = made.stdout.strip().splitlines()[-1]
    rotated = livethread("moderator", "rotate", "Lisa", "--site", "news", "--database", database)
    assert rotated.returncode == 0, rotated.stderr
    new = rotated.stdout.strip().splitlines()[-1]
    assert new != old and len(new) >= 40
    assert moderator_of(database, old) is None
    assert moderator_of(database, new) == Moderator(name="Lisa", site="news", role="admin")
    nobody = livethread("moderator", "rotate", "Cy", "--site", "news", "--database", database)
    assert nobody.returncode == 2 and "moderator add" in nobody.stderr
