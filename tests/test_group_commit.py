"""Group commit (server/adapters/sqlite_writer.py): transactions of one process share COMMITs,
yet each is durable before it is acknowledged, and one member's failure never harms the others.

The scenarios both stores share, and how members are lined up without sleeping, are in
tests/support/group_commit.py.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest

from server.adapters.sqlite_store import SqliteDatabase, sqlite_storage
from server.events import CommentCreated
from server.model import public
from server.storage import Storage, StoreError
from server.threads import history
from tests.support.cluster import killed_mid_wave
from tests.support.group_commit import (
    KEY,
    TIMEOUT,
    Boom,
    Holder,
    OnDisk,
    a_cancelled_member_loses_only_its_work,
    doomed,
    forty_posts_share_commits,
    post,
    queued,
    record,
)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Storage]:
    opened = sqlite_storage(str(tmp_path / "group.db"), group_commit=64)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


def database(store: Storage) -> SqliteDatabase:
    """The store's SQLite database, for its path and its group writer."""
    db = store.database
    assert isinstance(db, SqliteDatabase)
    return db


def on_disk(path: str) -> set[str]:
    """The comment ids another connection (another process, or one after a crash) sees."""
    with closing(sqlite3.connect(path)) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM comments")}


def seen(store: Storage) -> OnDisk:
    """on_disk for the shared scenarios."""

    async def ids() -> set[str]:
        return on_disk(database(store).path)

    return ids


def commits(store: Storage) -> int:
    return database(store).writes.commits


async def test_concurrent_transactions_share_commits_and_each_is_durable_when_it_returns(
    store: Storage,
) -> None:
    """40 concurrent posts commit in a handful of COMMITs, each visible to another connection
    the moment its transaction returns, each with its own seq."""
    await forty_posts_share_commits(store, seen(store), lambda: commits(store))
    assert database(store).writes.committed >= 40


async def test_failing_members_do_not_harm_their_group(store: Storage) -> None:
    """In one group, a member that raises and one that hits a constraint error roll back
    alone; the others commit, with consecutive seqs and log positions in commit order."""
    holder = Holder(store)

    async def duplicate() -> None:
        async with store.threads.transaction(KEY) as tx:
            await history.append(tx, CommentCreated(seq=0, comment=public(record("dup"))), None)
            await tx.insert_comment(record("holder"))  # the holder's id: a constraint error

    async with asyncio.timeout(TIMEOUT):
        await holder.inside.wait()
        before = commits(store)
        first = await queued(lambda: post(store, "a"))
        boom = await queued(lambda: doomed(store))
        second = await queued(lambda: post(store, "b"))
        dup = await queued(duplicate)
        third = await queued(lambda: post(store, "c"))
        holder.release.set()
        assert await holder.task == 1
        assert [await first, await second, await third] == [2, 3, 4]
        with pytest.raises(Boom):
            await boom
        with pytest.raises(StoreError, match="already exists"):
            await dup
    assert commits(store) - before == 1
    assert on_disk(database(store).path) == {"holder", "a", "b", "c"}
    entries = await store.log.after(0, 100)
    assert [(e.position, e.seq) for e in entries] == [(1, 1), (2, 2), (3, 3), (4, 4)]
    assert [e.seq for e in await store.log.events_after(KEY, 0, 100)] == [1, 2, 3, 4]


async def test_cancelled_member_leaves_its_group_clean(store: Storage) -> None:
    """A member cancelled halfway (after writing) loses its work only; the group commits
    the others, and the connection is clean for the next transaction."""
    await a_cancelled_member_loses_only_its_work(store, seen(store))


async def test_member_cancelled_while_queued_or_awaiting_commit_harms_nobody(
    store: Storage,
) -> None:
    """A caller cancelled while it waits for its turn never runs; one cancelled while its group
    commits is committed all the same (as before group commit: it was done), and the others
    are acknowledged."""
    holder = Holder(store)
    async with asyncio.timeout(TIMEOUT):
        await holder.inside.wait()
        never = await queued(lambda: post(store, "never"))
        kept = await queued(lambda: post(store, "kept"))
        never.cancel()
        with pytest.raises(asyncio.CancelledError):
            await never
        holder.release.set()
        assert await holder.task == 1
        assert await kept == 2
    assert on_disk(database(store).path) == {"holder", "kept"}


