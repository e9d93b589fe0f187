"""What only the SQLite store promises: its file, schema and migrations, its durability
settings, several processes on one file, and locks held by other connections.

The ports' contract, which SQLite shares with every store, is tests/contract/.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path

import msgspec
import pytest

from server import events
from server.accounts.ports import Account, SignIn
from server.adapters.sqlite_migrations import LATEST, MIGRATIONS
from server.adapters.sqlite_store import SqliteDatabase, sqlite_storage
from server.events import ThreadLocked
from server.model import Moderator, Site, Status, ThreadKey, ThreadMeta, counted, in_review
from server.moderation.ports import AuditEntry, Ban, Report
from server.reactions.ports import CommentReactions, ReactionChange
from server.storage import Database, Storage, StoreError, StoreUnavailable
from server.threads import history
from server.threads.idempotency import key_hash
from server.threads.ports import IdempotentAnswer
from tests.contract.records import SITE, TIMEOUT, created, post, record, seqs


def _conforms(database: SqliteDatabase) -> Database:
    # Never called: mypy proves here that the SQLite database is a Database.
    return database


def sqlite_database(storage: Storage) -> SqliteDatabase:
    database = storage.database
    assert isinstance(database, SqliteDatabase)
    return database


@asynccontextmanager
async def opened(path: str | Path, **options: int) -> AsyncIterator[Storage]:
    """A SQLite store on `path` (with sqlite_storage's `options`), open for the block."""
    storage = sqlite_storage(str(path), **options)
    await storage.open()
    try:
        yield storage
    finally:
        await storage.close()


def migrated_to(path: Path, version: int) -> sqlite3.Connection:
    """A connection to a new database at schema `version`, as an older release left it."""
    conn = sqlite3.connect(path)
    conn.create_function("livethread_sha256", 1, key_hash)
    for migration in MIGRATIONS[:version]:
        for statement in migration:
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")
    return conn


async def test_sqlite_reopen_keeps_schema_version(tmp_path: Path) -> None:
    """Opening the same SQLite file twice migrates once and lands on the latest version."""
    path = str(tmp_path / "again.db")
    for _ in range(2):
        async with opened(path) as reopened:
            assert await reopened.database.migrate() == LATEST
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST


async def test_sqlite_reads_a_thread_in_snapshot_order_without_sorting(tmp_path: Path) -> None:
    """The thread index holds (created_at, id): a long thread's snapshot needs no sort step."""
    path = str(tmp_path / "plan.db")
    async with opened(path):
        pass
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
    async with opened(path) as storage:
        database = sqlite_database(storage)
        assert database.path == path
        found = await database.durability()
        assert found.journal_mode == "wal"
        assert found.synchronous == 2
        assert found.busy_timeout >= 1000
        assert found.foreign_keys
        # WAL is a property of the file, so an outside connection sees it too.
        with closing(sqlite3.connect(path)) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_sqlite_refuses_a_database_without_wal() -> None:
    """open() fails loudly when WAL cannot be had, rather than serving without durability."""
    in_memory = sqlite_storage(":memory:")
    with pytest.raises(StoreError, match="wal"):
        await in_memory.open()
    await in_memory.close()


async def test_sqlite_migration_forgets_answers_of_erased_comments(tmp_path: Path) -> None:
    """Migration 8 links each kept answer to its comment and drops the answers of comments
    erased before it, which still held their text."""
    path = tmp_path / "old.db"
    with closing(migrated_to(path, 7)) as conn:
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
        conn.commit()
    async with opened(path) as storage, storage.threads.transaction(ThreadKey("s", "t")) as tx:
        # Migration 10 then keeps the keys as their hashes.
        kept = await tx.recall(key_hash("k-c1"))
        assert kept is not None and kept.comment_id == "c1"
        assert await tx.recall(key_hash("k-c2")) is None


async def test_sqlite_two_processes_append_consecutively(tmp_path: Path) -> None:
    """Two stores on one file (as two processes) appending at once never share or skip a seq."""
    path = str(tmp_path / "shared.db")
    hot = ThreadKey(SITE, "hot")

    async def append_many(target: Storage, count: int) -> list[int]:
        got = []
        for _ in range(count):
            async with target.threads.transaction(hot) as tx:
                got.append(events.seq_of(await history.append(tx, ThreadLocked(seq=0), None)))
        return got

    async with opened(path) as first, opened(path) as second:
        async with asyncio.timeout(TIMEOUT * 2):
            mine, theirs = await asyncio.gather(append_many(first, 50), append_many(second, 50))
        assert sorted(mine + theirs) == list(range(1, 101))
        assert await seqs(first, "hot") == list(range(1, 101))
        assert (await second.threads.state(hot)).seq == 100


async def test_sqlite_data_survives_close_and_reopen(tmp_path: Path) -> None:
    """Everything committed is still there after the store is closed and opened again."""
    path = str(tmp_path / "lasting.db")
    rec = record("c1")
    answer = IdempotentAnswer(key="k", fingerprint="f", status=201, body=b"{}", created_at=1.0)
    async with opened(path) as before:
        await before.sites.put(Site(name=SITE, origins=("https://a.example",)))
        await before.moderators.put(Moderator(name="m", site=SITE), "hash")
        async with before.threads.transaction(rec.key) as tx:
            await tx.insert_comment(rec)
            payload = await history.append(tx, created(rec), rec.id)
            await tx.set_locked(True)
            await tx.remember(answer)
    async with opened(path) as after:
        assert await after.comments.get("c1") == rec
        state = await after.threads.state(rec.key)
        assert (state.seq, state.locked) == (1, True)
        assert [e.payload for e in await after.log.events_after(rec.key, 0, 10)] == [payload]
        assert await after.sites.get(SITE) == Site(name=SITE, origins=("https://a.example",))
        assert await after.moderators.by_token("hash") == Moderator(name="m", site=SITE)
        async with after.threads.transaction(rec.key) as tx:
            assert await tx.recall("k") == answer


async def test_sqlite_migration_keeps_events_of_version_one(tmp_path: Path) -> None:
    """A database at schema 1 keeps its events, in order, when migrated to the log schema."""
    path = tmp_path / "old.db"
    with closing(migrated_to(path, 1)) as conn:
        conn.execute(
            "INSERT INTO events (site, thread, seq, type, payload) VALUES "
            "('s', 't', 1, 'thread.locked', x'7b7d'), ('s', 't', 2, 'thread.unlocked', x'7b7d')"
        )
        conn.commit()
    async with opened(path) as storage:
        entries = await storage.log.after(0, 10)
        assert [(e.position, e.seq) for e in entries] == [(1, 1), (2, 2)]


async def test_sqlite_migration_10_hashes_kept_keys_and_strips_their_edit_tokens(
    tmp_path: Path,
) -> None:
    """Migration 10 keeps each answer under its key's SHA-256 and without its edit token, and
    adds the held-edit columns, empty, to the comments already there."""
    path = tmp_path / "nine.db"
    token = "plain-edit-token-of-c1"
    with closing(migrated_to(path, 9)) as conn:
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
        conn.commit()
    async with opened(path) as storage:
        async with storage.threads.transaction(ThreadKey("s", "t")) as tx:
            assert await tx.recall("raw-key-1") is None
            kept = await tx.recall(key_hash("raw-key-1"))
        assert kept is not None and kept.comment_id == "c1"
        assert msgspec.json.decode(kept.body) == {"comment": {"id": "c1"}}
        found = await storage.comments.get("c1")
        assert found is not None and found.pending_body_source is found.pending_body_html is None
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT key, body FROM idempotency").fetchall()
    assert all(b"raw-key-1" not in bytes(b) and token.encode() not in bytes(b) for _, b in rows)
    assert [k for k, _ in rows] == [key_hash("raw-key-1")]


async def test_sqlite_locked_past_the_busy_timeout_is_unavailable(tmp_path: Path) -> None:
    """Another connection holding the write lock past the busy timeout: a write fails with
    StoreUnavailable (not a bare StoreError), writable() says so, nothing is stored; once the
    lock is gone both work again."""
    path = str(tmp_path / "locked.db")
    async with opened(path, busy_timeout_ms=200) as storage:
        with closing(sqlite3.connect(path, isolation_level=None)) as outside:
            outside.execute("BEGIN EXCLUSIVE")
            with pytest.raises(StoreUnavailable, match="locked"):
                await post(storage, record("c1"))
            with pytest.raises(StoreUnavailable, match="locked"):
                await storage.database.writable(0.1)
            outside.execute("ROLLBACK")
        assert await storage.comments.get("c1") is None
        await post(storage, record("c2"))
        await storage.database.writable(0.5)
        assert await storage.comments.get("c2") is not None


async def test_a_short_read_runs_on_the_event_loop_and_never_waits_there(tmp_path: Path) -> None:
    """read_now runs on the event loop's thread, on a connection told never to wait (busy
    timeout 0; the reader's is intact); when SQLite says it would have to wait, the read is made
    on the reader's thread instead, and other errors reach the caller as they are."""
    async with opened(tmp_path / "quick.db") as storage:
        db = sqlite_database(storage)
        loop_thread = threading.current_thread().name
        tried: list[str] = []

        def busy_on_the_loop(conn: sqlite3.Connection) -> int:
            tried.append(threading.current_thread().name)
            if threading.current_thread().name == loop_thread:
                raise sqlite3.OperationalError("database is locked")
            return int(conn.execute("PRAGMA busy_timeout").fetchone()[0])

        def timeout(conn: sqlite3.Connection) -> int:
            return int(conn.execute("PRAGMA busy_timeout").fetchone()[0])

        before = db.calls()
        assert await db.read_now(timeout) == 0
        assert db.calls()["quick.here"] == before["quick.here"] + 1
        assert await db.read(timeout) > 0
        assert await db.read_now(busy_on_the_loop) > 0  # answered by the reader, which waits
        assert tried == [loop_thread, "livethread-sqlite-reader"]
        with pytest.raises(StoreError, match="syntax"):
            await db.read_now(lambda conn: conn.execute("SELEC 1"))


async def test_migration_12_gives_existing_threads_empty_metadata(tmp_path: Path) -> None:
    """A database at version 11 keeps its threads' seq and lock and reads title and URL as ""."""
    path = tmp_path / "eleven.db"
    with closing(migrated_to(path, 11)) as conn:
        conn.execute("INSERT INTO threads (site, thread, seq, locked) VALUES ('s', 't', 3, 1)")
        conn.commit()
    async with opened(path) as storage:
        state = await storage.threads.state(ThreadKey("s", "t"))
        assert (state.seq, state.locked, state.meta) == (3, True, ThreadMeta())


async def test_migration_13_keeps_the_queue_and_counts_of_existing_comments(
    tmp_path: Path,
) -> None:
    """A database at version 12 gets each comment's queue and count answers from the core's
    rules, for every status, flag and held edit: nothing held drops out of the queue, no
    visible comment out of its count."""
    path = tmp_path / "twelve.db"
    statuses: tuple[Status, ...] = ("visible", "pending", "removed", "deleted")
    rows = [
        msgspec.structs.replace(
            record(f"c{n}", site="s", thread=f"t{n}", created_at=float(n)),
            status=status,
            flag=flag,
            pending_body_source="new" if held_edit else None,
            pending_body_html="<p>new</p>" if held_edit else None,
        )
        for n, (status, flag, held_edit) in enumerate(
            (status, flag, held_edit)
            for status in statuses
            for flag in (None, "suspect")
            for held_edit in (False, True)
        )
    ]
    with closing(migrated_to(path, 12)) as conn:
        conn.executemany(
            "INSERT INTO comments (id, site, thread, parent, author_name, body_source, "
            "body_html, status, created_at, edit_token_hash, flag, pending_body_source, "
            "pending_body_html) VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    r.id,
                    r.site,
                    r.thread,
                    r.author_name,
                    r.body_source,
                    r.body_html,
                    r.status,
                    r.created_at,
                    r.edit_token_hash,
                    r.flag,
                    r.pending_body_source,
                    r.pending_body_html,
                )
                for r in rows
            ],
        )
        conn.commit()
    async with opened(path) as storage:
        queued = await storage.review.queue("s", 100)
        assert [r.id for r in queued] == [r.id for r in rows if in_review(r)]
        counts = await storage.comments.counts("s", [r.thread for r in rows])
        assert counts == {r.thread: int(counted(r)) for r in rows}


