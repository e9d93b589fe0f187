"""Group commit on PostgreSQL (server/adapters/postgres_group.py): one process's transactions
of a thread share one PostgreSQL transaction and COMMIT, yet each is durable before it is
acknowledged, and one member's failure never harms the others. The counterparts of
tests/test_group_commit.py (SQLite's), on a private cluster (tests/support/postgres.py).

The scenarios both stores share, and how members are lined up without sleeping, are in
tests/support/group_commit.py.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from typing import cast

import asyncpg
import pytest

from server import events
from server.adapters.postgres_store import postgres_storage
from server.adapters.postgres_threads import PostgresThreads, PostgresTransaction
from server.events import CommentCreated
from server.model import ThreadKey, public
from server.storage import Storage, StoreError, StoreUnavailable
from server.threads import history
from server.threads.ports import IdempotentAnswer
from tests.contract.records import write
from tests.support.cluster import killed_mid_wave
from tests.support.group_commit import (
    KEY,
    SITE,
    TIMEOUT,
    Boom,
    Holder,
    a_cancelled_member_loses_only_its_work,
    doomed,
    forty_posts_share_commits,
    post,
    queued,
    record,
)
from tests.support.postgres import PostgresServer


@pytest.fixture
def url(postgres: PostgresServer) -> str:
    """A new database of the session's private cluster."""
    return postgres.database()


@pytest.fixture
async def store(url: str) -> AsyncIterator[Storage]:
    opened = postgres_storage(url, group_commit=64)
    async with asyncio.timeout(TIMEOUT):
        await opened.open()
    try:
        yield opened
    finally:
        async with asyncio.timeout(TIMEOUT):
            await opened.close()


async def on_disk(url: str) -> set[str]:
    """The comment ids another connection (another process, or one after a crash) sees."""
    conn = await asyncpg.connect(url)
    try:
        return {row["id"] for row in await conn.fetch("SELECT id FROM comments")}
    finally:
        await conn.close()


def threads(store: Storage) -> PostgresThreads:
    found = store.threads
    assert isinstance(found, PostgresThreads)
    return found


def pid(holder: Holder) -> int:
    """The backend of the held group's connection."""
    return cast(PostgresTransaction, holder.tx)._conn.get_server_pid()


def commits(store: Storage) -> int:
    return threads(store).groups.commits


async def test_concurrent_transactions_share_commits_and_each_is_durable_when_it_returns(
    store: Storage, url: str
) -> None:
    """40 concurrent posts to one thread commit in a handful of COMMITs, each visible to
    another connection the moment its transaction returns, each with its own seq."""
    await forty_posts_share_commits(store, functools.partial(on_disk, url), lambda: commits(store))
    assert threads(store).groups.committed >= 40


async def test_failing_members_do_not_harm_their_group(store: Storage, url: str) -> None:
    """In one group, a member that raises, one whose statement PostgreSQL refused (aborting the
    transaction) and one whose comment id is taken roll back alone; the others commit, with
    consecutive seqs and log positions in seq order."""
    holder = Holder(store)

    async def aborted() -> None:
        async with store.threads.transaction(KEY) as tx:
            await history.append(tx, CommentCreated(seq=0, comment=public(record("ab"))), None)
            with pytest.raises(StoreError):
                await cast(PostgresTransaction, tx)._execute("SELECT 1 / 0")
            # The block carries on and exits cleanly: the member must still not commit.

    async def duplicate() -> None:
        async with store.threads.transaction(KEY) as tx:
            await history.append(tx, CommentCreated(seq=0, comment=public(record("dup"))), None)
            await tx.insert_comment(record("holder"))  # the holder's id: refused

    async with asyncio.timeout(TIMEOUT):
        await holder.inside.wait()
        before = commits(store)
        first = await queued(lambda: post(store, "a"))
        boom = await queued(lambda: doomed(store))
        second = await queued(lambda: post(store, "b"))
        abort = await queued(aborted)
        third = await queued(lambda: post(store, "c"))
        dup = await queued(duplicate)
        fourth = await queued(lambda: post(store, "d"))
        holder.release.set()
        assert await holder.task == 1
        assert [await first, await second, await third, await fourth] == [2, 3, 4, 5]
        with pytest.raises(Boom):
            await boom
        with pytest.raises(StoreError, match="rolled back"):
            await abort
        with pytest.raises(StoreError, match="already exists"):
            await dup
    assert commits(store) - before == 1
    assert await on_disk(url) == {"holder", "a", "b", "c", "d"}
    entries = await store.log.after(0, 100)
    assert [(e.position, e.seq) for e in entries] == [(n, n) for n in range(1, 6)]
    assert [e.seq for e in await store.log.events_after(KEY, 0, 100)] == [1, 2, 3, 4, 5]


