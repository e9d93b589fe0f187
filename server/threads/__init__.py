"""The threads room: a thread's comments and their live delivery.

Posting, editing, deleting, moderating and locking (comments.py, edits.py, idempotency.py), the
event log's rules (history.py), the snapshot readers load (snapshots.py), titles and URLs
(meta.py), and this process's readers: the hub, its I/O-free rooms and the fan-out scheduler
(hub.py, room.py, fanout.py). Its storage ports are in ports.py.
"""

# What other rooms may import; the rest is this room's own (tests/test_architecture.py).
__all__ = [
    "backlog",
    "comments",
    "counting",
    # The event log's rules: a publisher's import writes its comments' events through them.
    "history",
    "hub",
    "meta",
    "pages",
    "ports",
    "reports",
    "snapshots",
]
