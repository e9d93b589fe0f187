"""The `livethread` command: admin commands, migrations, and refusing a setup that cannot work."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from server.cli.sites import OriginError, origin
from server.model import Site
from server.settings import Settings, SettingsError, environment
from server.tokens import token_hash
from server.web.app import store_for
from tests.support.command import livethread, migrated


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
    database = migrated(tmp_path / "admin.db")
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
            site = await store.sites.get("news")
            assert site is not None and site.origins == ("https://news.example",)
            moderator = await store.moderators.by_token(token_hash(token))
            assert moderator is not None and moderator.name == "Lisa West"
        finally:
            await store.close()

    asyncio.run(check())
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("admin.db*"))
    assert token.encode() not in raw


def test_moderator_for_unknown_site_is_refused(tmp_path: Path) -> None:
    """Adding a moderator to a site that does not exist fails with a clear message."""
    database = migrated(tmp_path / "admin.db")
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


def _site(database: str, name: str = "news") -> Site | None:
    async def read() -> Site | None:
        store = store_for(Settings(database=database))
        await store.open()
        try:
            return await store.sites.get(name)
        finally:
            await store.close()

    return asyncio.run(read())


ADMIN_COMMANDS = [
    ("site", "add", "news", "--origin", "https://news.example"),
    ("site", "set", "news", "--premoderate"),
    ("site", "show", "news"),
    ("moderator", "add", "Lisa West", "--site", "news"),
    ("moderator", "revoke", "Lisa West", "--site", "news"),
    ("moderator", "list", "--site", "news"),
    ("rules", "show", "news"),
    ("webhooks", "list", "news"),
    ("webhooks", "failed"),
    ("user", "export", "ann@example.com"),
]


@pytest.mark.parametrize("command", ADMIN_COMMANDS, ids=" ".join)
def test_admin_commands_refuse_a_missing_database_and_create_none(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """Run where no database is (the default ./livethread.db), an admin command exits 2 in one
    line naming the path and `livethread migrate`, and leaves no file behind."""
    done = livethread(*command, cwd=tmp_path)
    assert done.returncode == 2, done.stdout
    (line,) = done.stderr.splitlines()
    assert line.startswith("livethread: error: no database at ./livethread.db")
    assert str(tmp_path / "livethread.db") in line
    assert "LIVETHREAD_DATABASE" in line and "`livethread migrate`" in line
    assert list(tmp_path.iterdir()) == []


def test_migrate_creates_the_database_admin_commands_then_use(tmp_path: Path) -> None:
    """`migrate` still creates the database; the admin commands work on it afterwards."""
    assert livethread("migrate", cwd=tmp_path).returncode == 0
    assert (tmp_path / "livethread.db").exists()
    added = livethread("site", "add", "news", cwd=tmp_path)
    assert added.returncode == 0, added.stderr


def test_env_file_overrides_the_environment_and_flags_override_both(tmp_path: Path) -> None:
    """`--env-file` takes LIVETHREAD_* from a systemd-style file over the inherited variables;
    `--database` on the command line wins over both."""
    databases = {}
    for name in ("file", "environment", "flag"):
        databases[name] = migrated(tmp_path / f"{name}.db")
        origin = f"https://{name}.example"
        added = livethread("site", "add", "news", "--origin", origin, "--database", databases[name])
        assert added.returncode == 0, added.stderr
    env_file = tmp_path / "livethread.env"
    env_file.write_text(
        "# /etc/livethread.env\n"
        f'LIVETHREAD_DATABASE="{databases["file"]}"\n'
        "LIVETHREAD_LOG_LEVEL=warning\n"
    )
    inherited = {"LIVETHREAD_DATABASE": databases["environment"]}

    def shown(*args: str) -> str:
        done = livethread(*args, "site", "show", "news", env=inherited)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "https://environment.example" in shown()
    assert "https://file.example" in shown("--env-file", str(env_file))
    flagged = livethread(
        "--env-file", str(env_file), "site", "show", "news", "--database", databases["flag"]
    )
    assert "https://flag.example" in flagged.stdout, flagged.stderr


@pytest.mark.parametrize("name", ["missing.env", "."])
def test_an_env_file_that_cannot_be_read_is_refused_naming_it(tmp_path: Path, name: str) -> None:
    """A missing or unreadable env file exits 2 naming the file; nothing runs on the defaults."""
    path = tmp_path / name
    done = livethread("--env-file", str(path), "migrate", cwd=tmp_path)
    assert done.returncode == 2
    assert f"--env-file {path}: cannot read it" in done.stderr
    assert not (tmp_path / "livethread.db").exists()


def test_the_env_file_is_read_as_systemd_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Quotes and comments as systemd's EnvironmentFile, no $-expansion (a secret keeps its
    `$`), only LIVETHREAD_* names taken, and the file's value over the inherited one."""
    monkeypatch.setenv("LIVETHREAD_PORT", "1")
    monkeypatch.delenv("OTHER_SETTING", raising=False)
    env_file = tmp_path / "livethread.env"
    env_file.write_text(
        "# a comment\n"
        "LIVETHREAD_PORT=9001\n"
        "LIVETHREAD_SECRET='pa$$word ${HOME}'\n"
        "OTHER_SETTING=ignored\n"
    )
    env = environment(str(env_file))
    assert env["LIVETHREAD_SECRET"] == "pa$$word ${HOME}"
    assert "OTHER_SETTING" not in env
    settings = Settings.from_environ(env)
    assert (settings.port, settings.secret) == (9001, "pa$$word ${HOME}")
    assert Settings.from_environ(environment()).port == 1


