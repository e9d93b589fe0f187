"""The ReviewQueue and RuleBook contract: what awaits a moderator, and each site's rules."""

from __future__ import annotations

import msgspec
import pytest

from server.model import CommentRecord, Site, Status, counted, in_review
from server.moderation.rules import Rules
from server.storage import Storage, StoreError
from tests.contract.records import SITE, record


async def test_rules_round_trip_per_site(storage: Storage) -> None:
    """A site's rules are None until set, then read back as set (replaced whole), per site."""
    await storage.sites.put(Site(name=SITE))
    await storage.sites.put(Site(name="elsewhere"))
    assert await storage.rules.get(SITE) is None
    first = Rules(links_max=1, banned=("spam", "cheap pills"), velocity_author=None)
    await storage.rules.put(SITE, first)
    assert await storage.rules.get(SITE) == first
    second = Rules(suspect=("crypto",), classifier_url="https://c.example/check")
    await storage.rules.put(SITE, second)
    assert await storage.rules.get(SITE) == second
    assert await storage.rules.get("elsewhere") is None


async def test_rules_need_their_site(storage: Storage) -> None:
    """Rules for a site that does not exist are refused."""
    with pytest.raises(StoreError):
        await storage.rules.put("nowhere", Rules())


async def test_the_queue_holds_pending_and_flagged_comments_of_a_site(storage: Storage) -> None:
    """The queue: a site's pending comments and visible flagged ones, any thread, oldest
    first, with their flag and who decided; not plain visible, removed or other sites'."""
    rows = [
        msgspec.structs.replace(
            record("held", status="pending", created_at=3.0),
            reason="3 links",
            decided_by="automod:links",
        ),
        msgspec.structs.replace(
            record("flagged", thread="t2", created_at=2.0),
            flag="suspect words: crypto",
            decided_by="automod:suspect",
        ),
        record("plain", created_at=1.0),
        msgspec.structs.replace(record("gone", status="removed"), flag="was flagged"),
        record("foreign", site="elsewhere", status="pending"),
    ]
    for row in rows:
        async with storage.threads.transaction(row.key) as tx:
            await tx.insert_comment(row)
    queued = await storage.review.queue(SITE, 10)
    assert [r.id for r in queued] == ["flagged", "held"]
    assert queued[0].flag == "suspect words: crypto" and queued[0].decided_by == "automod:suspect"
    assert queued[1].reason == "3 links" and queued[1].decided_by == "automod:links"
    assert [r.id for r in await storage.review.queue(SITE, 1)] == ["flagged"]
    async with storage.threads.transaction(rows[1].key) as tx:
        flagged = await tx.comment("flagged")
        assert flagged is not None
        await tx.update_comment(msgspec.structs.replace(flagged, flag=None))
    assert [r.id for r in await storage.review.queue(SITE, 10)] == ["held"]


STATUSES: tuple[Status, ...] = ("visible", "pending", "removed", "deleted")
SHAPES = [
    pytest.param(
        status,
        flag,
        held_edit,
        id=f"{status}-{'flagged' if flag else 'unflagged'}-{'held-edit' if held_edit else 'as-is'}",
    )
    for status in STATUSES
    for flag in (None, "suspect words: crypto")
    for held_edit in (False, True)
]


@pytest.mark.parametrize(("status", "flag", "held_edit"), SHAPES)
async def test_the_queue_and_counts_follow_the_core_rules(
    storage: Storage, status: Status, flag: str | None, held_edit: bool
) -> None:
    """For each status, flag and held edit, a comment is in the queue exactly when
    `model.in_review` holds it and counted exactly when `model.counted` does, whether inserted
    so or updated to it, and leaves both when updated back."""

    def shaped(plain: CommentRecord) -> CommentRecord:
        return msgspec.structs.replace(
            plain,
            status=status,
            flag=flag,
            pending_body_source="new *text*" if held_edit else None,
            pending_body_html="<p>new <em>text</em></p>" if held_edit else None,
        )

    plain = record("updated", thread="t2", created_at=2.0)
    inserted, updated = shaped(record("inserted", thread="t1", created_at=1.0)), shaped(plain)
    for row in (inserted, plain):
        async with storage.threads.transaction(row.key) as tx:
            await tx.insert_comment(row)
    assert await storage.review.queue(SITE, 10) == ([inserted] if in_review(inserted) else [])
    async with storage.threads.transaction(plain.key) as tx:
        await tx.update_comment(updated)
    assert await storage.review.queue(SITE, 10) == [
        row for row in (inserted, updated) if in_review(row)
    ]
    assert await storage.comments.counts(SITE, ["t1", "t2"]) == {
        "t1": int(counted(inserted)),
        "t2": int(counted(updated)),
    }
    async with storage.threads.transaction(plain.key) as tx:
        await tx.update_comment(plain)
    assert await storage.review.queue(SITE, 10) == ([inserted] if in_review(inserted) else [])
    assert await storage.comments.counts(SITE, ["t1", "t2"]) == {
        "t1": int(counted(inserted)),
        "t2": 1,
    }