def with_a_comment(path: Path, version: int) -> None:
    """A database at `version` holding site "s" and one visible comment, "c1", in thread "t"."""
    with closing(migrated_to(path, version)) as conn:
        conn.execute("INSERT INTO sites (name) VALUES ('s')")
        conn.execute(
            "INSERT INTO comments (id, site, thread, author_name, body_source, body_html, "
            "status, created_at, counted) VALUES ('c1', 's', 't', 'Ann', 'hi', '<p>hi</p>', "
            "'visible', 1.0, 1)"
        )
        conn.commit()


async def test_migration_14_reads_existing_comments_as_anonymous(tmp_path: Path) -> None:
    """A database at version 13 keeps its comments, read with no account, key or avatar, and
    takes sign-in settings and accounts for its sites."""
    path = tmp_path / "thirteen.db"
    with_a_comment(path, 13)
    async with opened(path) as storage:
        found = await storage.comments.get("c1")
        assert found is not None and found.body_html == "<p>hi</p>"
        assert (found.account, found.author_key, found.author_avatar) == (None, None, None)
        await storage.sign_ins.put(SignIn(site="s", audience="aud", secret="k"))
        await storage.accounts.seen(Account(site="s", id="u1", name="Ann"), "ann", 2.0)
        assert await storage.accounts.named("s", "ann")


