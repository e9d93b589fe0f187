"""The in-memory twin of the reactions (server/reactions/ports.py), on the shared `Tables`."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from server.adapters.memory_tables import Tables
from server.adapters.reaction_batches import by_comment, gather, named, settle
from server.model import ThreadKey
from server.reactions.ports import KINDS, CommentReactions, ReactionChange, ReactionKind


class MemoryReactions:
    """`Reactions`: a batch settled and written with no await between, so all at once."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def apply(self, changes: Sequence[ReactionChange]) -> list[CommentReactions]:
        t = self._tables
        outcome = settle(changes, {key for key in named(changes) if key in t.reactions})
        for key in outcome.removed:
            del t.reactions[key]
        for change in outcome.added:
            t.reactions[(change.comment_id, change.reader, change.kind)] = change.key
        for count, n in outcome.counts.items():
            t.reaction_counts[count] = t.reaction_counts.get(count, 0) + n
        for comment_id, n in outcome.versions.items():
            thread, version = t.reaction_versions.get(comment_id, (outcome.comments[comment_id], 0))
            t.reaction_versions[comment_id] = (thread, version + n)
            t.reacted.setdefault(thread, set()).add(comment_id)
        return self._read(outcome.comments)

    async def of_thread(self, key: ThreadKey) -> list[CommentReactions]:
        found = self._read(sorted(self._tables.reacted.get(key, ())))
        # A store copied from PostgreSQL may hold comments at version 0 (postgres_reactions.py).
        return [reactions for reactions in found if reactions.version > 0]

    async def of_reader(self, key: ThreadKey, reader: str) -> dict[str, list[ReactionKind]]:
        t = self._tables
        return by_comment(
            (comment_id, kind)
            for comment_id in t.reacted.get(key, ())
            for kind in KINDS
            if (comment_id, reader, kind) in t.reactions
        )

    def _read(self, comment_ids: Collection[str]) -> list[CommentReactions]:
        t = self._tables
        rows = [
            (comment_id, version, kind, t.reaction_counts.get((comment_id, kind)))
            for comment_id in comment_ids
            if comment_id in t.reaction_versions
            for version in (t.reaction_versions[comment_id][1],)
            for kind in KINDS
        ]
        return gather(rows, comment_ids)
