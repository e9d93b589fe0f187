"""The reply-mail room: an author mailed when someone replies, after a double opt-in.

The worker (worker.py), the opt-in's confirmation mails and keys (confirmations.py), and its
storage ports (ports.py). The unsubscribe and confirm pages are on the web edge
(server/web/unsubscribe.py, server/web/confirm.py); erasing an address is `livethread user
delete` (server/cli/users.py).
"""

# What other rooms may import; the rest is this room's own (tests/test_architecture.py).
__all__ = ["confirmations", "ports", "worker"]
