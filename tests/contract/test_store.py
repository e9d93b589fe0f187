"""The Store contract: every implementation must pass this one suite."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import msgspec
import pytest

from server import events
from server.adapters.memory_store import MemoryStore
from server.adapters.sqlite_migrations import LATEST, MIGRATIONS
from server.adapters.sqlite_store import SqliteStore
from server.events import CommentCreated, CommentEdited, CommentRemoved, ThreadLocked
from server.idempotency import key_hash
from server.model import (
    CommentRecord,
    Moderator,
    Site,
    Status,
    ThreadMeta,
    ThreadState,
    public,
    readable,
    tombstone,
)
from server.ports import (
    ERASED,
    Delivery,
    IdempotentAnswer,
    Store,
    StoreError,
    StoreUnavailable,
    Webhook,
)
from server.rules import Rules

AnyStore = MemoryStore | SqliteStore
SITE = "example"
TIMEOUT = 30.0


def _conforms(memory: MemoryStore, sqlite: SqliteStore) -> tuple[Store, Store]:
    # Never called: mypy proves here that both implementations satisfy the port.
    return memory, sqlite


class Boom(Exception):
    """Raised inside a transaction to make it roll back."""


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AnyStore]:
    opened: AnyStore = (
        MemoryStore() if request.param == "memory" else SqliteStore(str(tmp_path / "store.db"))
    )
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


def record(
    comment_id: str,
    *,
    thread: str = "t1",
    site: str = SITE,
    parent: str | None = None,
    status: Status = "visible",
    created_at: float = 1_700_000_000.0,
) -> CommentRecord:
    return CommentRecord(
        id=comment_id,
        site=site,
        thread=thread,
        parent=parent,
        author_name=f"Author of {comment_id}",
        author_email=f"{comment_id}@mail.example",
        author_url="https://author.example",
        body_source=f"secret body of {comment_id}",
        body_html=f"<p>secret body of {comment_id}</p>",
        status=status,
        created_at=created_at,
        edit_token_hash=f"edit-{comment_id}",
    )


def created(rec: CommentRecord) -> CommentCreated:
    return CommentCreated(seq=0, comment=public(rec))


async def post(store: AnyStore, rec: CommentRecord) -> bytes:
    async with store.transaction(rec.site, rec.thread) as tx:
        await tx.insert_comment(rec)
        return await tx.append(created(rec), rec.id)


async def seqs(store: AnyStore, thread: str, site: str = SITE) -> list[int]:
    return [e.seq for e in await store.events_after(site, thread, 0, 10_000)]


async def test_migrations_are_idempotent(store: AnyStore) -> None:
    """Migrating an up-to-date store again keeps its sites, comments and events, and its version."""
    # The memory store has no schema (its version is always 0), so what it can be held to is
    # that `livethread migrate` on a live store loses nothing.
    site = Site(name=SITE, origins=("https://a.example",))
    await store.put_site(site)
    rec = record("c1")
    payload = await post(store, rec)
    first = await store.migrate()
    assert await store.migrate() == first
    assert first == (LATEST if isinstance(store, SqliteStore) else 0)
    assert await store.site(SITE) == site
    assert await store.comment("c1") == rec
    assert [e.payload for e in await store.events_after(SITE, "t1", 0, 10)] == [payload]


async def test_sqlite_reopen_keeps_schema_version(tmp_path: Path) -> None:
    """Opening the same SQLite file twice migrates once and lands on the latest version."""
    path = str(tmp_path / "again.db")
    for _ in range(2):
        reopened = SqliteStore(path)
        await reopened.open()
        try:
            assert await reopened.migrate() == LATEST
        finally:
            await reopened.close()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST


async def test_sqlite_reads_a_thread_in_snapshot_order_without_sorting(tmp_path: Path) -> None:
    """The thread index holds (created_at, id): a long thread's snapshot needs no sort step."""
    path = str(tmp_path / "plan.db")
    opened = SqliteStore(path)
    await opened.open()
    await opened.close()
    with closing(sqlite3.connect(path)) as conn:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM comments WHERE site = ? AND thread = ? "
            "ORDER BY created_at, id",
            (SITE, "t1"),
        ).fetchall()
    details = " ".join(str(row[-1]) for row in plan)
    assert "comments_by_thread" in details and "TEMP B-TREE" not in details, details


async def test_sqlite_durability_pragmas(tmp_path: Path) -> None:
    """An open SQLite store runs WAL with synchronous=FULL, a busy timeout and foreign keys."""
    path = str(tmp_path / "durable.db")
    opened = SqliteStore(path)
    await opened.open()
    try:
        found = await opened.durability()
        assert found.journal_mode == "wal"
        assert found.synchronous == 2
        assert found.busy_timeout >= 1000
        assert found.foreign_keys
        # WAL is a property of the file, so an outside connection sees it too.
        with closing(sqlite3.connect(path)) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        await opened.close()


async def test_sqlite_refuses_a_database_without_wal() -> None:
    """open() fails loudly when WAL cannot be had, rather than serving without durability."""
    in_memory = SqliteStore(":memory:")
    with pytest.raises(StoreError, match="wal"):
        await in_memory.open()
    await in_memory.close()


async def test_commit_makes_changes_visible(store: AnyStore) -> None:
    """A clean transaction's comment, event, seq and lock flag are all visible afterwards."""
    rec = record("c1")
    async with store.transaction(SITE, "t1") as tx:
        assert (await tx.state()).seq == 0
        await tx.insert_comment(rec)
        payload = await tx.append(created(rec), rec.id)
        await tx.set_locked(True)
    assert await store.comment("c1") == rec
    state = await store.thread_state(SITE, "t1")
    assert (state.seq, state.locked) == (1, True)
    assert [e.payload for e in await store.events_after(SITE, "t1", 0, 10)] == [payload]
    assert await store.comments(SITE, "t1") == (state, [rec])


