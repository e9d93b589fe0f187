"""The reactions room's storage port: each reader's reactions and each comment's counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

import msgspec

from server.model import ThreadKey

# The fixed set a reader may react with; "like" is what "best" sorts by.
ReactionKind = Literal["like", "love", "laugh", "wow", "sad"]
KINDS: tuple[ReactionKind, ...] = ("like", "love", "laugh", "wow", "sad")


class ReactionChange(msgspec.Struct, frozen=True, kw_only=True):
    """One reader's reaction of one kind on a comment set (`on`) or cleared. `reader` is an
    opaque key the core makes (a signed-in account's key, or a keyed hash of a browser's
    anonymous key): one reaction per reader, comment and kind."""

    site: str
    thread: str
    comment_id: str
    reader: str
    kind: ReactionKind
    on: bool

    @property
    def key(self) -> ThreadKey:
        return ThreadKey(self.site, self.thread)


class CommentReactions(msgspec.Struct, frozen=True, kw_only=True):
    """A comment's reaction counts (kinds with none absent). `version` counts the changes ever
    made to them, so of two readings the larger is the later: pages keep the newest when frames
    from several processes cross."""

    comment_id: str
    version: int
    counts: dict[ReactionKind, int]


class Reactions(Protocol):
    """Readers' reactions and the counts kept beside them."""

    async def apply(self, changes: Sequence[ReactionChange]) -> list[CommentReactions]:
        """Apply the changes in order, all in one transaction (one commit for the batch): a
        change to the state a reaction is already in changes nothing. Returns, once durable,
        the counts of every comment the batch names, as they are after it, in the order each
        was first named (version unchanged for a comment nothing changed)."""
        ...

    async def of_thread(self, key: ThreadKey) -> list[CommentReactions]:
        """The counts of the thread's comments that ever had a reaction (an indexed read: a
        reader is sent them as their socket opens)."""
        ...

    async def of_reader(self, key: ThreadKey, reader: str) -> dict[str, list[ReactionKind]]:
        """One reader's reactions in the thread, by comment id (kinds in KINDS order)."""
        ...