async def test_a_failing_first_member_leaves_the_next_a_fresh_group(
    store: Storage, url: str
) -> None:
    """The first member of a group (no savepoint) failing rolls back only its own work: the
    members queued behind it commit in a new transaction from the committed seq."""
    ready, release = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with store.threads.transaction(KEY) as tx:
            await write(tx, record("first"))
            ready.set()
            await release.wait()
            raise Boom

    async with asyncio.timeout(TIMEOUT):
        failing = asyncio.create_task(first())
        await ready.wait()
        after = [await queued(functools.partial(post, store, f"after{n}")) for n in range(3)]
        release.set()
        with pytest.raises(Boom):
            await failing
        assert [await t for t in after] == [1, 2, 3]
    assert await on_disk(url) == {"after0", "after1", "after2"}


async def test_cancelled_member_leaves_its_group_clean(store: Storage, url: str) -> None:
    """A member cancelled halfway (after writing) loses its work only; the group commits the
    others, and the connection is clean for the next transaction."""
    await a_cancelled_member_loses_only_its_work(store, functools.partial(on_disk, url))


async def test_member_cancelled_while_queued_or_awaiting_commit_harms_nobody(
    store: Storage, url: str
) -> None:
    """A caller cancelled while it waits for its turn never runs; one cancelled while its group
    commits is committed all the same (it was done), and the others are acknowledged."""
    holder = Holder(store)
    kept_inside, kept_release = asyncio.Event(), asyncio.Event()

    async def keeper() -> int:
        rec = record("kept")
        async with store.threads.transaction(KEY) as tx:
            payload = await write(tx, rec)
            kept_inside.set()
            await kept_release.wait()
        return events.seq_of(payload)

    async with asyncio.timeout(TIMEOUT):
        await holder.inside.wait()
        never = await queued(lambda: post(store, "never"))
        kept = await queued(keeper)
        never.cancel()
        with pytest.raises(asyncio.CancelledError):
            await never
        holder.release.set()
        await kept_inside.wait()
        # The holder has passed its turn to the keeper: it now awaits the group's COMMIT.
        holder.task.cancel()
        kept_release.set()
        with pytest.raises(asyncio.CancelledError):
            await holder.task
        assert await kept == 2
    assert await on_disk(url) == {"holder", "kept"}