async def test_raising_transaction_leaves_nothing(store: AnyStore) -> None:
    """A transaction that raises changes no comment, seq, event, lock flag or idempotency key."""
    first = record("c1")
    await post(store, first)
    answer = IdempotentAnswer(key="k", fingerprint="f", status=201, body=b"{}", created_at=1.0)

    async def doomed() -> None:
        async with store.transaction(SITE, "t1") as tx:
            await tx.update_comment(msgspec.structs.replace(first, status="removed"))
            await tx.insert_comment(record("c2", created_at=1_700_000_001.0))
            await tx.append(CommentRemoved(seq=0, id="c1"), "c1")
            await tx.rewrite("c1", tombstone(first))
            await tx.set_locked(True)
            await tx.remember(answer)
            raise Boom

    with pytest.raises(Boom):
        await doomed()
    assert await store.comment("c1") == first
    assert await store.comment("c2") is None
    state = await store.thread_state(SITE, "t1")
    assert (state.seq, state.locked) == (1, False)
    replay = await store.events_after(SITE, "t1", 0, 10)
    assert [e.seq for e in replay] == [1]
    assert b"secret body of c1" in replay[0].payload
    async with store.transaction(SITE, "t1") as tx:
        assert await tx.recall("k") is None


async def test_cancelled_transaction_rolls_back_and_store_stays_usable(store: AnyStore) -> None:
    """Cancelling a task inside a transaction rolls it back and frees the store for the next."""
    inside = asyncio.Event()

    async def stuck() -> None:
        async with store.transaction(SITE, "t1") as tx:
            await tx.append(ThreadLocked(seq=0), None)
            inside.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(stuck())
    async with asyncio.timeout(TIMEOUT):
        await inside.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with store.transaction(SITE, "t1") as tx:
            assert (await tx.state()).seq == 0
            assert await tx.append(ThreadLocked(seq=0), None)
    assert await seqs(store, "t1") == [1]


async def test_reads_see_only_committed_state_without_waiting(store: AnyStore) -> None:
    """Reads outside a transaction neither wait for an open one nor see its changes."""
    await post(store, record("c1"))
    async with store.transaction(SITE, "t1") as tx:
        await tx.insert_comment(record("c2"))
        await tx.append(ThreadLocked(seq=0), None)
        async with asyncio.timeout(TIMEOUT):
            assert (await store.thread_state(SITE, "t1")).seq == 1
            assert await store.comment("c2") is None
            assert await seqs(store, "t1") == [1]
    assert await seqs(store, "t1") == [1, 2]


async def test_transaction_is_unusable_after_it_ends(store: AnyStore) -> None:
    """A Transaction used after its block has ended raises instead of writing outside it."""
    async with store.transaction(SITE, "t1") as tx:
        pass
    with pytest.raises(StoreError):
        await tx.append(ThreadLocked(seq=0), None)
    assert await seqs(store, "t1") == []


async def test_append_assigns_consecutive_seqs_per_thread(store: AnyStore) -> None:
    """Seqs start at 1 and go up by one per event, independently in each thread."""
    returned: list[bytes] = []
    for _ in range(3):
        async with store.transaction(SITE, "a") as tx:
            returned.append(await tx.append(ThreadLocked(seq=0), None))
    async with store.transaction(SITE, "b") as tx:
        returned.append(await tx.append(ThreadLocked(seq=0), None))
    async with store.transaction(SITE, "a") as tx:
        returned.append(await tx.append(ThreadLocked(seq=0), None))
        returned.append(await tx.append(ThreadLocked(seq=0), None))
    async with store.transaction("other-site", "a") as tx:
        returned.append(await tx.append(ThreadLocked(seq=0), None))
    assert [events.seq_of(p) for p in returned] == [1, 2, 3, 1, 4, 5, 1]
    assert await seqs(store, "a") == [1, 2, 3, 4, 5]
    assert await seqs(store, "b") == [1]
    assert (await store.thread_state(SITE, "a")).seq == 5


async def test_events_after_returns_missed_events_in_order(store: AnyStore) -> None:
    """events_after gives exactly the events after a seq, oldest first, at most `limit`."""
    payloads = [
        await post(store, record(f"c{i}", created_at=1_700_000_000.0 + i)) for i in range(5)
    ]
    replay = await store.events_after(SITE, "t1", 2, 100)
    assert [(e.seq, e.payload) for e in replay] == [
        (3, payloads[2]),
        (4, payloads[3]),
        (5, payloads[4]),
    ]
    assert [e.seq for e in await store.events_after(SITE, "t1", 2, 2)] == [3, 4]
    assert await store.events_after(SITE, "t1", 5, 100) == []
    assert await store.events_after(SITE, "t1", 0, 0) == []
    assert await store.events_after(SITE, "unknown", 0, 100) == []


async def test_redact_erases_author_and_body_from_replays(store: AnyStore) -> None:
    """After redact, replayed created/edited events carry a tombstone; seq and type are kept."""
    victim = record("c1")
    bystander = record("c2", created_at=1_700_000_001.0)
    await post(store, victim)
    async with store.transaction(SITE, "t1") as tx:
        edited = msgspec.structs.replace(victim, body_html="<p>secret edit</p>", edited_at=2e9)
        await tx.update_comment(edited)
        await tx.append(CommentEdited(seq=0, comment=public(edited)), victim.id)
    await post(store, bystander)
    before = await store.events_after(SITE, "t1", 0, 10)
    async with store.transaction(SITE, "t1") as tx:
        await tx.update_comment(msgspec.structs.replace(edited, status="removed"))
        await tx.append(CommentRemoved(seq=0, id=victim.id), victim.id)
        await tx.rewrite(victim.id, tombstone(edited))
    replay = await store.events_after(SITE, "t1", 0, 10)
    assert [e.seq for e in replay] == [1, 2, 3, 4]
    decoded = [events.decode_event(e.payload) for e in replay]
    assert [events.event_type(e) for e in decoded] == [
        "comment.created",
        "comment.edited",
        "comment.created",
        "comment.removed",
    ]
    for stored, event in zip(replay[:2], decoded[:2], strict=True):
        assert isinstance(event, CommentCreated | CommentEdited)
        assert event.seq == stored.seq
        assert (event.comment.status, event.comment.author, event.comment.html) == (
            "removed",
            None,
            None,
        )
        assert event.comment.id == victim.id
        assert event.comment.created == public(victim).created
        for secret in (b"secret", b"Author of c1", b"mail.example"):
            assert secret not in stored.payload
    assert replay[2] == before[2]
    assert decoded[3] == CommentRemoved(seq=4, id=victim.id)


async def test_comment_in_transaction_is_scoped_to_its_thread(store: AnyStore) -> None:
    """Transaction.comment() finds a comment of its own thread only."""
    rec = record("c1", thread="a")
    await post(store, rec)
    async with store.transaction(SITE, "b") as tx:
        assert await tx.comment("c1") is None
    async with store.transaction("other-site", "a") as tx:
        assert await tx.comment("c1") is None
    async with store.transaction(SITE, "a") as tx:
        assert await tx.comment("c1") == rec
        assert await tx.comment("missing") is None


