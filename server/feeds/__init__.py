"""The feeds room: a site's and a thread's recent comments as Atom and RSS 2.0.

What a feed holds and how it is named (feeds.py: visible comments only, read by
`CommentReads.recent`; built with feedgen, loaded at the first feed asked for) and where a
comment is linked (links.py, shared with the reply mails). The routes are the web edge's
(server/web/feeds.py).
"""

# What other rooms may import; the rest is this room's own (tests/test_architecture.py).
__all__ = ["feeds", "links"]
