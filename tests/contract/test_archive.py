"""The `Archive` port's contract, on every store: whole rows written as given and read back in
key order, a second write doubling nothing, and the ports reading the copied rows as their own
(a thread's seq, the log's positions, the cursors), the log going on after the copied events."""

from __future__ import annotations

import msgspec
import pytest

from server.accounts.ports import Account, SignIn
from server.adapters.memory_archive import memory_archive
from server.adapters.postgres_archive import PostgresArchive
from server.adapters.postgres_database import PostgresDatabase
from server.adapters.sqlite_archive import SqliteArchive
from server.adapters.sqlite_database import SqliteDatabase
from server.archive import ports as a
from server.archive.copying import batches
from server.model import Moderator, Site, ThreadKey
from server.moderation.ports import AuditEntry, Ban, Report
from server.moderation.rules import Rules
from server.reactions.ports import CommentReactions, ReactionChange
from server.storage import Storage, StoreError
from tests.contract.archive_imports import IMPORT_SAMPLE, the_ports_read_copied_imports
from tests.contract.records import SITE, post, record
from workers.webhooks.ports import Delivery


def archive_of(storage: Storage) -> a.Archive:
    """The store's archive, as the composition root builds it."""
    if isinstance(storage.database, SqliteDatabase):
        return SqliteArchive(storage.database)
    if isinstance(storage.database, PostgresDatabase):
        return PostgresArchive(storage.database)
    return memory_archive(storage)


def _event(position: int, thread: str, seq: int, comment: str | None = None) -> a.EventRow:
    payload = msgspec.json.encode({"type": "comment.created", "seq": seq, "n": position})
    return a.EventRow(
        position=position, site=SITE, thread=thread, seq=seq, type="comment.created",
        comment_id=comment, payload=payload + b"\x00\xff",
    )  # fmt: skip


