"""Webhook signatures: `X-Livethread-Signature: t=UNIX_SECONDS,v1=HEX`, where HEX is
HMAC-SHA256(secret, f"{t}." + body). The worker signs each attempt; a receiver checks with
`verify` (or the same few lines in its own language: README, "Webhooks")."""

from __future__ import annotations

import hashlib
import hmac
import time

# Receivers should refuse signatures older (or newer) than this many seconds.
TOLERANCE = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of f"{timestamp}." + body under `secret`."""
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Livethread-Signature` value: `t=UNIX_SECONDS,v1=HEX`."""
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    tolerance: float = TOLERANCE,
    now: float | None = None,
) -> bool:
    """Whether `header` (an `X-Livethread-Signature`) signs `body` under `secret`, at a time
    within `tolerance` seconds of `now` (a captured request cannot be replayed later)."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body)
    return any(hmac.compare_digest(expected, c) for c in candidates)
