"""The `livethread` command: serve, migrate, and the admin commands for sites and moderators.

Settings come from the environment, then `--env-file PATH` (the file the systemd units read)
over it, then the command's flags. Admin commands refuse a database that does not exist yet;
`serve`, `migrate` and `worker` create it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import metadata

from server.cli import (
    audit,
    backup,
    bans,
    copy,
    exporting,
    importing,
    moderators,
    rules,
    serve,
    sign_in,
    sites,
    threads,
    users,
)
from server.errors import Refusal
from server.settings import Settings, SettingsError, environment
from server.storage import StoreError
from server.validation import RequestError
from workers.webhooks import cli as webhooks


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_environ(
            environment(args.env_file),
            host=getattr(args, "host", None),
            port=getattr(args, "port", None),
            workers=getattr(args, "workers", None),
            database=getattr(args, "database", None),
            redis=getattr(args, "redis", None),
            demo=True if getattr(args, "demo", False) else None,
            run_workers=False if getattr(args, "no_workers", False) else None,
            worker_names=",".join(args.names) if getattr(args, "names", None) else None,
        )
        handler: Callable[[argparse.Namespace, Settings], int] = args.handler
        return handler(args, settings)
    except (SettingsError, RequestError, StoreError, Refusal) as exc:
        # A use-case's refusal (a ban of nobody, a lift of no ban) reads as the API's would.
        message = exc.message if isinstance(exc, RequestError | Refusal) else str(exc)
        print(f"livethread: error: {message}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="livethread", description=__doc__)
    parser.add_argument("--version", action="version", version=f"livethread {_version()}")
    parser.add_argument(
        "--env-file",
        metavar="PATH",
        help="read LIVETHREAD_* settings from this systemd-style environment file (e.g. "
        "/etc/livethread.env); they override the environment, the command's flags override both",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve.register(commands)

    sites.register(commands)
    sign_in.register(commands)
    threads.register(commands)
    users.register(commands)

    moderators.register(commands)
    audit.register(commands)
    bans.register(commands)

    webhooks.register(commands)
    rules.register(commands)
    copy.register(commands)
    importing.register(commands)
    exporting.register(commands)
    backup.register(commands)
    return parser


def _version() -> str:
    """The installed package's version (as pip knows it)."""
    try:
        return metadata.version("livethread")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"
