"""What every `livethread` command group shares: the --database option and a store to work on.

Each group in `server/cli/` (`serve`, `sites`, `threads`, `users`, `moderators`, `webhooks`,
`rules`) adds its own subcommands in its `register`, which `main` calls; a handler takes the parsed
arguments and the settings and returns the exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeAlias

from server.composition import store_for
from server.settings import PREFIX, Settings, SettingsError
from server.storage import Storage, StoreUnavailable

# A string: argparse._SubParsersAction is generic only to type checkers.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Handler: TypeAlias = Callable[[argparse.Namespace, Settings], int]


def subcommand(
    commands: Commands, name: str, help: str, handler: Handler, *positionals: str
) -> argparse.ArgumentParser:
    """A command that works on the database: its positional arguments, --database, and the
    handler that runs it. Add its other options to the parser it returns."""
    parser = commands.add_parser(name, help=help)
    for positional in positionals:
        parser.add_argument(positional)
    database(parser)
    parser.set_defaults(handler=handler)
    return parser


def database(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        help="sqlite:///PATH (default sqlite:///./livethread.db) or postgresql://USER@HOST/NAME",
    )


def with_store(
    settings: Settings, work: Callable[[Storage], Awaitable[int]], *, create: bool = False
) -> int:
    """Open the configured store, run `work` on it, close it; the exit code `work` returns.

    Only `create` (serve, migrate, worker) may make a new SQLite file. An admin command run
    before the env file that names the real database is in place would otherwise make one in
    the current folder, and the site or moderator it adds would silently miss production."""
    if not create:
        _require_database(settings)

    async def run() -> int:
        store = store_for(settings)
        try:
            await store.open()
        except StoreUnavailable as exc:
            # Unreachable, refused, not there: what to fix is the setting that names it.
            raise SettingsError(
                f"cannot open the database named by --database or {PREFIX}DATABASE "
                f"({redacted(settings.database)}): {exc}"
            ) from None
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def redacted(url: str) -> str:
    """A database URL without its password (in `user:password@` or a `password=` query
    parameter, as libpq allows), for messages."""
    url = _QUERY_PASSWORD.sub(r"\1***", url)
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not (sep and at) or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"


def _require_database(settings: Settings) -> None:
    # A server database (PostgreSQL) is made by its operator; opening it says if it is missing.
    if settings.database == "memory:" or not settings.database.startswith("sqlite:///"):
        return
    path = settings.database.removeprefix("sqlite:///")
    if Path(path).exists():
        return
    # A relative path is relative to the current folder, which is what surprises people.
    where = path if Path(path).is_absolute() else f"{path} ({Path(path).resolve()})"
    raise SettingsError(
        f"no database at {where}, named by --database or {PREFIX}DATABASE (default "
        f"{Settings().database}); create it with `livethread migrate`, or point to yours "
        "(--database sqlite:///PATH, or --env-file /etc/livethread.env before the command)"
    )
