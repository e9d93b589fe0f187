"""Every bus channel livethread uses, named in one place (the bus adds its own prefix).

Redis pub/sub delivers at most once and only to those listening at that moment, so no channel
carries anything that is not also in the database: each is a fast path, repaired from the store.
"""

from __future__ import annotations

from server.model import ThreadKey

# Announced after every commit, so log readers (workers) wake without polling.
LOG = "log"


def thread(key: ThreadKey) -> str:
    """A thread's events, as readers get them (the bytes the store committed); and frames
    outside the seq order: `EVERYONE` + a frame for all its readers (reaction counts), and a
    shadow comment for its author's sockets only (server/threads/own.py)."""
    return f"thread:{key.site}:{key.thread}"


# A thread-channel message starting so is a frame for every reader, aside the seq order.
EVERYONE = b"all:"


def moderation(site: str) -> str:
    """A site's review-queue changes, for the moderators' sockets."""
    return f"moderation:{site}"


def moderators(site: str) -> str:
    """Says a site's moderator tokens changed (one was revoked or replaced): its moderators'
    sockets check their tokens again. The message's content does not matter."""
    return f"moderators:{site}"
