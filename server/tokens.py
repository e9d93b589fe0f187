"""Secrets and identifiers: moderator and edit tokens (kept only as hashes), comment ids."""

from __future__ import annotations

import base64
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


def derived_token(idempotency_key: str, salt: str, comment_id: str) -> str:
    """A keyed post's edit token: URL-safe base64 of HMAC-SHA256 keyed with the client's
    Idempotency-Key over the post's random salt and comment id. A retry that presents the key
    gets the same token back; the store, which keeps only the key's hash and the salt, cannot
    make it, and without the (unpublished) salt nobody can make it from a guessable key."""
    mac = hmac.new(idempotency_key.encode(), f"{salt}:{comment_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def new_salt() -> str:
    return secrets.token_urlsafe(16)


def new_comment_id() -> str:
    """Short, URL- and fragment-safe (`#comment-ID`), unguessable enough to not enumerate."""
    return secrets.token_urlsafe(9)


# The name of the database-kept secret that signs unsubscribe links when none is configured.
UNSUBSCRIBE_SECRET = "unsubscribe"


def unsubscribe_token(secret: str, comment_id: str) -> str:
    """The token of an unsubscribe link: hex HMAC-SHA256 of the comment id under `secret`."""
    return hmac.new(secret.encode(), comment_id.encode(), hashlib.sha256).hexdigest()


def unsubscribe_token_matches(secret: str, comment_id: str, token: str) -> bool:
    # Compared as bytes: compare_digest raises TypeError on a str that is not ASCII, and the
    # token comes straight from a query string.
    expected = unsubscribe_token(secret, comment_id).encode()
    return hmac.compare_digest(expected, token.encode("utf-8", "surrogatepass"))