def test_site_add_refuses_an_existing_site_and_changes_nothing(tmp_path: Path) -> None:
    """`site add` on an existing name exits 2 pointing to `site set`; the site keeps its
    origins (it used to be replaced, origins wiped)."""
    database = migrated(tmp_path / "admin.db")
    first = livethread(
        "site", "add", "news", "--origin", "https://news.example", "--database", database
    )
    assert first.returncode == 0, first.stderr
    assert (
        first.stdout == "site news added\n  origins: https://news.example\n  premoderation: off\n"
    )
    again = livethread("site", "add", "news", "--premoderate", "--database", database)
    assert again.returncode == 2
    assert "site 'news' exists" in again.stderr and "livethread site set news" in again.stderr
    assert _site(database) == Site(name="news", origins=("https://news.example",))


def test_site_set_changes_only_the_options_given(tmp_path: Path) -> None:
    """`site set` changes what it is given and keeps the rest; each run prints the site."""
    database = migrated(tmp_path / "admin.db")
    livethread("site", "add", "news", "--origin", "https://a.example", "--database", database)

    def site_set(*args: str) -> str:
        done = livethread("site", "set", "news", *args, "--database", database)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert site_set("--premoderate") == (
        "site news changed\n  origins: https://a.example\n"
        "  premoderation: on (comments wait for a moderator)\n"
    )
    assert _site(database) == Site(name="news", origins=("https://a.example",), premoderate=True)
    site_set("--add-origin", "https://b.example", "--add-origin", "https://a.example")
    assert _site(database) == Site(
        name="news", origins=("https://a.example", "https://b.example"), premoderate=True
    )
    site_set("--remove-origin", "HTTPS://A.example/")
    assert _site(database) == Site(name="news", origins=("https://b.example",), premoderate=True)
    site_set("--origin", "https://c.example", "--origin", "http://localhost:8080")
    assert _site(database) == Site(
        name="news", origins=("https://c.example", "http://localhost:8080"), premoderate=True
    )
    assert site_set("--no-premoderate").endswith("  premoderation: off\n")
    assert site_set().startswith("site news unchanged\n")
    shown = livethread("site", "show", "news", "--database", database)
    assert shown.stdout == (
        "site news\n  origins: https://c.example, http://localhost:8080\n  premoderation: off\n"
    )


@pytest.mark.parametrize(
    "change",
    [
        ("--premoderate", "--origin", "https://ok.example", "--origin", "ok.example"),
        ("--premoderate", "--add-origin", "https://ok.example", "--add-origin", "ftp://ok.example"),
        ("--premoderate", "--remove-origin", "https://not-there.example"),
    ],
    ids=["origin", "add-origin", "remove-origin"],
)
def test_site_set_with_one_bad_value_changes_nothing(
    tmp_path: Path, change: tuple[str, ...]
) -> None:
    """One bad origin among good ones, or removing one the site does not have: exit 2 naming
    the option, and nothing changes, not even the valid options given with it."""
    database = migrated(tmp_path / "admin.db")
    livethread("site", "add", "news", "--origin", "https://a.example", "--database", database)
    done = livethread("site", "set", "news", *change, "--database", database)
    assert done.returncode == 2
    option = change[-2]
    assert done.stderr.startswith(f"livethread: error: {option} ")
    assert done.stdout == ""
    assert _site(database) == Site(name="news", origins=("https://a.example",))


