"""The sites room: publishers and the people who moderate them. Its storage ports are in
ports.py; the command line's `site` and `moderator` commands are in server/cli/."""

# What other rooms may import; the rest is this room's own (tests/test_architecture.py).
__all__ = ["administration", "ports"]
