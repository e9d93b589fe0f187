"""The CommentReads contract: a thread's comments, their readable form, counts, and by email."""

from __future__ import annotations

import msgspec

from server.model import Site, Status, ThreadKey, readable
from server.storage import Storage
from tests.contract.records import SITE, post, record

T1 = ThreadKey(SITE, "t1")


async def test_comments_returns_all_statuses_oldest_first(storage: Storage) -> None:
    """comments() returns every record of the thread, oldest first, with the matching state."""
    recs = [
        record("c3", status="deleted", created_at=3.0),
        record("c1", created_at=1.0),
        record("c2", status="pending", created_at=2.0),
    ]
    for rec in recs:
        await post(storage, rec)
    await post(storage, record("elsewhere", thread="t2"))
    state, found = await storage.comments.of_thread(T1)
    assert state.seq == 3
    assert [r.id for r in found] == ["c1", "c2", "c3"]


async def test_readable_comments_are_the_comments_without_their_private_fields(
    storage: Storage,
) -> None:
    """readable_comments(): the same records in the same order, emails, source and notes gone."""
    recs = [
        record("r2", created_at=2.0, parent="r1"),
        record("r1", created_at=1.0),
        record("r3", status="removed", created_at=2.0),  # same time as r2: then by id
        msgspec.structs.replace(
            record("r4", created_at=4.0), flag="suspect", reason="why", decided_by="automod"
        ),
    ]
    for rec in recs:
        await post(storage, rec)
    state, full = await storage.comments.of_thread(T1)
    readable_state, found = await storage.comments.readable(T1)
    assert readable_state == state
    assert found == [readable(r) for r in full]
    assert [r.id for r in found] == ["r1", "r2", "r3", "r4"]
    assert not any(r.author_email or r.body_source or r.edit_token_hash or r.flag for r in found)


async def test_get_many_finds_the_comments_that_exist_by_id(storage: Storage) -> None:
    """get_many() reads several comments at once, any thread or status, skipping unknown ids."""
    recs = [record("m1"), record("m2", thread="t2", status="pending"), record("m3")]
    for rec in recs:
        await post(storage, rec)
    found = await storage.comments.get_many(["m3", "nowhere", "m1", "m2", "m1"])
    assert found == {"m1": recs[0], "m2": recs[1], "m3": recs[2]}
    assert await storage.comments.get_many([]) == {}
    many = [f"x{i}" for i in range(700)]  # beyond one statement's parameters on SQLite
    assert await storage.comments.get_many([*many, "m2"]) == {"m2": recs[1]}


async def test_counts_only_visible_comments(storage: Storage) -> None:
    """counts() counts visible comments per thread and gives 0 for unknown threads."""
    statuses: tuple[Status, ...] = ("visible", "visible", "pending", "removed", "deleted")
    for i, status in enumerate(statuses):
        await post(storage, record(f"a{i}", thread="a", status=status))
    await post(storage, record("b0", thread="b"))
    await post(storage, record("x0", thread="a", site="other-site"))
    assert await storage.comments.counts(SITE, ["a", "b", "nowhere"]) == {
        "a": 2,
        "b": 1,
        "nowhere": 0,
    }
    assert await storage.comments.counts(SITE, []) == {}


async def test_comments_by_email_across_threads(storage: Storage) -> None:
    """A person's comments are found by email in every thread, whatever the email's case."""
    await post(storage, record("a1", thread="t1"))
    await post(storage, record("b1", thread="t2", created_at=1_700_000_001.0))
    await post(storage, msgspec.structs.replace(record("z9"), author_email="other@mail.example"))
    found = await storage.comments.by_email("A1@MAIL.EXAMPLE")
    assert [r.id for r in found] == ["a1"]
    both = [r.id for r in await storage.comments.by_email("a1@mail.example")]
    assert both == ["a1"]
    assert await storage.comments.by_email("nobody@mail.example") == []


async def test_a_held_edit_round_trips_and_queues_but_never_reaches_readers(
    storage: Storage,
) -> None:
    """A visible comment with an edit awaiting approval keeps both texts, is in its site's
    queue, and its readable form carries neither the pending text nor its source."""
    await storage.sites.put(Site(name=SITE))
    rec = record("h1")
    await post(storage, rec)
    held = msgspec.structs.replace(
        rec, pending_body_source="new *text*", pending_body_html="<p>new <em>text</em></p>"
    )
    async with storage.threads.transaction(T1) as tx:
        await tx.update_comment(held)
    assert await storage.comments.get("h1") == held
    assert [r.id for r in await storage.review.queue(SITE, 10)] == ["h1"]
    _, readable_records = await storage.comments.readable(T1)
    assert readable_records[0].pending_body_html is readable_records[0].pending_body_source is None
    assert readable_records[0].body_html == rec.body_html