def test_site_set_and_show_refuse_an_unknown_site(tmp_path: Path) -> None:
    """`site set` and `site show` of a site that does not exist exit 2 saying so; none is made."""
    database = migrated(tmp_path / "admin.db")
    for command in ("set", "show"):
        done = livethread("site", command, "nowhere", "--database", database)
        assert done.returncode == 2
        assert "no site 'nowhere'" in done.stderr and "livethread site add nowhere" in done.stderr
    assert _site(database, "nowhere") is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://news.example.com", "https://news.example.com"),
        ("HTTPS://News.Example.COM/", "https://news.example.com"),
        ("https://news.example.com:443", "https://news.example.com"),
        ("http://news.example.com:80/", "http://news.example.com"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("https://[::1]:8443", "https://[::1]:8443"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
    ],
)
def test_an_origin_is_stored_as_browsers_send_it(given: str, expected: str) -> None:
    """Case, a trailing slash and a default port are normalised away, as in a browser's Origin."""
    assert origin(given) == expected


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("news.example.com", "has no scheme"),
        ("https://news.example.com/path", "has a path (/path)"),
        ("https://news.example.com/?x=1", "has a query or fragment"),
        ("https://news.example.com#top", "has a query or fragment"),
        ("https://user:pw@news.example.com", "has user info"),
        ("ftp://news.example.com", "not http or https"),
        ("https://news.example.com:99999", "has a port that is not"),
        ("https://news.example.com:0", "has a port that is not"),
        ("https://", "has no valid host"),
        ("https://news example.com", "has no valid host"),
        ("*", "has no scheme"),
    ],
)
def test_what_is_not_an_origin_is_refused_with_its_shape(given: str, problem: str) -> None:
    """A bare host, a path, a query, user info, another scheme, a bad port or host: refused
    with a message naming the option, what is wrong, and the expected shape."""
    with pytest.raises(OriginError) as refused:
        origin(given, "--add-origin")
    message = str(refused.value)
    assert message.startswith(f"--add-origin {given!r} ")
    assert problem in message
    assert "scheme://host[:port]" in message and "--add-origin https://" in message


def test_site_add_refuses_a_bad_origin_and_adds_nothing(tmp_path: Path) -> None:
    """`site add --origin news.example.com` exits 2 with the shape to use; no site is made."""
    database = migrated(tmp_path / "admin.db")
    done = livethread(
        "site", "add", "news", "--origin", "https://ok.example", "--origin", "news.example.com",
        "--database", database,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--origin 'news.example.com' has no scheme" in done.stderr
    assert "scheme://host[:port]" in done.stderr
    assert _site(database) is None


def test_moderator_list_shows_names_and_revoke_deletes_the_token(tmp_path: Path) -> None:
    """`moderator list` prints the site's moderators by name and no token; `moderator revoke`
    deletes one's token (which then authenticates nobody) and exits 2 for an unknown one."""
    database = migrated(tmp_path / "admin.db")
    assert livethread("site", "add", "news", "--database", database).returncode == 0
    tokens = []
    for name in ("Olaf", "Lisa West"):
        made = livethread("moderator", "add", name, "--site", "news", "--database", database)
        assert made.returncode == 0, made.stderr
        tokens.append(made.stdout.strip().splitlines()[-1])
    listed = livethread("moderator", "list", "--site", "news", "--database", database)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout == "Lisa West\nOlaf\n"
    assert not any(token in listed.stdout + listed.stderr for token in tokens)

    revoked = livethread("moderator", "revoke", "Olaf", "--site", "news", "--database", database)
    assert revoked.returncode == 0, revoked.stderr
    again = livethread("moderator", "revoke", "Olaf", "--site", "news", "--database", database)
    assert again.returncode == 2 and "no moderator 'Olaf'" in again.stderr
    unknown = livethread("moderator", "list", "--site", "nowhere", "--database", database)
    assert unknown.returncode == 2 and "no site 'nowhere'" in unknown.stderr
    listed = livethread("moderator", "list", "--site", "news", "--database", database)
    assert listed.stdout == "Lisa West\n"

    async def who(token: str) -> str | None:
        store = store_for(Settings(database=database))
        await store.open()
        try:
            found = await store.moderators.by_token(token_hash(token))
            return None if found is None else found.name
        finally:
            await store.close()

    assert asyncio.run(who(tokens[0])) is None
    assert asyncio.run(who(tokens[1])) == "Lisa West"
