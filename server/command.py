"""What every `livethread` command group shares: the --database option and a store to work on.

The groups (`rules_cli`, `user_cli`, `webhooks_cli`, and the commands in `cli`) each add their
own subcommands; a handler takes the parsed arguments and the settings and returns the exit code.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeAlias

from server.ports import Store
from server.settings import Settings
from server.web.app import store_for

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
    parser.add_argument("--database", help="sqlite:///PATH (default sqlite:///./livethread.db)")


def with_store(settings: Settings, work: Callable[[Store], Awaitable[int]]) -> int:
    """Open the configured store, run `work` on it, close it; the exit code `work` returns."""

    async def run() -> int:
        store = store_for(settings)
        await store.open()
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())
