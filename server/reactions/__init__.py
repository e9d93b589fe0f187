"""The reactions room: readers' likes and emoji reactions on comments, kept per reader and
counted per comment, written in batches and sent to open pages as coalesced frames (never as
events of the thread's log). Its storage port is in ports.py.
"""

# What other rooms may import; the rest is this room's own (tests/test_architecture.py).
__all__ = ["ports", "reacting"]
