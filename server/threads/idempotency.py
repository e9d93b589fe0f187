"""Idempotency keys of posts: a retry with the same `Idempotency-Key` gets the first answer
instead of posting a second comment.

The answer is kept in the store, in the post's own transaction, with a fingerprint of what was
posted, so a key reused for a different comment is refused (422). Answers expire after
`LIVETHREAD_IDEMPOTENCY_TTL_SECONDS` (a day): a key used again after that posts a new comment,
as Stripe's API does. Expired answers are pruned as keyed posts are written, so the table holds
about a day of them. Erasing a comment erases the answer kept for it, so its text cannot come
back through a retry. A duplicate that arrives while the first is still being handled in this
process is refused (409) rather than queued (`Keys.claim`).

No secret is kept in the clear: the store holds the key's SHA-256 (the lookup) and the answer
without its edit token. A keyed post's token is derived from the key the client holds
(`tokens.derived_token`, with a random salt kept beside the answer), so a retry that presents
the key gets the same token back, while a copy of the database cannot produce it; the comment
keeps only the token's hash, as an unkeyed post's random token.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import msgspec

from server.errors import Conflict, Invalid
from server.model import CommentRecord, PublicComment, public
from server.threads.ports import ERASED, IdempotentAnswer, Transaction
from server.tokens import derived_token, new_salt, new_token, token_hash, token_matches
from server.validation import CleanComment


class PostAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """What a successful post answers: the comment and the secret that lets its author edit it."""

    comment: PublicComment
    edit_token: str


class _Kept(msgspec.Struct, frozen=True, kw_only=True):
    """An answer as the store keeps it: no edit token. `salt` (with the key, which only the
    client holds) derives the token again; empty for an erased comment and for answers kept
    before tokens were derived, which a retry gets with no token."""

    comment: PublicComment
    salt: str = ""


_answers = msgspec.json.Decoder(_Kept)
_encoder = msgspec.json.Encoder()


class Keys:
    """The idempotency keys of the posts this process is handling right now."""

    def __init__(self) -> None:
        self._in_flight: set[str] = set()

    @contextmanager
    def claim(self, key: str | None) -> Iterator[None]:
        """Hold a key for the length of one request: a duplicate that arrives while the first
        is still being handled is refused (409) rather than queued behind it. (In another
        process, the duplicate waits for the first's commit and gets its answer.)"""
        if key is None:
            yield
            return
        if key in self._in_flight:
            raise Conflict(
                "A request with this Idempotency-Key is still in progress; "
                "retry once it has finished to get its answer"
            )
        self._in_flight.add(key)
        try:
            yield
        finally:
            self._in_flight.discard(key)


def key_hash(key: str) -> str:
    """What the store keeps of an Idempotency-Key: its SHA-256 (migration 10 hashes alike)."""
    return token_hash(key)


def edit_token(key: str | None, comment_id: str) -> tuple[str, str]:
    """A new comment's edit token and the salt to keep for its retries: derived from the
    key when the post has one (the salt is kept with the answer), random when not."""
    if key is None:
        return new_token(), ""
    salt = new_salt()
    return derived_token(key, salt, comment_id), salt


def fingerprint(new: CleanComment) -> str:
    """What a retry must repeat to get the first answer."""
    return hashlib.sha256(
        _encoder.encode([new.site, new.thread, new.parent, new.name, new.email, new.url, new.body])
    ).hexdigest()


async def replay(
    tx: Transaction, key: str, fingerprint: str, expired_before: float
) -> PostAnswer | None:
    """The answer a retry with `key` gets, or None if the key is new (or expired: answers
    remembered before `expired_before` are forgotten first). Invalid if the key was used for a
    different comment."""
    await tx.forget_answers(expired_before)
    earlier = await tx.recall(key_hash(key))
    if earlier is None:
        return None
    # An erased comment's answer keeps no fingerprint; any retry gets the comment as it is now.
    if earlier.fingerprint not in (fingerprint, ERASED):
        raise Invalid(
            "This Idempotency-Key was already used for a different comment",
            {"idempotency_key": "Use a new key for a new comment"},
        )
    first = _answers.decode(earlier.body)
    # The comment as it is now: once removed or erased, a retry must not bring back the text
    # and name the first answer carried.
    now = await tx.comment(first.comment.id)
    comment = first.comment if now is None else public(now)
    token = derived_token(key, first.salt, first.comment.id) if first.salt else ""
    if now is None or not token_matches(token, now.edit_token_hash):
        token = ""
    return PostAnswer(comment=comment, edit_token=token)


async def remember(
    tx: Transaction,
    key: str,
    fingerprint: str,
    answer: PostAnswer,
    record: CommentRecord,
    salt: str,
) -> None:
    """Keep a post's answer, without its edit token, for the retries of its key."""
    await tx.remember(
        IdempotentAnswer(
            key=key_hash(key),
            fingerprint=fingerprint,
            status=201,
            body=_encoder.encode(_Kept(comment=answer.comment, salt=salt)),
            created_at=record.created_at,
            comment_id=record.id,
        )
    )


async def erase(tx: Transaction, erased: CommentRecord) -> None:
    """Replace the answers kept for a comment with its erased form (no text, name or salt)."""
    await tx.erase_answers(erased.id, _encoder.encode(_Kept(comment=public(erased))))
