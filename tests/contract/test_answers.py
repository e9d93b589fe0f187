"""The AnswerWrites contract: idempotency answers, per site, kept with the post they answer."""

from __future__ import annotations

import pytest

from server.model import ThreadKey
from server.storage import Storage, StoreError
from server.threads.ports import ERASED, IdempotentAnswer
from tests.contract.records import SITE, Boom

T1, T2 = ThreadKey(SITE, "t1"), ThreadKey(SITE, "t2")
ELSEWHERE = ThreadKey("other-site", "t1")


def _answer(key: str, comment_id: str, created_at: float) -> IdempotentAnswer:
    return IdempotentAnswer(
        key=key,
        fingerprint=f"fp-{key}",
        status=201,
        body=b'{"comment":{"id":"%s","body":"secret"}}' % comment_id.encode(),
        created_at=created_at,
        comment_id=comment_id,
    )


async def test_idempotency_is_scoped_per_site(storage: Storage) -> None:
    """A remembered answer is recalled from any thread of its site and from no other site."""
    answer = IdempotentAnswer(
        key="k1", fingerprint="fp", status=201, body=b'{"id":"c1"}', created_at=1.0
    )
    async with storage.threads.transaction(T1) as tx:
        assert await tx.recall("k1") is None
        await tx.remember(answer)
        assert await tx.recall("k1") == answer
    async with storage.threads.transaction(T2) as tx:
        assert await tx.recall("k1") == answer
        with pytest.raises(StoreError):
            await tx.remember(answer)
    async with storage.threads.transaction(ELSEWHERE) as tx:
        assert await tx.recall("k1") is None


async def test_answers_older_than_the_cutoff_are_forgotten(storage: Storage) -> None:
    """`forget_answers` drops every site's answers remembered before the cutoff, at once in
    its own transaction and for good after the commit; newer ones stay."""
    old, new, elsewhere = (
        _answer("old", "c1", 100.0),
        _answer("new", "c2", 300.0),
        _answer("far", "c3", 100.0),
    )
    async with storage.threads.transaction(T1) as tx:
        await tx.remember(old)
        await tx.remember(new)
    async with storage.threads.transaction(ELSEWHERE) as tx:
        await tx.remember(elsewhere)
    async with storage.threads.transaction(T2) as tx:
        await tx.forget_answers(200.0)
        assert await tx.recall("old") is None
        assert await tx.recall("new") == new
        await tx.remember(_answer("old", "c4", 250.0))
    async with storage.threads.transaction(T1) as tx:
        assert await tx.recall("old") == _answer("old", "c4", 250.0)
        assert await tx.recall("new") == new
    async with storage.threads.transaction(ELSEWHERE) as tx:
        assert await tx.recall("far") is None


async def test_erasing_a_comments_answers_keeps_no_text_or_fingerprint(storage: Storage) -> None:
    """`erase_answers` rewrites the body of the answers holding that comment and blanks their
    fingerprint; other comments' answers are untouched; a rollback keeps the old ones."""
    first, other = _answer("k1", "c1", 100.0), _answer("k2", "c2", 100.0)
    async with storage.threads.transaction(T1) as tx:
        await tx.remember(first)
        await tx.remember(other)

    async def doomed() -> None:
        async with storage.threads.transaction(T1) as tx:
            await tx.erase_answers("c1", b"{}")
            raise Boom

    with pytest.raises(Boom):
        await doomed()
    async with storage.threads.transaction(T1) as tx:
        assert await tx.recall("k1") == first
        await tx.erase_answers("c1", b'{"comment":{"id":"c1"}}')
        erased = await tx.recall("k1")
        assert erased is not None and (erased.body, erased.fingerprint) == (
            b'{"comment":{"id":"c1"}}',
            ERASED,
        )
    async with storage.threads.transaction(T2) as tx:
        assert await tx.recall("k1") == erased
        assert await tx.recall("k2") == other
