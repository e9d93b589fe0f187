"""The webhooks room: a site's events POSTed, signed, to its URLs.

The worker that queues and sends deliveries (worker.py), their signatures (signing.py), its
storage ports (ports.py), and the `livethread webhooks` commands (cli.py).
"""

# What other rooms may import; the rest is this room's own (tests/test_architecture.py).
__all__ = ["cli", "ports", "signing", "worker"]
