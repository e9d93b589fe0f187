"""The CommentReads contract: a thread's comments, their readable form, counts, and by email."""

from __future__ import annotations

import msgspec

from server.model import CommentRecord, Site, Status, ThreadKey, public, readable
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
        msgspec.structs.replace(
            record("r5", created_at=5.0), account="reader-42", author_key="k" * 16
        ),
    ]
    for rec in recs:
        await post(storage, rec)
    state, full = await storage.comments.of_thread(T1)
    readable_state, found = await storage.comments.readable(T1)
    assert readable_state == state
    assert found == [readable(r) for r in full]
    assert [r.id for r in found] == ["r1", "r2", "r3", "r4", "r5"]
    assert not any(
        r.author_email or r.body_source or r.edit_token_hash or r.flag or r.account for r in found
    )
    assert found[-1].author_key == "k" * 16


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


async def test_published_by_finds_a_visible_comment_by_account_or_email(
    storage: Storage,
) -> None:
    """published_by(): True only for a visible comment of that site by the account (or, with
    no account, the email in any case); held or removed comments and other sites do not count."""
    await storage.sites.put(Site(name="elsewhere"))
    signed = msgspec.structs.replace(record("p1"), account="acct-1", author_email=None)
    await post(storage, signed)
    await post(storage, record("p2", status="pending"))
    await post(storage, record("p3", status="removed"))
    await post(storage, record("p4"))
    await post(storage, msgspec.structs.replace(record("p5", site="elsewhere"), account="acct-5"))
    found = storage.comments.published_by
    assert await found(SITE, "acct-1", None)
    assert await found(SITE, "acct-1", "whatever@mail.example")  # the account decides
    assert not await found(SITE, "acct-5", None)  # another site's
    assert await found(SITE, None, "P4@Mail.Example")
    assert not await found(SITE, None, "p2@mail.example")  # held
    assert not await found(SITE, None, "p3@mail.example")  # removed
    assert not await found(SITE, None, None)
    assert await found("elsewhere", "acct-5", None)


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


async def test_a_signed_in_authors_fields_round_trip_and_reach_readers(storage: Storage) -> None:
    """A record's account, author key and avatar come back from get, get_many and of_thread
    after insert and after update; readers' records carry the key and avatar to the public
    comment, never the account id."""
    signed = msgspec.structs.replace(
        record("s1"), account="acct-7", author_key="k-abc", author_avatar="https://a/7.png"
    )
    await post(storage, signed)
    assert await storage.comments.get("s1") == signed
    assert await storage.comments.get_many(["s1"]) == {"s1": signed}
    changed = msgspec.structs.replace(
        signed, account="acct-8", author_key="k-def", author_avatar=None, edited_at=5.0
    )
    async with storage.threads.transaction(T1) as tx:
        await tx.update_comment(changed)
    assert await storage.comments.get("s1") == changed
    assert await storage.comments.get_many(["s1"]) == {"s1": changed}
    assert (await storage.comments.of_thread(T1))[1] == [changed]
    again = msgspec.structs.replace(changed, author_avatar="https://a/8.png")
    async with storage.threads.transaction(T1) as tx:
        await tx.update_comment(again)
    _, shown = await storage.comments.readable(T1)
    author = public(shown[0]).author
    assert author is not None
    assert (author.key, author.avatar) == ("k-def", "https://a/8.png")
    assert "acct-8" not in msgspec.json.encode(public(shown[0])).decode()


async def test_an_authors_badges_round_trip_and_reach_readers(storage: Storage) -> None:
    """A record's badges come back, in their order, from get, get_many, of_thread, by_email and
    the review queue after insert and after update (none becomes ()); readers' records carry
    them to the public comment."""
    badged = msgspec.structs.replace(record("b1"), author_badges=("staff", "author"))
    plain = record("b2", status="pending", created_at=1_700_000_001.0)
    await post(storage, badged)
    await post(storage, plain)
    assert await storage.comments.get("b1") == badged
    assert await storage.comments.get_many(["b1", "b2"]) == {"b1": badged, "b2": plain}
    assert (await storage.comments.of_thread(T1))[1] == [badged, plain]
    assert await storage.comments.by_email("b1@mail.example") == [badged]
    _, shown = await storage.comments.readable(T1)
    author = public(shown[0]).author
    assert author is not None
    assert author.badges == ("staff", "author")
    assert shown[1].author_badges == ()
    queued = msgspec.structs.replace(plain, author_badges=("author",))
    cleared = msgspec.structs.replace(badged, author_badges=())
    async with storage.threads.transaction(T1) as tx:
        await tx.update_comment(queued)
        await tx.update_comment(cleared)
    assert await storage.review.queue(SITE, 10) == [queued]
    assert await storage.comments.get("b1") == cleared
    assert (await storage.comments.of_thread(T1))[1] == [cleared, queued]
    _, shown = await storage.comments.readable(T1)
    assert [r.author_badges for r in shown] == [(), ("author",)]


