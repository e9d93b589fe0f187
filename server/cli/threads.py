"""`livethread thread set|show SITE THREAD`: a thread's title and article URL.

`set` changes only the options given (`--title ""` clears the title, and a mail then names the
thread by its id; `--url ""` clears the URL, and mails link to this server's page of it). The
URL must be on one of the site's origins, as for a moderator's `retitle`; a bad value changes
nothing and exits 2 naming the option.
"""

from __future__ import annotations

import argparse
import sys

from server.cli.command import Commands, subcommand, with_store
from server.errors import Refusal
from server.model import ThreadState
from server.settings import Settings
from server.storage import Storage
from server.threads.meta import ThreadMetas
from server.validation import validate_ids


def register(commands: Commands) -> None:
    """Add `thread set` and `thread show` to the command line."""
    thread = commands.add_parser("thread", help="manage threads").add_subparsers(required=True)
    put = subcommand(thread, "set", "set a thread's title, URL and byline", _set, "site", "thread")
    put.add_argument("--title", help="the article's title (plain text, 200 characters at most)")
    put.add_argument("--url", help="the article's address, on one of the site's origins")
    put.add_argument(
        "--byline",
        metavar="NAME",
        help="the article's author (a moderator of that name gets the author badge; '' clears)",
    )
    subcommand(thread, "show", "print a thread's title and URL", _show, "site", "thread")


def _describe(state: ThreadState) -> str:
    title = state.title or f"none (mails say {state.thread!r})"
    url = state.url or "none (mails link to this server's page of the thread)"
    byline = state.byline or "none"
    return (
        f"thread {state.site}/{state.thread}\n  title: {title}\n  url: {url}\n  byline: {byline}\n"
    )


def _set(args: argparse.Namespace, settings: Settings) -> int:
    key = validate_ids(args.site, args.thread)

    async def work(store: Storage) -> int:
        try:
            metas = ThreadMetas(store.threads, store.sites)
            if args.byline is not None:
                state = await metas.name_byline(key, args.byline)
            if args.byline is None or args.title is not None or args.url is not None:
                state = await metas.retitle(key, title=args.title, url=args.url)
        except Refusal as exc:
            problems = "; ".join(f"--{name}: {why}" for name, why in exc.fields.items())
            print(f"livethread: error: {problems or exc.message}", file=sys.stderr)
            return 2
        print(_describe(state), end="")
        return 0

    return with_store(settings, work)


def _show(args: argparse.Namespace, settings: Settings) -> int:
    key = validate_ids(args.site, args.thread)

    async def work(store: Storage) -> int:
        if await store.sites.get(key.site) is None:
            print(f"livethread: error: no site {key.site!r}", file=sys.stderr)
            return 2
        print(_describe(await store.threads.state(key)), end="")
        return 0

    return with_store(settings, work)
