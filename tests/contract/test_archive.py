"""The `Archive` port's contract, on every store: whole rows written as given and read back in
key order, a second write doubling nothing, and the ports reading the copied rows as their own
(a thread's seq, the log's positions, the cursors), the log going on after the copied events."""

from __future__ import annotations

import msgspec
import pytest

from server.adapters.memory_archive import memory_archive
from server.adapters.postgres_archive import PostgresArchive
from server.adapters.postgres_database import PostgresDatabase
from server.adapters.sqlite_archive import SqliteArchive
from server.adapters.sqlite_database import SqliteDatabase
from server.archive import ports as a
from server.archive.copying import batches
from server.model import Site, ThreadKey
from server.moderation.rules import Rules
from server.storage import Storage, StoreError
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
    "moderators": [a.ModeratorRow(site=SITE, name="mia", token_hash="h1")],
    "rules": [a.RulesRow(site=SITE, config=msgspec.json.encode(Rules(links_max=1)).decode())],
    "threads": [
        a.ThreadRow(site=SITE, thread="B", seq=2, locked=True, title="Bee", url=""),
        a.ThreadRow(site=SITE, thread="a", seq=1, locked=False, title="", url="https://x.org/a"),
        a.ThreadRow(site=SITE, thread="é", seq=0, locked=False, title="É", url=""),
    ],
    "comments": [
        record("c1", thread="B"),
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
        record("c3", thread="a", status="removed"),
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
}


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
    """Copied rows are the store's own: a thread's seq, its events by seq, the log by position,
    a cursor's position; a new post takes the thread's next seq and the log's next position."""
    archive = archive_of(storage)
    await _write_sample(archive)
    key = ThreadKey(SITE, "B")
    state = await storage.threads.state(key)
    assert (state.seq, state.locked, state.title) == (2, True, "Bee")
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
    assert (await storage.comments.get("c2")) == SAMPLE["comments"][1]
    assert await storage.comments.counts(SITE, ["B", "a"]) == {"B": 1, "a": 0}
    assert [c.id for c in await storage.review.queue(SITE, 10)] == ["c2"]
    await post(storage, record("c4", thread="B", created_at=1_700_000_200.0))
    assert (await storage.threads.state(key)).seq == 3
    assert [(e.position, e.seq) for e in await storage.log.after(3, 10)] == [(4, 3)]


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