async def test_authored_finds_a_persons_visible_and_held_comments_on_one_site(
    storage: Storage,
) -> None:
    """authored(): the site's visible and pending comments whose author has the account id,
    the email (in any case) or the address hash asked, oldest first, at most `limit`, of one
    thread when asked; removed and deleted ones, other authors' and other sites' are not."""
    ann = {"account": "acct-ann", "author_email": "Ann@Mail.Example", "author_address": "hash-a"}
    statuses: tuple[Status, ...] = ("pending", "visible", "removed", "deleted", "visible")
    recs = [
        msgspec.structs.replace(
            record(f"a{n}", thread="t2" if n == 4 else "t1", status=status, created_at=9.0 - n),
            **ann,
        )
        for n, status in enumerate(statuses)
    ]
    others = [
        msgspec.structs.replace(record("x1", site="other-site"), **ann),
        msgspec.structs.replace(record("x2"), account="acct-bob", author_address="hash-b"),
    ]
    for rec in [*recs, *others]:
        await post(storage, rec)
    shown = [recs[4], recs[1], recs[0]]  # oldest first: a4 (5.0), a1 (8.0), a0 (9.0)
    authored = storage.comments.authored
    assert await authored(SITE, "account", "acct-ann", None, 10) == shown
    assert await authored(SITE, "email", "ann@mail.example", None, 10) == shown
    assert await authored(SITE, "email", "ANN@MAIL.EXAMPLE", None, 10) == shown
    assert await authored(SITE, "address", "hash-a", None, 10) == shown
    assert await authored(SITE, "address", "hash-a", None, 2) == shown[:2]
    assert await authored(SITE, "account", "acct-ann", "t1", 10) == [recs[1], recs[0]]
    assert await authored(SITE, "account", "acct-ann", "t9", 10) == []
    assert await authored(SITE, "account", "acct-ann", None, 0) == []
    assert await authored(SITE, "account", "hash-a", None, 10) == []  # a value of another key
    assert await authored("other-site", "email", "ann@mail.example", None, 10) == [others[0]]


async def test_shadowed_finds_a_threads_held_shadow_comments_of_their_author(
    storage: Storage,
) -> None:
    """shadowed(): the thread's pending shadow comments posted by the account or from the
    address asked, oldest first; not a published or removed shadow comment, a held comment that
    is no shadow, another thread's, or anyone's when both are None."""

    def shadow(comment_id: str, *, status: Status = "pending", **fields: object) -> CommentRecord:
        # Created in id order: s1 first.
        rec = record(comment_id, status=status, created_at=float(comment_id[1:]))
        return msgspec.structs.replace(rec, shadow=True, **fields)

    recs = [
        shadow("s1", account="acct-1"),
        shadow("s2", author_address="hash-1"),
        shadow("s3", account="acct-1", status="visible"),
        shadow("s4", author_address="hash-1", status="removed"),
        msgspec.structs.replace(record("s5", status="pending"), account="acct-1"),
        msgspec.structs.replace(shadow("s6", account="acct-1"), thread="t2"),
        shadow("s7", account="acct-2", author_address="hash-1"),
    ]
    for rec in recs:
        await post(storage, rec)
    shadowed = storage.comments.shadowed
    assert await shadowed(T1, "acct-1", None) == [recs[0]]
    assert await shadowed(T1, None, "hash-1") == [recs[1], recs[6]]
    assert await shadowed(T1, "acct-1", "hash-1") == [recs[0], recs[1], recs[6]]
    assert await shadowed(ThreadKey(SITE, "t2"), "acct-1", "hash-1") == [recs[5]]
    assert await shadowed(T1, None, None) == []
    assert await shadowed(ThreadKey("other-site", "t1"), "acct-1", "hash-1") == []


