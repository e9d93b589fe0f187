"""What a batch of reaction changes does, shared by the three stores' `Reactions.apply`
(memory_reactions.py, sqlite_reactions.py, postgres_reactions.py): each reads which of the
reactions the batch names are in effect, `settle`s the batch on them here, and writes the
outcome (rows added and removed, counts and versions moved by so much) in its one transaction.

A change is effective when it moves its reaction to the other state; one that asks for the state
already in effect (a page's repeat, a frame crossing another) changes nothing, and the versions
count only effective changes. Changes to one reaction are settled in the batch's order; changes
to different reactions are independent, so the stores may write them in any order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from typing import NamedTuple

from server.model import ThreadKey
from server.reactions.ports import KINDS, CommentReactions, ReactionChange, ReactionKind

# A reaction's key, as the tables key it: (comment id, reader, kind).
Reaction = tuple[str, str, ReactionKind]


def reaction(change: ReactionChange) -> Reaction:
    return (change.comment_id, change.reader, change.kind)


def named(changes: Sequence[ReactionChange]) -> list[Reaction]:
    """The reactions a batch names, once each, sorted: those whose state `settle` needs."""
    return sorted({reaction(change) for change in changes})


class Outcome(NamedTuple):
    """A settled batch: what to write, and for which comments to answer."""

    # Each comment named, in the order first named, with the thread its first change named.
    comments: dict[str, ThreadKey]
    # Reactions in effect after the batch and not before (the last effective change of each).
    added: list[ReactionChange]
    # Reactions in effect before the batch and not after.
    removed: list[Reaction]
    # How much the batch moves each (comment id, kind)'s count: never 0.
    counts: dict[tuple[str, ReactionKind], int]
    # How many effective changes the batch makes to each comment's reactions: never 0.
    versions: dict[str, int]


def settle(changes: Sequence[ReactionChange], present: Collection[Reaction]) -> Outcome:
    """The batch applied in order to the reactions in effect before it (`present`: at least
    those of them it names)."""
    comments: dict[str, ThreadKey] = {}
    state: dict[Reaction, bool] = {}
    last: dict[Reaction, ReactionChange] = {}
    counts: Counter[tuple[str, ReactionKind]] = Counter()
    versions: Counter[str] = Counter()
    for change in changes:
        comments.setdefault(change.comment_id, change.key)
        key = reaction(change)
        before = state.get(key, key in present)
        if before == change.on:
            continue
        state[key] = change.on
        last[key] = change
        counts[(change.comment_id, change.kind)] += 1 if change.on else -1
        versions[change.comment_id] += 1
    return Outcome(
        comments=comments,
        added=[last[key] for key, on in state.items() if on and key not in present],
        removed=[key for key, on in state.items() if not on and key in present],
        counts={key: n for key, n in counts.items() if n},
        versions=dict(versions),
    )


def gather(
    rows: Iterable[tuple[str, int, str | None, int | None]], order: Iterable[str] | None = None
) -> list[CommentReactions]:
    """CommentReactions from rows of (comment id, version, kind, count), a comment with no
    count but its version having one row of (id, version, None, None): in `order` (a comment
    without rows at version 0, no counts), else by comment id. Counts of 0 are left out."""
    versions: dict[str, int] = {}
    counts: dict[str, dict[str, int]] = {}
    for comment_id, version, kind, n in rows:
        versions[comment_id] = int(version)
        found = counts.setdefault(comment_id, {})
        if kind is not None and n:
            found[kind] = int(n)
    return [
        CommentReactions(
            comment_id=comment_id,
            version=versions.get(comment_id, 0),
            counts=_in_order(counts.get(comment_id, {})),
        )
        for comment_id in (sorted(versions) if order is None else order)
    ]


def _in_order(counts: dict[str, int]) -> dict[ReactionKind, int]:
    return {kind: counts[kind] for kind in KINDS if kind in counts}


def by_comment(rows: Iterable[tuple[str, str]]) -> dict[str, list[ReactionKind]]:
    """A reader's reactions from rows of (comment id, kind): kinds in KINDS order."""
    found: dict[str, set[str]] = {}
    for comment_id, kind in rows:
        found.setdefault(comment_id, set()).add(kind)
    return {
        comment_id: [kind for kind in KINDS if kind in kinds]
        for comment_id, kinds in sorted(found.items())
    }