async def test_a_failed_commit_acknowledges_no_member(store: Storage, url: str) -> None:
    """A COMMIT that PostgreSQL refuses (a deferred check fails at commit) fails every member
    of the group with StoreError; nothing of the group is kept, and the next group works."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.id = 'poison' THEN RAISE EXCEPTION 'poison at commit'; END IF; "
            "RETURN NULL; END $$; "
            "CREATE CONSTRAINT TRIGGER poison AFTER INSERT ON comments "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
        )
    finally:
        await conn.close()
    holder = Holder(store)
    async with asyncio.timeout(TIMEOUT):
        await holder.inside.wait()
        poison = await queued(lambda: post(store, "poison"))
        follower = await queued(lambda: post(store, "follower"))
        holder.release.set()
        results = await asyncio.gather(holder.task, poison, follower, return_exceptions=True)
        assert all(isinstance(r, StoreError) for r in results), results
        assert all("did not commit" in str(r) for r in results), results
        assert await post(store, "later") == 1
    assert await on_disk(url) == {"later"}


async def test_a_lost_connection_acknowledges_no_member(store: Storage, url: str) -> None:
    """If the group's connection is lost under it (its backend terminated), no member of the
    group is acknowledged (StoreUnavailable), nothing is kept, and the next group works."""
    holder = Holder(store)
    async with asyncio.timeout(TIMEOUT):
        await holder.inside.wait()
        follower = await queued(lambda: post(store, "follower"))
        conn = await asyncpg.connect(url)
        try:
            assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid(holder))
        finally:
            await conn.close()
        holder.release.set()
        results = await asyncio.gather(holder.task, follower, return_exceptions=True)
        assert all(isinstance(r, StoreUnavailable) for r in results), results
        assert await post(store, "later") == 1
    assert await on_disk(url) == {"later"}


async def test_a_retried_key_inside_one_group_gets_the_first_answer(store: Storage) -> None:
    """Two members of one group with the same idempotency key: the second recalls the
    answer the first remembered (uncommitted, in the same transaction), and cannot add its own."""
    holder = Holder(store)
    answer = IdempotentAnswer(
        key="k1", fingerprint="f", status=201, body=b"first", created_at=1.0, comment_id="a"
    )

    async def first() -> None:
        async with store.threads.transaction(KEY) as tx:
            assert await tx.recall("k1") is None
            await tx.remember(answer)

    async def retry() -> IdempotentAnswer | None:
        async with store.threads.transaction(KEY) as tx:
            found = await tx.recall("k1")
            with pytest.raises(StoreError):
                await tx.remember(answer)
            return found

    async with asyncio.timeout(TIMEOUT):
        await holder.inside.wait()
        before = commits(store)
        one = await queued(first)
        two = await queued(retry)
        holder.release.set()
        await holder.task
        await one
        assert await two == answer
        assert commits(store) - before == 1
        async with store.threads.transaction(KEY) as tx:
            assert await tx.recall("k1") == answer


async def test_a_member_waits_for_its_turn_at_most_the_statement_timeout(url: str) -> None:
    """While a transaction holds the thread past the statement timeout, a member waiting for
    its turn gives up with StoreUnavailable; the holder still commits."""
    store = postgres_storage(url, statement_timeout=0.5, group_commit=64)
    async with asyncio.timeout(TIMEOUT):
        await store.open()
        try:
            holder = Holder(store)
            await holder.inside.wait()
            waiting = await queued(lambda: post(store, "waiting"))
            with pytest.raises(StoreUnavailable, match="turn"):
                await waiting
            holder.release.set()
            assert await holder.task == 1
        finally:
            await store.close()
    assert await on_disk(url) == {"holder"}


async def test_another_thread_does_not_wait_for_a_group(store: Storage, url: str) -> None:
    """A post to another thread commits while a group of the first thread is held open."""
    holder = Holder(store)
    async with asyncio.timeout(TIMEOUT):
        await holder.inside.wait()
        assert await post(store, "elsewhere", ThreadKey(SITE, "other")) == 1
        assert not holder.task.done()
        assert "elsewhere" in await on_disk(url)
        holder.release.set()
        assert await holder.task == 1


async def test_group_commit_of_one_commits_every_transaction_alone(url: str) -> None:
    """With group_commit=1, concurrent transactions of a thread each get their own COMMIT."""
    alone = postgres_storage(url, group_commit=1)
    async with asyncio.timeout(TIMEOUT):
        await alone.open()
        try:
            before = commits(alone)
            seqs = await asyncio.gather(*(post(alone, f"c{n}") for n in range(10)))
            assert sorted(seqs) == list(range(1, 11))
            assert commits(alone) - before == 10
        finally:
            await alone.close()


def test_a_group_needs_room_for_one() -> None:
    """group_commit below 1 is refused with a clear error."""
    with pytest.raises(ValueError, match="at least one"):
        postgres_storage("postgresql://nowhere.invalid/x", group_commit=0)


@pytest.mark.timeout(90)
async def test_sigkill_after_concurrent_acknowledged_posts_loses_none(url: str) -> None:
    """Posts made concurrently (so committed in groups) by a real server process on
    PostgreSQL, SIGKILLed while a further wave is in flight: every acknowledged post is there
    after a restart."""
    acknowledged, thread = await killed_mid_wave(url)
    comments = thread["comments"]
    assert isinstance(comments, list)
    stored = {str(comment["id"]) for comment in comments}
    assert acknowledged <= stored
    assert thread["count"] == thread["seq"] == len(stored)