async def test_writes_outside_the_thread_are_refused(store: AnyStore) -> None:
    """Inserting into or updating a comment of another thread raises StoreError."""
    await post(store, record("c1", thread="a"))
    async with store.transaction(SITE, "b") as tx:
        with pytest.raises(StoreError):
            await tx.insert_comment(record("c2", thread="a"))
        with pytest.raises(StoreError):
            await tx.update_comment(record("c1", thread="a"))
        with pytest.raises(StoreError):
            await tx.update_comment(record("missing", thread="b"))
    with pytest.raises(StoreError):
        await post(store, record("c1", thread="a"))


async def test_has_replies(store: AnyStore) -> None:
    """has_replies is true for a parent (whatever the reply's status) and false for a leaf."""
    await post(store, record("p"))
    await post(store, record("c", parent="p", status="pending", created_at=1_700_000_001.0))
    async with store.transaction(SITE, "t1") as tx:
        assert await tx.has_replies("p")
        assert not await tx.has_replies("c")


async def test_comments_returns_all_statuses_oldest_first(store: AnyStore) -> None:
    """comments() returns every record of the thread, oldest first, with the matching state."""
    recs = [
        record("c3", status="deleted", created_at=3.0),
        record("c1", created_at=1.0),
        record("c2", status="pending", created_at=2.0),
    ]
    for rec in recs:
        await post(store, rec)
    await post(store, record("elsewhere", thread="t2"))
    state, found = await store.comments(SITE, "t1")
    assert state.seq == 3
    assert [r.id for r in found] == ["c1", "c2", "c3"]


