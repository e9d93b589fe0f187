""" "N reading now": each thread's readers counted across every process, and told to them.

Each process knows only its own readers of a thread (its room's members). Every `every`
seconds it reports that number on the thread's channel (`HERE`, its process id and the count)
when it changed, and again every `HEARTBEAT` ticks so others know it is alive; each process
keeps the other processes' last reports per room (`Census`) and forgets a report older than
`TTL` ticks, so the readers of a process that died drop out within about `TTL * every`. A
process that loses a room's last reader reports 0 at once. When a room's total (its own
readers and the others' reports) changed since it was last told, its readers get one
`presence` frame. So presence costs a few bus messages per thread every few seconds and a
frame per reader only when the number moved, never anything per reader per event.
"""

from __future__ import annotations

HERE = b"here:"
# Ticks between a room's reports when its count did not change; ticks after which a report
# not renewed is forgotten (a process gone without saying so).
HEARTBEAT = 5
TTL = 12


def message(process: str, count: int) -> bytes:
    return HERE + f"{process} {count}".encode()


def parse(payload: bytes) -> tuple[str, int] | None:
    """The process and count of a `HERE` report; None for anything else (or a garbled one)."""
    if not payload.startswith(HERE):
        return None
    process, _, count = payload[len(HERE) :].decode(errors="replace").partition(" ")
    if not count.isdigit() or len(count) > 9:
        return None
    return process, int(count)


class Census:
    """One room's view of the other processes' readers, and what this process last did."""

    __slots__ = ("others", "reported", "reported_at", "shown")

    def __init__(self) -> None:
        # process id -> (its readers, the tick its report arrived)
        self.others: dict[str, tuple[int, int]] = {}
        self.reported: int | None = None  # this process's count as last reported
        self.reported_at = 0
        self.shown: int | None = None  # the total the room's readers were last told

    def heard(self, process: str, count: int, tick: int) -> None:
        if count:
            self.others[process] = (count, tick)
        else:
            self.others.pop(process, None)

    def total(self, own: str, local: int, tick: int) -> int:
        """This process's readers and the others' live reports (stale ones forgotten)."""
        for process, (_, heard_at) in list(self.others.items()):
            if tick - heard_at > TTL or process == own:
                del self.others[process]
        return local + sum(count for count, _ in self.others.values())
