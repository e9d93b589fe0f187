"""`livethread user export|delete EMAIL`: a person's data, found by the email they left.

An operator answers a person's access or erasure request here without touching the database by
hand: `export` prints every comment left with the address as stored (none of our secrets), and
`delete` erases them through the same use-case as an author's own delete, so every open page
drops them live and no replay or retried post shows their text again.
"""

from __future__ import annotations

import argparse
import sys

import msgspec

from server.cli.command import Commands, subcommand, with_store
from server.composition import bus_for, comments_for
from server.settings import Settings
from server.storage import Storage
from server.tokens import UNSUBSCRIBE_SECRET
from workers.notifications.confirmations import address_key


def register(commands: Commands) -> None:
    """Add `user export` and `user delete` to the command line."""
    user = commands.add_parser("user", help="a person's data, found by email")
    user_commands = user.add_subparsers(required=True)
    subcommand(
        user_commands, "export", "print every comment left with EMAIL (JSON)", _export, "email"
    )
    erase = subcommand(
        user_commands,
        "delete",
        "erase every comment left with EMAIL (live on open pages)",
        _delete,
        "email",
    )
    erase.add_argument("--redis", help="Redis URL, to announce the removals at once")


class ExportedComment(msgspec.Struct, frozen=True, kw_only=True):
    """What `user export` gives a person: their comments as stored (no secrets of ours)."""

    id: str
    site: str
    thread: str
    parent: str | None
    name: str
    email: str | None
    website: str | None
    body: str
    status: str
    created: float
    edited: float | None


def _export(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Storage) -> int:
        found = await store.comments.by_email(args.email.strip().lower())
        exported = [
            ExportedComment(
                id=r.id,
                site=r.site,
                thread=r.thread,
                parent=r.parent,
                name=r.author_name,
                email=r.author_email,
                website=r.author_url,
                body=r.body_source,
                status=r.status,
                created=r.created_at,
                edited=r.edited_at,
            )
            for r in found
        ]
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(exported)).decode() + "\n")
        return 0

    return with_store(settings, work)


def _delete(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Storage) -> int:
        bus = bus_for(settings)
        await bus.start()
        try:
            comments = comments_for(store, bus)
            found = await store.comments.by_email(args.email.strip().lower())
            for record in found:
                await comments.erase(record)
            # Its reply-mail consent goes too: a later comment with it asks again.
            secret = settings.secret or await store.secrets.get(UNSUBSCRIBE_SECRET)
            await store.addresses.forget(address_key(secret, args.email))
        finally:
            await bus.close()
        # Without Redis, every server process finds the removals in the event log's tail.
        print(f"erased {len(found)} comment(s) left with {args.email.strip().lower()}")
        return 0

    return with_store(settings, work)