async def test_readable_comments_are_the_comments_without_their_private_fields(
    store: AnyStore,
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
        await post(store, rec)
    state, full = await store.comments(SITE, "t1")
    readable_state, found = await store.readable_comments(SITE, "t1")
    assert readable_state == state
    assert found == [readable(r) for r in full]
    assert [r.id for r in found] == ["r1", "r2", "r3", "r4"]
    assert not any(r.author_email or r.body_source or r.edit_token_hash or r.flag for r in found)


async def test_counts_only_visible_comments(store: AnyStore) -> None:
    """counts() counts visible comments per thread and gives 0 for unknown threads."""
    statuses: tuple[Status, ...] = ("visible", "visible", "pending", "removed", "deleted")
    for i, status in enumerate(statuses):
        await post(store, record(f"a{i}", thread="a", status=status))
    await post(store, record("b0", thread="b"))
    await post(store, record("x0", thread="a", site="other-site"))
    assert await store.counts(SITE, ["a", "b", "nowhere"]) == {"a": 2, "b": 1, "nowhere": 0}
    assert await store.counts(SITE, []) == {}


async def test_sites_round_trip(store: AnyStore) -> None:
    """A site comes back as stored, and put_site replaces it."""
    site = Site(name=SITE, origins=("https://a.example", "https://b.example"), premoderate=True)
    await store.put_site(site)
    assert await store.site(SITE) == site
    changed = Site(name=SITE)
    await store.put_site(changed)
    assert await store.site(SITE) == changed
    assert await store.site("nowhere") is None


async def test_moderators_round_trip_and_token_replacement(store: AnyStore) -> None:
    """A moderator is found by token hash; a new token replaces the old one, which stops working."""
    await store.put_site(Site(name=SITE))
    await store.put_site(Site(name="other-site"))
    editor = Moderator(name="editor", site=SITE)
    await store.put_moderator(editor, "hash-1")
    assert await store.moderator("hash-1") == editor
    await store.put_moderator(editor, "hash-2")
    assert await store.moderator("hash-1") is None
    assert await store.moderator("hash-2") == editor
    same_name_elsewhere = Moderator(name="editor", site="other-site")
    await store.put_moderator(same_name_elsewhere, "hash-3")
    assert await store.moderator("hash-2") == editor
    assert await store.moderator("hash-3") == same_name_elsewhere
    # Re-sites and site replacement must not drop moderators.
    await store.put_site(Site(name=SITE, premoderate=True))
    assert await store.moderator("hash-2") == editor


async def test_put_moderator_refuses_unknown_site_and_shared_token(store: AnyStore) -> None:
    """A moderator needs an existing site and a token hash nobody else holds."""
    with pytest.raises(StoreError):
        await store.put_moderator(Moderator(name="ghost", site="nowhere"), "hash-0")
    await store.put_site(Site(name=SITE))
    await store.put_moderator(Moderator(name="a", site=SITE), "hash-1")
    with pytest.raises(StoreError):
        await store.put_moderator(Moderator(name="b", site=SITE), "hash-1")
    assert await store.moderator("hash-1") == Moderator(name="a", site=SITE)
    assert await store.moderator("hash-0") is None


async def test_idempotency_is_scoped_per_site(store: AnyStore) -> None:
    """A remembered answer is recalled from any thread of its site and from no other site."""
    answer = IdempotentAnswer(
        key="k1", fingerprint="fp", status=201, body=b'{"id":"c1"}', created_at=1.0
    )
    async with store.transaction(SITE, "t1") as tx:
        assert await tx.recall("k1") is None
        await tx.remember(answer)
        assert await tx.recall("k1") == answer
    async with store.transaction(SITE, "t2") as tx:
        assert await tx.recall("k1") == answer
        with pytest.raises(StoreError):
            await tx.remember(answer)
    async with store.transaction("other-site", "t1") as tx:
        assert await tx.recall("k1") is None


def _answer(key: str, comment_id: str, created_at: float) -> IdempotentAnswer:
    return IdempotentAnswer(
        key=key,
        fingerprint=f"fp-{key}",
        status=201,
        body=b'{"comment":{"id":"%s","body":"secret"}}' % comment_id.encode(),
        created_at=created_at,
        comment_id=comment_id,
    )


async def test_answers_older_than_the_cutoff_are_forgotten(store: AnyStore) -> None:
    """`forget_answers` drops every site's answers remembered before the cutoff, at once in
    its own transaction and for good after the commit; newer ones stay."""
    old, new, elsewhere = (
        _answer("old", "c1", 100.0),
        _answer("new", "c2", 300.0),
        _answer("far", "c3", 100.0),
    )
    async with store.transaction(SITE, "t1") as tx:
        await tx.remember(old)
        await tx.remember(new)
    async with store.transaction("other-site", "t1") as tx:
        await tx.remember(elsewhere)
    async with store.transaction(SITE, "t2") as tx:
        await tx.forget_answers(200.0)
        assert await tx.recall("old") is None
        assert await tx.recall("new") == new
        await tx.remember(_answer("old", "c4", 250.0))
    async with store.transaction(SITE, "t1") as tx:
        assert await tx.recall("old") == _answer("old", "c4", 250.0)
        assert await tx.recall("new") == new
    async with store.transaction("other-site", "t1") as tx:
        assert await tx.recall("far") is None


async def test_erasing_a_comments_answers_keeps_no_text_or_fingerprint(store: AnyStore) -> None:
    """`erase_answers` rewrites the body of the answers holding that comment and blanks their
    fingerprint; other comments' answers are untouched; a rollback keeps the old ones."""
    first, other = _answer("k1", "c1", 100.0), _answer("k2", "c2", 100.0)
    async with store.transaction(SITE, "t1") as tx:
        await tx.remember(first)
        await tx.remember(other)

    async def doomed() -> None:
        async with store.transaction(SITE, "t1") as tx:
            await tx.erase_answers("c1", b"{}")
            raise Boom

    with pytest.raises(Boom):
        await doomed()
    async with store.transaction(SITE, "t1") as tx:
        assert await tx.recall("k1") == first
        await tx.erase_answers("c1", b'{"comment":{"id":"c1"}}')
        erased = await tx.recall("k1")
        assert erased is not None and (erased.body, erased.fingerprint) == (
            b'{"comment":{"id":"c1"}}',
            ERASED,
        )
    async with store.transaction(SITE, "t2") as tx:
        assert await tx.recall("k1") == erased
        assert await tx.recall("k2") == other


async def test_sqlite_migration_forgets_answers_of_erased_comments(tmp_path: Path) -> None:
    """Migration 8 links each kept answer to its comment and drops the answers of comments
    erased before it, which still held their text."""
    path = tmp_path / "old.db"
    with closing(sqlite3.connect(path)) as conn:
        for migration in MIGRATIONS[:7]:
            for statement in migration:
                conn.execute(statement)
        for comment_id, status in (("c1", "visible"), ("c2", "deleted")):
            conn.execute(
                "INSERT INTO comments (id, site, thread, parent, author_name, body_source, "
                "body_html, status, created_at, edit_token_hash) "
                "VALUES (?, 's', 't', NULL, 'A', 'b', 'b', ?, 1.0, 'h')",
                (comment_id, status),
            )
            conn.execute(
                "INSERT INTO idempotency (site, key, fingerprint, status, body, created_at) "
                "VALUES ('s', ?, 'f', 201, ?, 1.0)",
                (f"k-{comment_id}", b'{"comment":{"id":"%s"}}' % comment_id.encode()),
            )
        conn.execute("PRAGMA user_version = 7")
        conn.commit()
    store = SqliteStore(str(path))
    await store.open()
    try:
        async with store.transaction("s", "t") as tx:
            # Migration 10 then keeps the keys as their hashes.
            kept = await tx.recall(key_hash("k-c1"))
            assert kept is not None and kept.comment_id == "c1"
            assert await tx.recall(key_hash("k-c2")) is None
    finally:
        await store.close()


async def test_sqlite_two_processes_append_consecutively(tmp_path: Path) -> None:
    """Two stores on one file (as two processes) appending at once never share or skip a seq."""
    path = str(tmp_path / "shared.db")
    first, second = SqliteStore(path), SqliteStore(path)
    await first.open()
    try:
        await second.open()
        try:

            async def append_many(target: SqliteStore, count: int) -> list[int]:
                got = []
                for _ in range(count):
                    async with target.transaction(SITE, "hot") as tx:
                        got.append(events.seq_of(await tx.append(ThreadLocked(seq=0), None)))
                return got

            async with asyncio.timeout(TIMEOUT * 2):
                mine, theirs = await asyncio.gather(append_many(first, 50), append_many(second, 50))
            assert sorted(mine + theirs) == list(range(1, 101))
            assert await seqs(first, "hot") == list(range(1, 101))
            assert (await second.thread_state(SITE, "hot")).seq == 100
        finally:
            await second.close()
    finally:
        await first.close()


async def test_sqlite_data_survives_close_and_reopen(tmp_path: Path) -> None:
    """Everything committed is still there after the store is closed and opened again."""
    path = str(tmp_path / "lasting.db")
    rec = record("c1")
    answer = IdempotentAnswer(key="k", fingerprint="f", status=201, body=b"{}", created_at=1.0)
    before = SqliteStore(path)
    await before.open()
    try:
        await before.put_site(Site(name=SITE, origins=("https://a.example",)))
        await before.put_moderator(Moderator(name="m", site=SITE), "hash")
        async with before.transaction(SITE, "t1") as tx:
            await tx.insert_comment(rec)
            payload = await tx.append(created(rec), rec.id)
            await tx.set_locked(True)
            await tx.remember(answer)
    finally:
        await before.close()
    after = SqliteStore(path)
    await after.open()
    try:
        assert await after.comment("c1") == rec
        state = await after.thread_state(SITE, "t1")
        assert (state.seq, state.locked) == (1, True)
        assert [e.payload for e in await after.events_after(SITE, "t1", 0, 10)] == [payload]
        assert await after.site(SITE) == Site(name=SITE, origins=("https://a.example",))
        assert await after.moderator("hash") == Moderator(name="m", site=SITE)
        async with after.transaction(SITE, "t1") as tx:
            assert await tx.recall("k") == answer
    finally:
        await after.close()


async def test_log_orders_every_thread_in_commit_order(store: AnyStore) -> None:
    """The store-wide log lists every committed event once, by position, across threads."""
    assert await store.log_end() == 0
    await post(store, record("a1", thread="t1"))
    await post(store, record("b1", thread="t2"))
    await post(store, record("a2", thread="t1"))
    log = await store.log_after(0, 10)
    assert [(e.position, e.thread, e.seq) for e in log] == [
        (1, "t1", 1),
        (2, "t2", 1),
        (3, "t1", 2),
    ]
    assert await store.log_end() == 3
    assert [e.position for e in await store.log_after(1, 1)] == [2]
    assert await store.log_after(3, 10) == []


async def test_log_leaves_out_rolled_back_events(store: AnyStore) -> None:
    """An event whose transaction rolled back never appears in the log."""

    async def doomed() -> None:
        async with store.transaction(SITE, "t1") as tx:
            await tx.append(created(record("x")), None)
            raise Boom

    with pytest.raises(Boom):
        await doomed()
    await post(store, record("a1"))
    log = await store.log_after(0, 10)
    assert [(e.thread, e.seq) for e in log] == [("t1", 1)]


async def test_log_shows_redactions(store: AnyStore) -> None:
    """A redacted event reads redacted through the log too."""
    rec = record("a1")
    await post(store, rec)
    async with store.transaction(SITE, "t1") as tx:
        await tx.rewrite("a1", tombstone(rec))
    (entry,) = await store.log_after(0, 10)
    assert b"secret body" not in entry.payload


async def test_sqlite_migration_keeps_events_of_version_one(tmp_path: Path) -> None:
    """A database at schema 1 keeps its events, in order, when migrated to the log schema."""
    path = tmp_path / "old.db"
    with closing(sqlite3.connect(path)) as conn:
        for statement in MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO events (site, thread, seq, type, payload) VALUES "
            "('s', 't', 1, 'thread.locked', x'7b7d'), ('s', 't', 2, 'thread.unlocked', x'7b7d')"
        )
        conn.execute("PRAGMA user_version = 1")
        conn.commit()
    store = SqliteStore(str(path))
    await store.open()
    try:
        log = await store.log_after(0, 10)
        assert [(e.position, e.seq) for e in log] == [(1, 1), (2, 2)]
    finally:
        await store.close()