# One or more rows of every table, each table's rows in key order, text keys by code point.
SAMPLE: dict[str, list[a.Row]] = {
    "sites": [
        a.SiteRow(name=SITE, origins='["https://example.org"]', premoderate=True),
        a.SiteRow(name="other", origins="[]", premoderate=False),
    ],
    "moderators": [
        a.ModeratorRow(site=SITE, name="ann", token_hash="h0", role="admin"),
        a.ModeratorRow(site=SITE, name="mia", token_hash="h1", role="moderator"),
    ],
    "rules": [a.RulesRow(site=SITE, config=msgspec.json.encode(Rules(links_max=1)).decode())],
    "threads": [
        a.ThreadRow(site=SITE, thread="B", seq=2, locked=True, title="Bee", url="", byline="Bo"),
        a.ThreadRow(
            site=SITE, thread="a", seq=1, locked=False, title="", url="https://x.org/a", byline=""
        ),
        a.ThreadRow(site=SITE, thread="é", seq=0, locked=False, title="É", url="", byline="Zoé"),
    ],
    "comments": [
        msgspec.structs.replace(record("c1", thread="B"), author_badges=("staff", "author")),
        msgspec.structs.replace(
            record("c2", thread="B", parent="c1", status="pending"),
            edited_at=1_700_000_100.5,
            pinned=True,
            notify=True,
            flag="links",
            decided_by="m",
            pending_body_source="new",
            pending_body_html="<p>new</p>",
            reason="why",
        ),
        msgspec.structs.replace(
            record("c3", thread="a", status="removed"),
            account="acct-1",
            author_key="key-1",
            author_avatar="https://a.example/1.png",
            author_address="addr-hash-1",
            shadow=True,
        ),
    ],
    "events": [_event(1, "B", 1, "c1"), _event(2, "a", 1, "c3"), _event(3, "B", 2, "c2")],
    "idempotency": [
        a.AnswerRow(
            site=SITE,
            key="k1",
            fingerprint="f",
            status=201,
            body=b"{}",
            created_at=1.5,
            comment_id="c1",
        )
    ],
    "cursors": [a.CursorRow(name="webhooks", position=2, owner=None, lease_until=0.0)],
    "webhooks": [
        a.WebhookRow(id="w1", site=SITE, url="https://h.example", secret="s", events="[]")
    ],
    "deliveries": [
        Delivery(
            id="w1:1",
            webhook_id="w1",
            position=1,
            site=SITE,
            thread="B",
            payload=b"{}",
            attempts=1,
            next_at=5.0,
            status="sent",
        ),
        Delivery(id="w1:3", webhook_id="w1", position=3, site=SITE, thread="B", payload=b"{}"),
    ],
    "notifications_sent": [a.NotifiedRow(reply_id="c2", recipient="c1@mail.example")],
    "secrets": [a.SecretRow(name="signing", value="xyz")],
    "mail_addresses": [
        a.AddressRow(key="hash1", site=SITE, requested_at=10.0, confirmed_at=None),
        a.AddressRow(key="hash2", site=None, requested_at=None, confirmed_at=None),
    ],
    "sign_ins": [
        a.SignInRow(
            site=SITE, policy="accounts", audience="aud", issuer="https://p.example",
            secret="s", public_key=None, jwks_url=None, roles='["moderator","é"]',
        ),
        a.SignInRow(
            site="other", policy="both", audience="aud2", issuer=None, secret=None,
            public_key=None, jwks_url="https://other.example/jwks", roles="[]",
        ),
    ],
    "accounts": [
        a.AccountRow(
            site=SITE, id="U9", name="Zed", skeleton="zed", email=None, avatar=None,
            roles="[]", first_seen=1.0, last_seen=1.0,
        ),
        a.AccountRow(
            site=SITE, id="u1", name="Ann", skeleton="ann", email="ann@mail.example",
            avatar="https://a.example/ann.png", roles='["moderator"]', first_seen=1.5,
            last_seen=9.25,
        ),
        a.AccountRow(
            site="other", id="u1", name="Ann", skeleton="ann", email=None, avatar=None,
            roles="[]", first_seen=2.0, last_seen=2.0,
        ),
    ],
    "reports": [
        Report(
            site=SITE, thread="B", comment_id="c1", reporter="Zed", reason="abuse",
            text="rude é", at=3.5,
        ),
        Report(
            site=SITE, thread="B", comment_id="c1", reporter="ann", reason="spam", at=2.0,
        ),
        Report(
            site=SITE, thread="B", comment_id="c2", reporter="ann", reason="off_topic", at=4.0,
        ),
    ],
    # Ids with a gap, as a rolled-back PostgreSQL transaction leaves: kept as they are.
    "audit": [
        AuditEntry(
            id=1, site=SITE, at=1.5, by="mia", action="remove", thread="B", comment_id="c1",
            reason="spam",
        ),
        AuditEntry(
            id=2, site=SITE, at=2.0, by="automod:links", action="hold", thread="B",
            comment_id="c2",
        ),
        AuditEntry(
            id=5, site="other", at=3.25, by="reports", action="ban",
            subject="email:x@mail.example", reason="é",
        ),
    ],
    # Ids with a gap too (a replaced ban's id is gone), kept as they are.
    "bans": [
        Ban(
            id=2, site=SITE, key="account", value="acct-1", mode="ban", reason="spam", by="mia",
            at=1.5, label="Ann",
        ),
        Ban(
            id=3, site=SITE, key="address", value="addr-hash-1", mode="suspend", until=99.5,
            by="mia", at=2.0,
        ),
        Ban(
            id=7, site="other", key="email", value="x@mail.example", mode="shadow", by="reports",
            at=3.25, label="Zoé",
        ),
    ],
    "reactions": [
        a.ReactionRow(comment_id="c1", reader="Zed", kind="like", site=SITE, thread="B"),
        a.ReactionRow(comment_id="c1", reader="ann", kind="like", site=SITE, thread="B"),
        a.ReactionRow(comment_id="c1", reader="ann", kind="love", site=SITE, thread="B"),
        a.ReactionRow(comment_id="c3", reader="é", kind="sad", site=SITE, thread="a"),
    ],
    # A count back to 0 is kept as a row (c2's reactions were set, then cleared).
    "reaction_counts": [
        a.ReactionCountRow(comment_id="c1", kind="like", n=2),
        a.ReactionCountRow(comment_id="c1", kind="love", n=1),
        a.ReactionCountRow(comment_id="c2", kind="laugh", n=0),
        a.ReactionCountRow(comment_id="c3", kind="sad", n=1),
    ],
    "reaction_versions": [
        a.ReactionVersionRow(comment_id="c1", site=SITE, thread="B", version=4),
        a.ReactionVersionRow(comment_id="c2", site=SITE, thread="B", version=2),
        a.ReactionVersionRow(comment_id="c3", site=SITE, thread="a", version=1),
    ],
    **IMPORT_SAMPLE,
}  # fmt: skip


