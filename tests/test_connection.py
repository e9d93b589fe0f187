"""A reader connection's ordering rules (server/web/connection.py) on their own."""

from __future__ import annotations

from server.web.connection import Member


class Recording(Member):
    """A member whose socket is a list."""

    __slots__ = ("sent",)

    def __init__(self) -> None:
        super().__init__(inbox=8)
        self.sent: list[bytes] = []

    def _send(self, payload: bytes) -> None:
        self.sent.append(payload)


def test_a_frame_aside_waits_with_the_held_events_then_goes_straight_out() -> None:
    """While the backlog is sent, a frame aside the seq order waits in its place among the
    live events; once streaming it is sent at once, and it never moves the seq."""
    member = Recording()
    member.push(6, b"six")
    member.aside(b"own")
    member.push(7, b"seven")
    assert member.sent == []
    member.release(5)
    assert member.sent == [b"six", b"own", b"seven"]
    member.aside(b"own again")
    member.push(7, b"seven again")
    member.push(8, b"eight")
    assert member.sent[3:] == [b"own again", b"eight"]