async def test_moderators_of_a_site(store: AnyStore) -> None:
    """A site's moderators are listed by name; other sites' are not."""
    await store.put_site(Site(name=SITE))
    await store.put_site(Site(name="other"))
    await store.put_moderator(Moderator(name="Zed", site=SITE), "h1")
    await store.put_moderator(Moderator(name="Ann", site=SITE), "h2")
    await store.put_moderator(Moderator(name="Olaf", site="other"), "h3")
    assert [m.name for m in await store.moderators(SITE)] == ["Ann", "Zed"]
    assert await store.moderators("nobody") == []


async def test_comments_by_email_across_threads(store: AnyStore) -> None:
    """A person's comments are found by email in every thread, whatever the email's case."""
    await post(store, record("a1", thread="t1"))
    await post(store, record("b1", thread="t2", created_at=1_700_000_001.0))
    await post(store, msgspec.structs.replace(record("z9"), author_email="other@mail.example"))
    found = await store.comments_by_email("A1@MAIL.EXAMPLE")
    assert [r.id for r in found] == ["a1"]
    both = [r.id for r in await store.comments_by_email("a1@mail.example")]
    assert both == ["a1"]
    assert await store.comments_by_email("nobody@mail.example") == []


async def test_a_reader_cursor_starts_at_zero_and_advances_under_its_lease(
    store: AnyStore,
) -> None:
    """A log reader's position is committed only by the holder of its lease."""
    assert await store.cursor("mailer") == 0
    assert await store.lease("mailer", "copy-1", until=100.0, now=0.0)
    assert await store.advance("mailer", "copy-1", 7)
    assert await store.cursor("mailer") == 7
    assert not await store.advance("mailer", "copy-2", 9)
    assert await store.cursor("mailer") == 7
    assert await store.cursor("other") == 0


async def test_a_lease_excludes_other_copies_until_it_expires(store: AnyStore) -> None:
    """A second copy is refused while the lease runs, and takes over once it has expired."""
    assert await store.lease("mailer", "copy-1", until=100.0, now=0.0)
    assert await store.lease("mailer", "copy-1", until=200.0, now=50.0)  # renewal
    assert not await store.lease("mailer", "copy-2", until=300.0, now=150.0)
    assert await store.lease("mailer", "copy-2", until=400.0, now=250.0)  # expired: taken over
    assert not await store.advance("mailer", "copy-1", 3)
    assert await store.advance("mailer", "copy-2", 3)
    assert await store.cursor("mailer") == 3


def hook(webhook_id: str, *, site: str = SITE, types: tuple[str, ...] = ()) -> Webhook:
    return Webhook(
        id=webhook_id,
        site=site,
        url=f"https://receiver.example/{webhook_id}",
        secret=f"secret-{webhook_id}",
        events=types,
    )


def delivery(webhook_id: str, position: int, *, next_at: float = 0.0) -> Delivery:
    return Delivery(
        id=f"{webhook_id}:{position}",
        webhook_id=webhook_id,
        position=position,
        site=SITE,
        thread="t1",
        payload=b'{"type":"thread.locked","seq":%d}' % position,
        next_at=next_at,
    )


async def test_webhooks_round_trip_per_site(store: AnyStore) -> None:
    """Webhooks are kept per site (listed by id), replaced by id, and removed."""
    await store.put_site(Site(name=SITE))
    await store.put_site(Site(name="other"))
    wanted = ("comment.created", "thread.locked")
    await store.put_webhook(hook("w2", types=wanted))
    await store.put_webhook(hook("w1"))
    await store.put_webhook(hook("w3", site="other"))
    assert await store.webhooks(SITE) == [hook("w1"), hook("w2", types=wanted)]
    assert await store.webhook("w3") == hook("w3", site="other")
    changed = msgspec.structs.replace(hook("w1"), url="https://elsewhere.example/")
    await store.put_webhook(changed)
    assert await store.webhook("w1") == changed
    assert await store.remove_webhook("w1")
    assert not await store.remove_webhook("w1")
    assert await store.webhook("w1") is None
    assert [w.id for w in await store.webhooks(SITE)] == ["w2"]
    assert await store.webhooks("nobody") == []


async def test_a_webhook_needs_its_site(store: AnyStore) -> None:
    """A webhook for a site that does not exist is refused."""
    with pytest.raises(StoreError):
        await store.put_webhook(hook("w1", site="nowhere"))