async def _write_sample(archive: a.Archive) -> int:
    return sum([await archive.write(t, SAMPLE[t.name]) for t in a.TABLES])


async def _read_all(archive: a.Archive, table: a.Table, size: int = 100) -> list[a.Row]:
    return [row for rows in [r async for r in batches(archive, table, size)] for row in rows]


async def test_rows_are_read_back_as_written_in_key_order(storage: Storage) -> None:
    """Every table's rows come back exactly as written, in key order (text by code point), and
    counted."""
    archive = archive_of(storage)
    assert await _write_sample(archive) == sum(len(rows) for rows in SAMPLE.values())
    for table in a.TABLES:
        assert await _read_all(archive, table) == SAMPLE[table.name], table.name
        assert await archive.count(table) == len(SAMPLE[table.name])


async def test_paging_reads_each_row_once(storage: Storage) -> None:
    """Reading one row at a time, after the last key read, gives every row once, in order."""
    archive = archive_of(storage)
    await _write_sample(archive)
    for table in a.TABLES:
        assert await _read_all(archive, table, size=1) == SAMPLE[table.name], table.name
        assert await archive.read(table, None, 0) == []


async def test_writing_again_doubles_nothing(storage: Storage) -> None:
    """A second write of the same rows adds none and changes none."""
    archive = archive_of(storage)
    await _write_sample(archive)
    assert await _write_sample(archive) == 0
    for table in a.TABLES:
        assert await _read_all(archive, table) == SAMPLE[table.name], table.name


async def test_the_ports_read_copied_rows_and_the_log_goes_on(storage: Storage) -> None:
    """Copied rows are the store's own: a thread's seq and byline, a moderator's role, a
    comment's badges and address hash, its events by seq, the log by position, a cursor's
    position, the bans, the reactions; a new post takes the thread's next seq and the log's next
    position, a new ban an id after the copied ones, a new reaction the next version."""
    archive = archive_of(storage)
    await _write_sample(archive)
    key = ThreadKey(SITE, "B")
    state = await storage.threads.state(key)
    assert (state.seq, state.locked, state.title, state.byline) == (2, True, "Bee", "Bo")
    assert await storage.moderators.by_token("h0") == Moderator(name="ann", site=SITE, role="admin")
    assert [m.role for m in await storage.moderators.of_site(SITE)] == ["admin", "moderator"]
    assert await storage.comments.get("c1") == SAMPLE["comments"][0]
    assert [e.payload for e in await storage.log.events_after(key, 0, 10)] == [
        SAMPLE["events"][0].payload,  # type: ignore[attr-defined]
        SAMPLE["events"][2].payload,  # type: ignore[attr-defined]
    ]
    assert await storage.log.end() == 3
    assert [(e.position, e.thread, e.seq) for e in await storage.log.after(0, 10)] == [
        (1, "B", 1),
        (2, "a", 1),
        (3, "B", 2),
    ]
    assert await storage.cursors.position("webhooks") == 2
    assert await storage.sites.get(SITE) == Site(
        name=SITE, origins=("https://example.org",), premoderate=True
    )
    assert await storage.rules.get(SITE) == Rules(links_max=1)
    assert await storage.sign_ins.get(SITE) == SignIn(
        site=SITE, policy="accounts", audience="aud", issuer="https://p.example", secret="s",
        roles=("moderator", "é"),
    )  # fmt: skip
    assert await storage.accounts.get(SITE, "u1") == Account(
        site=SITE, id="u1", name="Ann", email="ann@mail.example",
        avatar="https://a.example/ann.png", roles=("moderator",),
    )  # fmt: skip
    assert await storage.accounts.named("other", "ann") is True
    assert (await storage.comments.get("c3")) == SAMPLE["comments"][2]
    reports = [r for r in SAMPLE["reports"] if isinstance(r, Report)]
    assert await storage.reports.of_comment("c1") == [reports[1], reports[0]]
    assert await storage.reports.add(msgspec.structs.replace(reports[2], at=9.0)) is False
    audit = SAMPLE["audit"]
    assert await storage.audit.of_site(SITE, 0, 10) == audit[:2]
    assert await storage.audit.of_comment("c2") == [audit[1]]
    # The ids after a copy follow the copied ones (on PostgreSQL, its sequence was moved).
    later = await storage.audit.append(AuditEntry(site="other", at=4.0, by="mia", action="ban"))
    assert later.id > 5
    assert await storage.audit.of_site("other", 0, 10) == [audit[2], later]
    bans = [b for b in SAMPLE["bans"] if isinstance(b, Ban)]
    assert await storage.bans.of_site(SITE, 50.0) == [bans[1], bans[0]]
    assert await storage.bans.matching("other", [("email", "x@mail.example")], 50.0) == [bans[2]]
    # As the audit log's: ids after a copy follow the copied ones.
    renewed = await storage.bans.put(msgspec.structs.replace(bans[0], id=0, mode="shadow"))
    assert renewed.id > 7
    assert await storage.bans.of_site(SITE, 50.0) == [renewed, bans[1]]
    assert (await storage.comments.get("c2")) == SAMPLE["comments"][1]
    assert await storage.comments.counts(SITE, ["B", "a"]) == {"B": 1, "a": 0}
    assert [c.id for c in await storage.review.queue(SITE, 10)] == ["c2"]
    await _the_ports_read_copied_reactions(storage)
    await the_ports_read_copied_imports(storage)
    await post(storage, record("c4", thread="B", created_at=1_700_000_200.0))
    assert (await storage.threads.state(key)).seq == 3
    assert [(e.position, e.seq) for e in await storage.log.after(3, 10)] == [(4, 3)]