async def test_migration_15_takes_reports_and_audit_entries_for_existing_comments(
    tmp_path: Path,
) -> None:
    """A database at version 14 keeps its comments, takes readers' reports of them and audit
    entries, the first with id 1, appended through a thread's transaction too."""
    path = tmp_path / "fourteen.db"
    with_a_comment(path, 14)
    async with opened(path) as storage:
        report = Report(site="s", thread="t", comment_id="c1", reporter="r", reason="spam", at=2.0)
        assert await storage.reports.add(report) is True
        assert await storage.reports.of_comment("c1") == [report]
        entry = AuditEntry(site="s", at=3.0, by="mia", action="remove", thread="t", comment_id="c1")
        async with storage.threads.transaction(ThreadKey("s", "t")) as tx:
            await tx.audit(entry)
        assert await storage.audit.of_comment("c1") == [msgspec.structs.replace(entry, id=1)]


async def test_migration_16_reads_existing_rows_without_roles_bylines_or_badges(
    tmp_path: Path,
) -> None:
    """A database at version 15 keeps its moderators (each a plain moderator), threads (no
    byline) and comments (no badges); a role other than moderator or admin is refused."""
    path = tmp_path / "fifteen.db"
    with closing(migrated_to(path, 15)) as conn:
        conn.execute("INSERT INTO sites (name) VALUES ('s')")
        conn.execute("INSERT INTO moderators (site, name, token_hash) VALUES ('s', 'mia', 'h')")
        conn.execute("INSERT INTO threads (site, thread, seq, title) VALUES ('s', 't', 2, 'T')")
        conn.execute(
            "INSERT INTO comments (id, site, thread, author_name, body_source, body_html, "
            "status, created_at, counted) VALUES ('c1', 's', 't', 'Ann', 'hi', '<p>hi</p>', "
            "'visible', 1.0, 1)"
        )
        conn.commit()
    async with opened(path) as storage:
        assert await storage.moderators.by_token("h") == Moderator(name="mia", site="s")
        state = await storage.threads.state(ThreadKey("s", "t"))
        assert (state.seq, state.title, state.byline) == (2, "T", "")
        found = await storage.comments.get("c1")
        assert found is not None and found.author_badges == ()
    with closing(sqlite3.connect(path)) as conn, pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE moderators SET role = 'owner' WHERE name = 'mia'")