async def test_deliveries_are_queued_once_and_come_due_in_order(store: AnyStore) -> None:
    """Queueing is idempotent by id; due deliveries come longest due first, up to a limit."""
    await store.put_site(Site(name=SITE))
    await store.put_webhook(hook("w1"))
    await store.enqueue_deliveries(
        [delivery("w1", 2, next_at=10.0), delivery("w1", 1, next_at=20.0)]
    )
    await store.enqueue_deliveries([delivery("w1", 3, next_at=10.0)])
    await store.settle_delivery("w1:3", "sent", 1, 11.0, None)
    # Queued again (a worker handling the event twice): nothing changes, not even a sent one.
    await store.enqueue_deliveries([delivery("w1", 2, next_at=0.0), delivery("w1", 3)])
    assert [d.id for d in await store.due_deliveries(15.0, 10)] == ["w1:2"]
    assert [d.id for d in await store.due_deliveries(20.0, 10)] == ["w1:2", "w1:1"]
    assert [d.id for d in await store.due_deliveries(20.0, 1)] == ["w1:2"]
    assert await store.due_deliveries(5.0, 10) == []
    (sent,) = await store.deliveries("sent")
    assert (sent.id, sent.attempts, sent.next_at, sent.last_error) == ("w1:3", 1, 11.0, None)
    assert [d.id for d in await store.deliveries("pending")] == ["w1:1", "w1:2"]
    assert (await store.deliveries("pending"))[1] == delivery("w1", 2, next_at=10.0)


async def test_a_failed_delivery_is_retried_later_then_parked_and_replayed(
    store: AnyStore,
) -> None:
    """Settling records attempts, the next time and the error; replay makes parked ones due."""
    await store.put_site(Site(name=SITE))
    await store.put_webhook(hook("w1"))
    await store.enqueue_deliveries([delivery("w1", n) for n in (1, 2, 3)])
    await store.settle_delivery("w1:1", "pending", 1, 50.0, "HTTP 500")
    assert [d.id for d in await store.due_deliveries(10.0, 10)] == ["w1:2", "w1:3"]
    (retried,) = [d for d in await store.deliveries("pending") if d.id == "w1:1"]
    assert (retried.attempts, retried.next_at, retried.last_error) == (1, 50.0, "HTTP 500")
    for delivery_id in ("w1:1", "w1:2", "w1:3"):
        await store.settle_delivery(delivery_id, "parked", 8, 60.0, "timed out")
    assert await store.due_deliveries(1000.0, 10) == []
    assert [d.id for d in await store.deliveries("parked")] == ["w1:1", "w1:2", "w1:3"]
    assert await store.replay_deliveries(["w1:2", "w1:2", "missing"]) == 1
    (again,) = await store.due_deliveries(0.0, 10)
    assert (again.id, again.status, again.attempts, again.next_at) == ("w1:2", "pending", 0, 0.0)
    assert await store.replay_deliveries(["w1:2"]) == 0  # not parked any more
    assert await store.replay_deliveries(None) == 2
    assert await store.deliveries("parked") == []
    assert [d.id for d in await store.due_deliveries(0.0, 10)] == ["w1:1", "w1:2", "w1:3"]


async def test_removing_a_webhook_removes_its_deliveries(store: AnyStore) -> None:
    """A removed webhook's deliveries go with it, and none can be queued for it afterwards."""
    await store.put_site(Site(name=SITE))
    await store.put_webhook(hook("w1"))
    await store.put_webhook(hook("w2"))
    await store.enqueue_deliveries([delivery("w1", 1), delivery("w2", 1)])
    assert await store.remove_webhook("w1")
    await store.enqueue_deliveries([delivery("w1", 2), delivery("w2", 2)])
    assert [d.id for d in await store.deliveries("pending")] == ["w2:1", "w2:2"]


async def test_a_redaction_reaches_queued_webhook_deliveries(store: AnyStore) -> None:
    """Deliveries copy their event; redacting the comment rewrites the copies too."""
    await store.put_site(Site(name=SITE))
    await store.put_webhook(hook("w1"))
    await post(store, record("a1"))
    await post(store, record("a2"))
    entries = await store.log_after(0, 10)
    await store.enqueue_deliveries(
        [msgspec.structs.replace(delivery("w1", e.position), payload=e.payload) for e in entries]
    )
    await store.settle_delivery("w1:1", "parked", 8, 0.0, "HTTP 500")
    async with store.transaction(SITE, "t1") as tx:
        await tx.rewrite("a1", tombstone(record("a1")))
    parked, pending = await store.deliveries("parked"), await store.deliveries("pending")
    assert b"secret body" not in parked[0].payload
    assert parked[0].payload == (await store.log_after(0, 1))[0].payload
    assert b"secret body of a2" in pending[0].payload


async def test_a_comment_keeps_its_notify_choice_until_unsubscribed(store: AnyStore) -> None:
    """notify round-trips through the store; unsubscribe turns it off, once there is a comment."""
    await store.put_site(Site(name=SITE))
    await post(store, msgspec.structs.replace(record("n1"), notify=True))
    await post(store, record("n2"))
    first, second = await store.comment("n1"), await store.comment("n2")
    assert first is not None and first.notify
    assert second is not None and not second.notify
    assert await store.unsubscribe("n1")
    after = await store.comment("n1")
    assert after is not None and not after.notify
    assert after == msgspec.structs.replace(first, notify=False)
    assert not await store.unsubscribe("nobody")


async def test_a_notification_is_marked_sent_once(store: AnyStore) -> None:
    """mark_notified is True the first time for a (reply, recipient) pair, then False."""
    assert not await store.was_notified("r1", "ann@mail.example")
    assert await store.mark_notified("r1", "ann@mail.example")
    assert await store.was_notified("r1", "ann@mail.example")
    assert not await store.mark_notified("r1", "ann@mail.example")
    assert await store.mark_notified("r1", "bob@mail.example")
    assert await store.mark_notified("r2", "ann@mail.example")


async def test_a_secret_is_made_once_and_kept(store: AnyStore) -> None:
    """secret(name) makes a random value on first use and returns the same one after."""
    first = await store.secret("unsubscribe")
    assert len(first) >= 32
    assert await store.secret("unsubscribe") == first
    assert await store.secret("other") != first


async def test_rules_round_trip_per_site(store: AnyStore) -> None:
    """A site's rules are None until set, then read back as set (replaced whole), per site."""
    await store.put_site(Site(name=SITE))
    await store.put_site(Site(name="elsewhere"))
    assert await store.rules(SITE) is None
    first = Rules(links_max=1, banned=("spam", "cheap pills"), velocity_author=None)
    await store.put_rules(SITE, first)
    assert await store.rules(SITE) == first
    second = Rules(suspect=("crypto",), classifier_url="https://c.example/check")
    await store.put_rules(SITE, second)
    assert await store.rules(SITE) == second
    assert await store.rules("elsewhere") is None


async def test_rules_need_their_site(store: AnyStore) -> None:
    """Rules for a site that does not exist are refused."""
    with pytest.raises(StoreError):
        await store.put_rules("nowhere", Rules())