async def test_a_lost_transaction_acknowledges_no_member(store: Storage) -> None:
    """If SQLite ends the group's transaction under a member (as it does on an I/O error),
    no member of that group is acknowledged, nothing of it is kept, and the next group works."""
    holder = Holder(store)

    def lose(conn: sqlite3.Connection) -> None:
        conn.execute("ROLLBACK")  # what SQLite does by itself after e.g. SQLITE_FULL

    async with asyncio.timeout(TIMEOUT):
        await holder.inside.wait()
        loser = await queued(lambda: database(store).write(lose))
        follower = await queued(lambda: post(store, "follower"))
        holder.release.set()
        results = await asyncio.gather(holder.task, loser, follower, return_exceptions=True)
        assert all(isinstance(r, StoreError) for r in results), results
        assert await post(store, "later") == 1
    assert on_disk(database(store).path) == {"later"}


async def test_exclusive_writer_runs_after_the_open_group_commits(store: Storage) -> None:
    """A migration (an exclusive turn) queued behind an open group waits for its COMMIT and
    runs outside any transaction; the group's members are all committed."""
    holder = Holder(store)
    async with asyncio.timeout(TIMEOUT):
        await holder.inside.wait()
        joined = await queued(lambda: post(store, "joined"))
        migration = await queued(store.database.migrate)
        later = await queued(lambda: post(store, "later"))
        holder.release.set()
        assert [await holder.task, await joined] == [1, 2]
        assert await migration
        assert await later == 3
    assert on_disk(database(store).path) == {"holder", "joined", "later"}


async def test_a_groups_statements_cost_no_hop_only_its_commit_does(store: Storage) -> None:
    """A post's statements run on the event loop's thread: the writer's thread is handed one
    job per COMMIT (its fsync), none per statement."""
    before, commits_before = database(store).calls(), commits(store)
    async with asyncio.timeout(TIMEOUT):
        for n in range(10):
            await post(store, f"c{n}")
    after = database(store).calls()
    groups = commits(store) - commits_before
    assert groups == 10
    assert after["writer.thread"] - before["writer.thread"] == groups
    assert after["writer.here"] - before["writer.here"] >= 3 * 10  # state, insert, append each
    assert on_disk(database(store).path) == {f"c{n}" for n in range(10)}


async def test_group_commit_of_one_commits_every_transaction_alone(tmp_path: Path) -> None:
    """With group_commit=1 (the old behaviour), queued transactions each get their own COMMIT."""
    alone = sqlite_storage(str(tmp_path / "alone.db"), group_commit=1)
    await alone.open()
    try:
        before = commits(alone)
        async with asyncio.timeout(TIMEOUT):
            seqs = await asyncio.gather(*(post(alone, f"c{n}") for n in range(10)))
        assert sorted(seqs) == list(range(1, 11))
        assert commits(alone) - before == 10
    finally:
        await alone.close()


async def test_waiting_for_another_process_retries_begin_then_commits(
    store: Storage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While another process holds the write lock, BEGIN fails fast and is retried from the
    event loop; once the lock is free the post commits, and the busy timeout is intact."""
    other = sqlite_storage(database(store).path)
    await other.open()
    busy = asyncio.Event()
    loop = asyncio.get_running_loop()
    begin = database(store).writes._begin

    def watched(conn: sqlite3.Connection) -> None:
        try:
            begin(conn)
        except Exception:
            loop.call_soon_threadsafe(busy.set)
            raise

    monkeypatch.setattr(database(store).writes, "_begin", watched)
    try:
        holder = Holder(other)
        async with asyncio.timeout(TIMEOUT):
            await holder.inside.wait()
            waiting = asyncio.create_task(post(store, "waited"))
            await busy.wait()
            holder.release.set()
            assert await holder.task == 1
            assert await waiting == 2
        assert (await database(store).durability()).busy_timeout >= 1000
    finally:
        await other.close()
    assert on_disk(database(store).path) == {"holder", "waited"}


@pytest.mark.timeout(90)
async def test_sigkill_after_concurrent_acknowledged_posts_loses_none(tmp_path: Path) -> None:
    """Posts made concurrently (so committed in groups) by a real server process, SIGKILLed
    while a further wave is in flight: every acknowledged post is there after a restart."""
    acknowledged, thread = await killed_mid_wave(f"sqlite:///{tmp_path / 'cluster.db'}")
    comments = thread["comments"]
    assert isinstance(comments, list)
    stored = {str(comment["id"]) for comment in comments}
    assert acknowledged <= stored
    assert thread["count"] == thread["seq"] == len(stored)