async def test_migration_17_reads_existing_comments_without_addresses_and_takes_bans(
    tmp_path: Path,
) -> None:
    """A database at version 16 keeps its comments (no address hash, not shadowed), which a
    ban's removal then finds by email; it takes bans, one per person (a second replaces it)."""
    path = tmp_path / "sixteen.db"
    with closing(migrated_to(path, 16)) as conn:
        conn.execute("INSERT INTO sites (name) VALUES ('s')")
        conn.execute(
            "INSERT INTO comments (id, site, thread, author_name, author_email, body_source, "
            "body_html, status, created_at, counted) VALUES ('c1', 's', 't', 'Ann', "
            "'Ann@Example.org', 'hi', '<p>hi</p>', 'visible', 1.0, 1)"
        )
        conn.commit()
    async with opened(path) as storage:
        found = await storage.comments.get("c1")
        assert found is not None and (found.author_address, found.shadow) == (None, False)
        authored = await storage.comments.authored("s", "email", "ann@example.org", None, 10)
        assert [c.id for c in authored] == ["c1"]
        ban = Ban(site="s", key="email", value="ann@example.org", mode="ban", by="mia", at=2.0)
        first = await storage.bans.put(ban)
        second = await storage.bans.put(msgspec.structs.replace(ban, mode="shadow"))
        assert [b.id for b in await storage.bans.of_site("s", 3.0)] == [second.id]
        assert first.id != second.id


async def test_migration_18_takes_reactions_beside_existing_comments(tmp_path: Path) -> None:
    """A database at version 17 keeps its comments and takes reactions: counted once per
    reader and kind, read by thread and by reader; a kind the port does not know is refused."""
    path = tmp_path / "seventeen.db"
    with closing(migrated_to(path, 17)) as conn:
        conn.execute("INSERT INTO sites (name) VALUES ('s')")
        conn.execute(
            "INSERT INTO comments (id, site, thread, author_name, body_source, body_html, "
            "status, created_at, counted) VALUES ('c1', 's', 't', 'Ann', 'hi', '<p>hi</p>', "
            "'visible', 1.0, 1)"
        )
        conn.commit()
    async with opened(path) as storage:
        assert await storage.comments.get("c1") is not None
        like = ReactionChange(
            site="s", thread="t", comment_id="c1", reader="r1", kind="like", on=True
        )
        answer = await storage.reactions.apply(
            [like, like, msgspec.structs.replace(like, reader="r2", kind="wow")]
        )
        assert answer == [
            CommentReactions(comment_id="c1", version=2, counts={"like": 1, "wow": 1})
        ]
        assert await storage.reactions.of_thread(ThreadKey("s", "t")) == answer
        assert await storage.reactions.of_reader(ThreadKey("s", "t"), "r1") == {"c1": ["like"]}
    with closing(sqlite3.connect(path)) as conn, pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO reactions (comment_id, reader, kind, site, thread) "
            "VALUES ('c1', 'r3', 'meh', 's', 't')"
        )