async def _the_ports_read_copied_reactions(storage: Storage) -> None:
    """Copied reactions are the store's own: the counts and versions as copied (not counted
    again), a reader's own; a new change moves them on from there."""
    key = ThreadKey(SITE, "B")
    c1 = CommentReactions(comment_id="c1", version=4, counts={"like": 2, "love": 1})
    c2 = CommentReactions(comment_id="c2", version=2, counts={})
    assert await storage.reactions.of_thread(key) == [c1, c2]
    assert await storage.reactions.of_thread(ThreadKey(SITE, "a")) == [
        CommentReactions(comment_id="c3", version=1, counts={"sad": 1})
    ]
    assert await storage.reactions.of_reader(key, "ann") == {"c1": ["like", "love"]}
    cleared = ReactionChange(
        site=SITE, thread="B", comment_id="c1", reader="ann", kind="like", on=False
    )
    assert await storage.reactions.apply([cleared, msgspec.structs.replace(cleared, on=True)]) == [
        msgspec.structs.replace(c1, version=6)
    ]


async def test_an_event_at_a_taken_position_is_refused(storage: Storage) -> None:
    """Another event at a position the log already holds: StoreError."""
    archive = archive_of(storage)
    await _write_sample(archive)
    with pytest.raises(StoreError):
        await archive.write(a.EVENTS, [_event(2, "B", 9)])
    assert await archive.count(a.EVENTS) == 3


async def test_a_row_of_a_missing_site_is_refused(storage: Storage) -> None:
    """A moderator of a site the store does not have: StoreError, nothing kept."""
    archive = archive_of(storage)
    with pytest.raises(StoreError):
        await archive.write(a.MODERATORS, SAMPLE["moderators"])
    assert await archive.count(a.MODERATORS) == 0


async def test_a_ban_on_a_person_already_banned_under_another_id_is_refused(
    storage: Storage,
) -> None:
    """A copied ban whose site, key and value another ban holds: StoreError, that one kept."""
    kept = await storage.bans.put(
        Ban(site=SITE, key="account", value="u", mode="ban", by="m", at=1.0)
    )
    archive = archive_of(storage)
    with pytest.raises(StoreError):
        await archive.write(a.BANS, [msgspec.structs.replace(kept, id=kept.id + 10, mode="shadow")])
    assert await archive.read(a.BANS, None, 10) == [kept]


async def test_events_posted_through_the_ports_are_read_with_their_positions(
    storage: Storage,
) -> None:
    """Events a thread's transactions wrote (on PostgreSQL not placed yet) are read placed,
    in log order, with the bytes the log holds."""
    await storage.sites.put(Site(name=SITE))
    await post(storage, record("p1", thread="x"))
    await post(storage, record("p2", thread="y", created_at=1_700_000_001.0))
    rows = await _read_all(archive_of(storage), a.EVENTS)
    assert [(r.position, r.thread, r.seq) for r in rows if isinstance(r, a.EventRow)] == [
        (1, "x", 1),
        (2, "y", 1),
    ]
    assert [e.payload for e in await storage.log.after(0, 10)] == [
        r.payload for r in rows if isinstance(r, a.EventRow)
    ]
