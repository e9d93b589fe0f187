"""A shadow comment's way to its author's open pages, and to no one else's.

A shadow comment is no event of the thread's log (it takes no seq), so it cannot travel as one.
After its commit it is published on the thread's channel as `OWN` + the author's address hash
+ a newline + its `comment.own` frame; each process's room hands the frame only to its members
connected from that address (server/threads/room.py). A socket that opens later is sent the
author's shadow comments from the store after its backlog (server/threads/backlog.py).
"""

from __future__ import annotations

import logging

from server import channels, events
from server.bus import Bus
from server.model import CommentRecord
from server.moderation.bans import as_shown_to_author

log = logging.getLogger(__name__)

# Starts no JSON frame, so a room tells it from the thread's events at a glance.
OWN = b"own:"


def message(address: str, frame: bytes) -> bytes:
    return OWN + address.encode() + b"\n" + frame


def parse(payload: bytes) -> tuple[str, bytes] | None:
    """The address and frame of an `OWN` message; None for anything else."""
    if not payload.startswith(OWN):
        return None
    address, _, frame = payload[len(OWN) :].partition(b"\n")
    return address.decode(errors="replace"), frame


async def announce(bus: Bus, record: CommentRecord) -> None:
    """Send a shadow comment to its author's open sockets (call after the commit)."""
    assert record.author_address is not None
    frame = events.encode(events.OwnComment(comment=as_shown_to_author(record)))
    if not await bus.publish(channels.thread(record.key), message(record.author_address, frame)):
        # Their page has it from the post's answer; their other pages on their next connect.
        log.warning("bus unavailable; a shadow comment of %s not sent to its author", record.key)