async def test_the_queue_holds_pending_and_flagged_comments_of_a_site(store: AnyStore) -> None:
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
        async with store.transaction(row.site, row.thread) as tx:
            await tx.insert_comment(row)
    queued = await store.queue(SITE, 10)
    assert [r.id for r in queued] == ["flagged", "held"]
    assert queued[0].flag == "suspect words: crypto" and queued[0].decided_by == "automod:suspect"
    assert queued[1].reason == "3 links" and queued[1].decided_by == "automod:links"
    assert [r.id for r in await store.queue(SITE, 1)] == ["flagged"]
    async with store.transaction(SITE, "t2") as tx:
        flagged = await tx.comment("flagged")
        assert flagged is not None
        await tx.update_comment(msgspec.structs.replace(flagged, flag=None))
    assert [r.id for r in await store.queue(SITE, 10)] == ["held"]


async def test_sqlite_migration_10_hashes_kept_keys_and_strips_their_edit_tokens(
    tmp_path: Path,
) -> None:
    """Migration 10 keeps each answer under its key's SHA-256 and without its edit token, and
    adds the held-edit columns, empty, to the comments already there."""
    path = tmp_path / "nine.db"
    token = "plain-edit-token-of-c1"
    with closing(sqlite3.connect(path)) as conn:
        conn.create_function("livethread_sha256", 1, key_hash)
        for migration in MIGRATIONS[:9]:
            for statement in migration:
                conn.execute(statement)
        conn.execute(
            "INSERT INTO comments (id, site, thread, parent, author_name, body_source, "
            "body_html, status, created_at, edit_token_hash) "
            "VALUES ('c1', 's', 't', NULL, 'A', 'b', 'b', 'visible', 1.0, 'h')"
        )
        body = b'{"comment":{"id":"c1"},"edit_token":"%s"}' % token.encode()
        conn.execute(
            "INSERT INTO idempotency (site, key, fingerprint, status, body, created_at, "
            "comment_id) VALUES ('s', 'raw-key-1', 'f', 201, ?, 1.0, 'c1')",
            (body,),
        )
        conn.execute("PRAGMA user_version = 9")
        conn.commit()
    store = SqliteStore(str(path))
    await store.open()
    try:
        async with store.transaction("s", "t") as tx:
            assert await tx.recall("raw-key-1") is None
            kept = await tx.recall(key_hash("raw-key-1"))
        assert kept is not None and kept.comment_id == "c1"
        assert msgspec.json.decode(kept.body) == {"comment": {"id": "c1"}}
        found = await store.comment("c1")
        assert found is not None and found.pending_body_source is found.pending_body_html is None
    finally:
        await store.close()
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT key, body FROM idempotency").fetchall()
    assert all(b"raw-key-1" not in bytes(b) and token.encode() not in bytes(b) for _, b in rows)
    assert [k for k, _ in rows] == [key_hash("raw-key-1")]


async def test_a_held_edit_round_trips_and_queues_but_never_reaches_readers(
    store: AnyStore,
) -> None:
    """A visible comment with an edit awaiting approval keeps both texts, is in its site's
    queue, and its readable form carries neither the pending text nor its source."""
    await store.put_site(Site(name=SITE))
    rec = record("h1")
    await post(store, rec)
    held = msgspec.structs.replace(
        rec, pending_body_source="new *text*", pending_body_html="<p>new <em>text</em></p>"
    )
    async with store.transaction(SITE, "t1") as tx:
        await tx.update_comment(held)
    assert await store.comment("h1") == held
    assert [r.id for r in await store.queue(SITE, 10)] == ["h1"]
    _, readable_records = await store.readable_comments(SITE, "t1")
    assert readable_records[0].pending_body_html is readable_records[0].pending_body_source is None
    assert readable_records[0].body_html == rec.body_html


async def test_rewrite_puts_the_current_text_in_every_earlier_event_and_delivery(
    store: AnyStore,
) -> None:
    """After a rewrite with an edited comment, no stored event of it or queued webhook delivery
    copied from one carries the old text; other comments' events are untouched."""
    await store.put_site(Site(name=SITE))
    await store.put_webhook(hook("w1"))
    first = record("e1")
    await post(store, first)
    await post(store, record("e2", created_at=1_700_000_001.0))
    entries = await store.log_after(0, 10)
    await store.enqueue_deliveries(
        [msgspec.structs.replace(delivery("w1", e.position), payload=e.payload) for e in entries]
    )
    edited = msgspec.structs.replace(first, body_html="<p>only the new text</p>", edited_at=2e9)
    async with store.transaction(SITE, "t1") as tx:
        await tx.update_comment(edited)
        await tx.rewrite("e1", public(edited))
        await tx.append(CommentEdited(seq=0, comment=public(edited)), "e1")
    replay = await store.events_after(SITE, "t1", 0, 10)
    assert [e.seq for e in replay] == [1, 2, 3]
    assert b"secret body of e1" not in b"".join(e.payload for e in replay)
    assert b"only the new text" in replay[0].payload
    assert b"secret body of e2" in replay[1].payload
    copies = {d.position: d.payload for d in await store.deliveries("pending")}
    assert b"secret body of e1" not in copies[1] and b"only the new text" in copies[1]
    assert copies[2] == entries[1].payload


async def test_removing_a_moderator_deletes_their_token(store: AnyStore) -> None:
    """remove_moderator: the token authenticates nobody after, the name leaves the list, and an
    unknown moderator (or another site's) answers False."""
    await store.put_site(Site(name=SITE))
    await store.put_site(Site(name="elsewhere"))
    await store.put_moderator(Moderator(name="Lisa", site=SITE), "hash-lisa")
    await store.put_moderator(Moderator(name="Olaf", site=SITE), "hash-olaf")
    await store.put_moderator(Moderator(name="Lisa", site="elsewhere"), "hash-lisa-2")
    assert await store.remove_moderator(SITE, "Lisa")
    assert await store.moderator("hash-lisa") is None
    assert await store.moderator("hash-olaf") == Moderator(name="Olaf", site=SITE)
    assert await store.moderator("hash-lisa-2") == Moderator(name="Lisa", site="elsewhere")
    assert [m.name for m in await store.moderators(SITE)] == ["Olaf"]
    assert not await store.remove_moderator(SITE, "Lisa")
    assert not await store.remove_moderator("nowhere", "Olaf")
    # Added again, with a new token: the old one stays dead.
    await store.put_moderator(Moderator(name="Lisa", site=SITE), "hash-lisa-3")
    assert await store.moderator("hash-lisa") is None
    assert await store.moderator("hash-lisa-3") == Moderator(name="Lisa", site=SITE)


