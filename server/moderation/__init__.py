"""The moderation room: what moderators and auto-moderation decide about comments.

The actions table (actions.py), the review queue and its live frames (review.py), each site's
rules (rules.py) and the post-time checks that apply them (automod.py), the audit log of
decisions (audit.py), and the bans on people (bans.py) with the retention of what they need
(retention.py). Its storage ports are in
ports.py. The classifier worker (workers/classifier.py) calls out to a site's classifier and
decides through the same actions.
"""

# What other rooms may import; the rest is this room's own (tests/test_architecture.py).
__all__ = ["actions", "audit", "automod", "bans", "ports", "retention", "review", "rules"]