async def test_an_address_hash_and_shadow_mark_round_trip_but_never_reach_readers(
    storage: Storage,
) -> None:
    """A record's address hash and shadow mark come back from get, get_many and of_thread after
    insert and after update (None and False too); its readable form has neither."""
    marked = msgspec.structs.replace(
        record("h1", status="pending"), author_address="hash-1", shadow=True
    )
    await post(storage, marked)
    assert await storage.comments.get("h1") == marked
    assert await storage.comments.get_many(["h1"]) == {"h1": marked}
    assert (await storage.comments.of_thread(T1))[1] == [marked]
    _, shown = await storage.comments.readable(T1)
    assert (shown[0].author_address, shown[0].shadow) == (None, False)
    published = msgspec.structs.replace(marked, status="visible", shadow=False, author_address=None)
    async with storage.threads.transaction(T1) as tx:
        await tx.update_comment(published)
    assert await storage.comments.get("h1") == published
    assert (await storage.comments.of_thread(T1))[1] == [published]
    again = msgspec.structs.replace(published, author_address="hash-2", shadow=True)
    async with storage.threads.transaction(T1) as tx:
        await tx.update_comment(again)
    assert await storage.comments.get_many(["h1"]) == {"h1": again}
    _, shown = await storage.comments.readable(T1)
    assert shown[0].author_address is None and shown[0].shadow is False
    assert "hash-2" not in msgspec.json.encode(public(shown[0])).decode()


async def test_recent_is_a_sites_visible_comments_newest_first(storage: Storage) -> None:
    """recent() gives a site's visible comments only, newest first (then by id), at most
    `limit`, in their readable form; other statuses and other sites never."""
    statuses: tuple[Status, ...] = ("visible", "pending", "removed", "deleted")
    for i, status in enumerate(statuses):
        await post(storage, record(f"s{i}", status=status, created_at=10.0 + i))
    await post(storage, record("a", thread="t2", created_at=20.0))
    await post(storage, record("b", thread="t2", created_at=20.0))  # same time as a: by id
    await post(storage, msgspec.structs.replace(record("flagged", created_at=5.0), flag="x"))
    await post(storage, record("away", site="other-site", created_at=30.0))
    found = await storage.comments.recent(SITE, None, 10)
    assert [r.id for r in found] == ["b", "a", "s0", "flagged"]
    assert found[-1] == readable(
        msgspec.structs.replace(record("flagged", created_at=5.0), flag="x")
    )
    assert not any(r.author_email or r.body_source or r.edit_token_hash for r in found)
    assert [r.id for r in await storage.comments.recent(SITE, None, 2)] == ["b", "a"]
    assert await storage.comments.recent(SITE, None, 0) == []


async def test_recent_of_a_thread_keeps_to_that_thread(storage: Storage) -> None:
    """recent() with a thread gives only that thread's visible comments, newest first."""
    await post(storage, record("old", created_at=1.0))
    await post(storage, record("new", created_at=3.0))
    await post(storage, record("held", status="pending", created_at=4.0))
    shadow = record("shadow", status="pending", created_at=4.5)
    await post(storage, msgspec.structs.replace(shadow, shadow=True))
    await post(storage, record("gone", status="removed", created_at=5.0))
    await post(storage, record("elsewhere", thread="t2", created_at=2.0))
    await post(storage, record("far", site="other-site", created_at=6.0))
    assert [r.id for r in await storage.comments.recent(SITE, "t1", 50)] == ["new", "old"]
    assert [r.id for r in await storage.comments.recent(SITE, "t1", 1)] == ["new"]
    assert [r.id for r in await storage.comments.recent(SITE, "t2", 50)] == ["elsewhere"]
    assert await storage.comments.recent(SITE, "nowhere", 50) == []


async def test_a_comments_language_round_trips_and_stays_private(storage: Storage) -> None:
    """The author's language (`lang`) is stored, read back by every read, kept by an update,
    "en" when not given, and left out of the readable form as the other private fields are."""
    german = msgspec.structs.replace(record("l1"), lang="de")
    await post(storage, german)
    await post(storage, record("l2"))
    assert (await storage.comments.get("l1")) == german
    assert (await storage.comments.get("l2")) == record("l2")
    assert record("l2").lang == "en"
    _, full = await storage.comments.of_thread(T1)
    assert {r.id: r.lang for r in full} == {"l1": "de", "l2": "en"}
    found = await storage.comments.get_many(["l1", "l2"])
    assert (found["l1"].lang, found["l2"].lang) == ("de", "en")
    async with storage.threads.transaction(T1) as tx:
        await tx.update_comment(msgspec.structs.replace(german, pinned=True))
    assert (await storage.comments.get("l1")) == msgspec.structs.replace(german, pinned=True)
    _, shown = await storage.comments.readable(T1)
    assert {r.lang for r in shown} == {"en"}
