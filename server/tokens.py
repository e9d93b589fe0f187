"""Secrets and identifiers: moderator and edit tokens (kept only as hashes), comment ids."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token() -> str:
    """A bearer secret with 256 bits of entropy, URL-safe."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the store keeps of a token. Tokens are random and long, so a plain hash suffices."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, stored_hash: str | None) -> bool:
    return stored_hash is not None and hmac.compare_digest(token_hash(token), stored_hash)


def new_comment_id() -> str:
    """Short, URL- and fragment-safe (`#comment-ID`), unguessable enough to not enumerate."""
    return secrets.token_urlsafe(9)
