"""The room (server/threads/room.py) on its own: ordering and repair with no I/O at all.

The room is driven by hand here: events in, the sends and repair requests it makes out. Nothing
awaits, no store or bus exists; that is what makes it I/O-free.
"""

from __future__ import annotations

from server import events
from server.model import ThreadKey
from server.threads import own
from server.threads.fanout import Kind
from server.threads.ports import StoredEvent
from server.threads.room import Room

KEY = ThreadKey("news", "t")
LIMIT = 100


class Probe:
    """Records what a room sends and when it asks for a repair."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, bool]] = []
        self.repairs = 0

    def send(self, room: Room, seq: int, payload: bytes, kind: Kind) -> None:
        assert events.seq_of(payload) == seq
        self.sent.append((seq, kind == "reset"))

    def repair(self, room: Room) -> None:
        self.repairs += 1


def _room(seq: int = 0) -> tuple[Room, Probe]:
    probe = Probe()
    room = Room(KEY, send=probe.send, repair=probe.repair)
    room.start(seq)
    return room, probe


def _event(seq: int) -> bytes:
    return events.encode(events.ThreadLocked(seq=seq))


def _stored(*seqs: int) -> list[StoredEvent]:
    return [StoredEvent(seq=s, payload=_event(s)) for s in seqs]


def test_events_in_order_pass_straight_through() -> None:
    """Each next seq is sent at once, repeats and older seqs are dropped, and no repair is asked."""
    room, probe = _room()
    for seq in (1, 2, 2, 1, 3):
        room.deliver(_event(seq))
    assert probe.sent == [(1, False), (2, False), (3, False)]
    assert probe.repairs == 0
    assert room.seq == 3


def test_a_gap_asks_for_one_repair_and_the_read_fills_it_in_order() -> None:
    """An event ahead of the room is held and one repair asked; what the store gives back is
    sent in seq order, then the held events, and the room is whole again."""
    room, probe = _room(1)
    room.deliver(_event(3))
    room.deliver(_event(4))
    assert probe.sent == []
    assert probe.repairs == 1
    assert room.repaired(_stored(2, 3), LIMIT) is True
    room.repair_ended()
    assert probe.sent == [(2, False), (3, False), (4, False)]
    room.deliver(_event(5))
    assert probe.sent[-1] == (5, False)
    assert probe.repairs == 1


def test_events_the_store_no_longer_has_end_in_a_resync() -> None:
    """When the read starts past the room's next seq (pruned), members are told to resync."""
    room, probe = _room(1)
    room.deliver(_event(9))
    assert room.repaired(_stored(7, 8, 9), LIMIT) is True
    assert probe.sent == [(9, True)]
    assert room.seq == 9


def test_news_of_the_store_during_a_repair_reads_again() -> None:
    """A tail check that finds the thread further on while a repair runs makes that repair read
    once more instead of asking for a second one."""
    room, probe = _room(1)
    room.deliver(_event(3))
    room.store_reached(5)
    assert probe.repairs == 1
    assert room.repaired(_stored(2, 3), LIMIT) is False
    assert room.repaired(_stored(4, 5), LIMIT) is True
    room.repair_ended()
    assert [seq for seq, _ in probe.sent] == [2, 3, 4, 5]
    assert probe.repairs == 1


def test_a_full_read_asks_for_the_next_page() -> None:
    """A read that fills its limit may have left events behind: the room asks to read on."""
    room, probe = _room(0)
    room.store_reached(3)
    assert room.repaired(_stored(1, 2), 2) is False
    assert room.repaired(_stored(3), 2) is True
    assert [seq for seq, _ in probe.sent] == [1, 2, 3]


class Own:
    """A member that records the frames it is given aside the seq order."""

    reader = True

    def __init__(self, address: str | None) -> None:
        self.address = address
        self.aside_frames: list[bytes] = []

    def push(self, seq: int, payload: bytes) -> None:
        raise AssertionError("an own frame is no event")

    def reset(self, seq: int, payload: bytes) -> None:
        raise AssertionError("an own frame is no event")

    def aside(self, payload: bytes) -> None:
        self.aside_frames.append(payload)


def test_an_own_frame_reaches_only_its_authors_members_and_moves_no_seq() -> None:
    """A shadow comment's message goes to the members from its author's address only, even
    while the room repairs a gap, and neither sends an event nor changes the room's seq."""
    room, probe = _room(seq=5)
    author, other, nobody = Own("hash-a"), Own("hash-b"), Own(None)
    room.members.update({author, other, nobody})
    frame = events.encode(events.ThreadUnlocked(seq=0))
    room.deliver(_event(7))  # a gap: the room now repairs
    room.deliver(own.message("hash-a", frame))
    assert author.aside_frames == [frame]
    assert other.aside_frames == nobody.aside_frames == []
    assert probe.sent == [] and room.seq == 5 and probe.repairs == 1