async def test_an_address_is_asked_then_confirmed_for_good(store: AnyStore) -> None:
    """Reply-mail addresses: unknown until asked; a confirmation mail records when and for
    which site (counted per site from a time on); confirming keeps the first time."""
    assert await store.address("k1") is None
    await store.confirmation_sent("k1", SITE, 100.0)
    await store.confirmation_sent("k2", SITE, 200.0)
    await store.confirmation_sent("k3", "elsewhere", 200.0)
    state = await store.address("k1")
    assert state is not None and state.requested_at == 100.0 and state.confirmed_at is None
    assert await store.confirmations_sent(SITE, 100.0) == 2
    assert await store.confirmations_sent(SITE, 150.0) == 1
    assert await store.confirmations_sent("elsewhere", 0.0) == 1
    assert await store.confirm_address("k1", 300.0)
    assert not await store.confirm_address("k1", 400.0)
    state = await store.address("k1")
    assert state is not None and state.confirmed_at == 300.0 and state.requested_at == 100.0
    # A later confirmation mail (for another site) moves the address's request, not its consent.
    await store.confirmation_sent("k1", "elsewhere", 500.0)
    state = await store.address("k1")
    assert state is not None and state.requested_at == 500.0 and state.confirmed_at == 300.0
    assert await store.confirmations_sent(SITE, 0.0) == 1
    # Confirming an address never asked (the link is the proof) is kept too.
    assert await store.confirm_address("k9", 600.0)
    assert (await store.address("k9")) is not None
    # Erased on its owner's request: unknown again, to be asked afresh.
    assert await store.forget_address("k1")
    assert await store.address("k1") is None
    assert not await store.forget_address("k1")
    assert await store.confirmations_sent("elsewhere", 0.0) == 1


async def test_a_store_that_can_write_says_so(store: AnyStore) -> None:
    """writable() returns when nothing holds the write lock and the disk has room."""
    await store.writable(0.5)


async def test_sqlite_locked_past_the_busy_timeout_is_unavailable(tmp_path: Path) -> None:
    """Another connection holding the write lock past the busy timeout: a write fails with
    StoreUnavailable (not a bare StoreError), writable() says so, nothing is stored; once the
    lock is gone both work again."""
    path = str(tmp_path / "locked.db")
    store = SqliteStore(path, busy_timeout_ms=200)
    await store.open()
    try:
        with closing(sqlite3.connect(path, isolation_level=None)) as outside:
            outside.execute("BEGIN EXCLUSIVE")
            with pytest.raises(StoreUnavailable, match="locked"):
                await post(store, record("c1"))
            with pytest.raises(StoreUnavailable, match="locked"):
                await store.writable(0.1)
            outside.execute("ROLLBACK")
        assert await store.comment("c1") is None
        await post(store, record("c2"))
        await store.writable(0.5)
        assert await store.comment("c2") is not None
    finally:
        await store.close()


async def test_thread_meta_first_fills_only_empty_fields_and_keeps_seq(store: AnyStore) -> None:
    """`first` sets only the fields still empty (a second page changes nothing), a plain set
    replaces both, neither moves the seq or the lock, and the state and snapshot reads carry it."""
    assert await store.thread_meta(SITE, "t1") == ThreadMeta()
    await post(store, record("c1"))
    named = await store.set_thread_meta(SITE, "t1", ThreadMeta(title="Budget"), first=True)
    assert named == ThreadMeta(title="Budget")
    later = ThreadMeta(title="Other", url="https://a.example/x")
    assert await store.set_thread_meta(SITE, "t1", later, first=True) == ThreadMeta(
        title="Budget", url="https://a.example/x"
    )
    assert await store.set_thread_meta(SITE, "t1", ThreadMeta(title="Zz"), first=True) == (
        ThreadMeta(title="Budget", url="https://a.example/x")
    )
    replaced = await store.set_thread_meta(SITE, "t1", ThreadMeta(title="New"))
    assert replaced == ThreadMeta(title="New") == await store.thread_meta(SITE, "t1")
    state = await store.thread_state(SITE, "t1")
    assert (state.seq, state.locked, state.meta) == (1, False, ThreadMeta(title="New"))
    readable_state, _ = await store.readable_comments(SITE, "t1")
    assert readable_state.meta == ThreadMeta(title="New")
    assert await store.thread_meta(SITE, "t2") == ThreadMeta()


async def test_a_transaction_keeps_meta_set_while_it_was_open(store: AnyStore) -> None:
    """A title set while another thread transaction is open survives that transaction's commit
    (seq and lock from the transaction, title from the set), and a new thread's row made by a
    title starts at seq 0, unlocked."""
    await store.set_thread_meta(SITE, "t1", ThreadMeta(title="Named"), first=True)
    assert await store.thread_state(SITE, "t1") == ThreadState(
        site=SITE, thread="t1", title="Named"
    )
    started = asyncio.Event()

    async def rename() -> ThreadMeta:
        started.set()
        return await store.set_thread_meta(SITE, "t1", ThreadMeta(title="Renamed"))

    async with asyncio.timeout(TIMEOUT):
        async with store.transaction(SITE, "t1") as tx:
            await tx.set_locked(True)
            racing = asyncio.ensure_future(rename())
            # Resumed once the rename has run up to its first wait, inside this transaction.
            await started.wait()
        await racing
    state = await store.thread_state(SITE, "t1")
    assert (state.locked, state.title) == (True, "Renamed")


async def test_migration_12_gives_existing_threads_empty_metadata(tmp_path: Path) -> None:
    """A database at version 11 keeps its threads' seq and lock and reads title and URL as ""."""
    path = tmp_path / "eleven.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.create_function("livethread_sha256", 1, key_hash)
        for migration in MIGRATIONS[:11]:
            for statement in migration:
                conn.execute(statement)
        conn.execute("INSERT INTO threads (site, thread, seq, locked) VALUES ('s', 't', 3, 1)")
        conn.execute("PRAGMA user_version = 11")
        conn.commit()
    store = SqliteStore(str(path))
    await store.open()
    try:
        state = await store.thread_state("s", "t")
        assert (state.seq, state.locked, state.meta) == (3, True, ThreadMeta())
    finally:
        await store.close()
