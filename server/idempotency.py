"""Idempotency keys of posts: a retry with the same `Idempotency-Key` gets the first answer
instead of posting a second comment.

The answer is kept in the store, in the post's own transaction, with a fingerprint of what was
posted, so a key reused for a different comment is refused (422). Answers expire after
`LIVETHREAD_IDEMPOTENCY_TTL_SECONDS` (a day): a key used again after that posts a new comment,
as Stripe's API does. Expired answers are pruned as keyed posts are written, so the table holds
about a day of them. Erasing a comment erases the answer kept for it, so its text cannot come
back through a retry. A duplicate that arrives while the first is still being handled in this
process is refused (409) rather than queued (`Keys.claim`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import msgspec

from server.errors import Conflict, Invalid
from server.model import CommentRecord, PublicComment, public
from server.ports import ERASED, IdempotentAnswer, Transaction
from server.requests import CleanComment


class PostAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """What a successful post answers: the comment and the secret that lets its author edit it."""

    comment: PublicComment
    edit_token: str


_answers = msgspec.json.Decoder(PostAnswer)
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
    earlier = await tx.recall(key)
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
    if now is None:
        return first
    return PostAnswer(comment=public(now), edit_token=first.edit_token)


async def remember(
    tx: Transaction, key: str, fingerprint: str, answer: PostAnswer, record: CommentRecord
) -> None:
    """Keep a post's answer for the retries of its key."""
    await tx.remember(
        IdempotentAnswer(
            key=key,
            fingerprint=fingerprint,
            status=201,
            body=_encoder.encode(answer),
            created_at=record.created_at,
            comment_id=record.id,
        )
    )


async def erase(tx: Transaction, erased: CommentRecord) -> None:
    """Replace the answers kept for a comment with its erased form (no text, name or token)."""
    await tx.erase_answers(
        erased.id, _encoder.encode(PostAnswer(comment=public(erased), edit_token=""))
    )
