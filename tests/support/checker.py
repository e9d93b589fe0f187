"""The invariant checker: what the database committed against what each reader holds.

It reports, per reader, events missing, duplicated and out of order (invariant 3), removed
comments whose text came back (invariant 4), and acknowledged posts the database lost
(invariant 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from server import events
from server.threads.ports import StoredEvent
from tests.support.follower import Follower


@dataclass(frozen=True)
class Report:
    reader: str
    delivered: int
    missing: int
    duplicated: int
    out_of_order: int
    resurrected: int

    @property
    def clean(self) -> bool:
        return not (self.missing or self.duplicated or self.out_of_order or self.resurrected)


@dataclass(frozen=True)
class Truth:
    """The thread as committed: its events in seq order."""

    events: list[events.DurableEvent]

    @classmethod
    def of(cls, stored: Iterable[StoredEvent]) -> Truth:
        return cls([events.decode_event(e.payload) for e in stored])

    @property
    def seqs(self) -> set[int]:
        return {e.seq for e in self.events}

    @property
    def removed(self) -> set[str]:
        gone: set[str] = set()
        for e in self.events:
            if isinstance(e, events.CommentRemoved):
                gone.add(e.id)
            elif isinstance(e, events.CommentRestored | events.CommentApproved):
                gone.discard(e.comment.id)
        return gone

    @property
    def created(self) -> set[str]:
        return {e.comment.id for e in self.events if isinstance(e, events.CommentCreated)}

    def lost(self, acknowledged: Iterable[str]) -> set[str]:
        """Acknowledged comment ids (201 answers) the database does not have."""
        return set(acknowledged) - self.created


def check(truth: Truth, reader: Follower) -> Report:
    seqs = [e.seq for e in reader.received]
    duplicated = len(seqs) - len(set(seqs))
    out_of_order = 0
    seen: set[int] = set()
    highest = 0
    for seq in seqs:
        if seq not in seen and seq < highest:
            out_of_order += 1
        seen.add(seq)
        highest = max(highest, seq)
    # A resync replaces the reader's state with a snapshot: events it covers need not arrive.
    missing = 0 if reader.resyncs else len(truth.seqs - seen)
    removed = truth.removed
    resurrected = sum(1 for cid in removed if reader.shown.get(cid) is not None)
    return Report(
        reader=reader.name,
        delivered=len(seqs),
        missing=missing,
        duplicated=duplicated,
        out_of_order=out_of_order,
        resurrected=resurrected,
    )
