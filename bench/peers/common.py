"""What the peer servers share: command line, file limit, uvicorn options, the hello frame."""

from __future__ import annotations

import argparse
import contextlib
import resource
from collections.abc import Sequence
from typing import Any

# Sent once a reader is registered, so the load generator knows when it will get every event.
HELLO = '{"type":"hello"}'


def parse_args(prog: str, doc: str | None, argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description=doc)
    parser.add_argument("--port", type=int, required=True, help="loopback port to listen on")
    parser.add_argument("--redis", required=True, help="redis://127.0.0.1:PORT/0")
    parser.add_argument(
        "--channel", required=True, help="channel (prefix) on Redis; unique per benchmark run"
    )
    return parser.parse_args(argv)


def raise_file_limit() -> None:
    """Every reader is a file descriptor: lift the soft limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = 1 << 20 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def uvicorn_options(port: int) -> dict[str, Any]:
    """The options livethread serves with (server/web/serving.py), on uvicorn's own sans-I/O
    websocket protocol: the one livethread's protocol extends, with no direct write path."""
    return {
        "host": "127.0.0.1",
        "port": port,
        "log_level": "info",
        "ws": "websockets-sansio",
        "ws_per_message_deflate": False,
        "ws_max_size": 65536,
        "ws_ping_interval": 20.0,
        "ws_ping_timeout": 20.0,
        "lifespan": "on",
    }
