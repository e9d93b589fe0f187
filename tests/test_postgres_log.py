"""The PostgreSQL store's event log: a thread's seqs across pools (transactions alone and in
groups), and the store-wide positions that log readers follow (server/adapters/postgres_threads.py,
postgres_group.py, postgres_events.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import cast

import asyncpg

from server import events
from server.adapters.postgres_store import postgres_storage
from server.adapters.postgres_threads import PostgresThreads
from server.events import ThreadLocked
from server.model import ThreadKey
from server.storage import Storage
from server.threads import history
from server.threads.ports import LogEntry
from tests.contract.records import SITE, post, record
from tests.support.postgres import PostgresServer

TIMEOUT = 60.0
A, B = ThreadKey(SITE, "a"), ThreadKey(SITE, "b")
WRITERS, POSTS = 3, 50


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[Storage]:
    """A PostgreSQL store (its own pool) on `url`, open for the block."""
    storage = postgres_storage(url)
    async with asyncio.timeout(TIMEOUT):
        await storage.open()
    try:
        yield storage
    finally:
        async with asyncio.timeout(TIMEOUT):
            await storage.close()


async def placed(url: str) -> list[tuple[str, int, int | None]]:
    """(thread, seq, position) of every event, in (txid, id) order, read straight from the table."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT thread, seq, position FROM events ORDER BY txid, id")
    finally:
        await conn.close()
    return [(r["thread"], int(r["seq"]), r["position"]) for r in rows]


async def follow(storage: Storage, done: asyncio.Event, batch_size: int) -> list[LogEntry]:
    """Read the store-wide log as a worker does, `batch_size` at a time, until `done` is set
    and nothing more comes."""
    seen: list[LogEntry] = []
    while True:
        finished = done.is_set()
        batch = await storage.log.after(seen[-1].position if seen else 0, batch_size)
        seen.extend(batch)
        if finished and not batch:
            return seen
        if not batch:
            # A log reader's poll, as a worker's (bounded by the caller's timeout).
            await asyncio.sleep(0.005)


async def test_an_older_transaction_committing_last_is_neither_skipped_nor_overtaken(
    postgres: PostgresServer,
) -> None:
    """An older transaction committing last is not overtaken: positions follow (txid, id)."""
    url = postgres.database()
    async with opened(url) as storage, asyncio.timeout(TIMEOUT):
        async with AsyncExitStack() as stack:
            older = await stack.enter_async_context(storage.threads.transaction(A))
            await history.append(older, ThreadLocked(seq=0), None)
            async with storage.threads.transaction(B) as younger:
                await history.append(younger, ThreadLocked(seq=0), None)
            # The younger has committed; the older (the smaller txid) is still open.
            between = await storage.log.after(0, 10)
            assert between == []
            assert await storage.log.end() == 0
            assert await storage.log.events_after(B, 0, 10) != []  # committed, not yet placed
        # Now the older has committed too.
        entries = await storage.log.after(0, 10)
        assert [(e.thread, e.seq, e.position) for e in entries] == [("a", 1, 1), ("b", 1, 2)]
        assert await placed(url) == [("a", 1, 1), ("b", 1, 2)]
        cursor = between[-1].position if between else 0
        assert await storage.log.after(cursor, 10) == entries
        assert await storage.log.end() == 2


async def test_three_pools_posting_to_one_thread_get_seqs_1_to_150_each_logged_once(
    postgres: PostgresServer,
) -> None:
    """3 pools x 50 posts to one thread: seqs 1..150 gap-free, each logged once, in seq order."""

    async def one_at_a_time(storage: Storage, k: int) -> list[bytes]:
        return [await post(storage, record(f"c{k}-{n}", created_at=1e9 + n)) for n in range(POSTS)]

    await three_pools_on_one_thread(postgres.database(), one_at_a_time, POSTS, batch_size=25)


async def test_writers_racing_for_new_threads_take_txids_in_seq_order(
    postgres: PostgresServer,
) -> None:
    """Writers racing for each new thread get txids in seq order, so the log keeps seq order."""
    url = postgres.database()
    racers, threads = 12, 40
    storage = postgres_storage(url, pool_size=racers)
    async with asyncio.timeout(TIMEOUT):
        await storage.open()
        try:

            async def racer() -> None:
                for n in range(threads):
                    async with storage.threads.transaction(ThreadKey(SITE, f"new-{n}")) as tx:
                        await history.append(tx, ThreadLocked(seq=0), None)

            await asyncio.gather(*(racer() for _ in range(racers)))
            by_txid = await placed(url)
            log = await storage.log.after(0, racers * threads + 1)
        finally:
            await storage.close()
    for rows in ([(t, s) for t, s, _ in by_txid], [(e.thread, e.seq) for e in log]):
        assert len(rows) == racers * threads
        for n in range(threads):
            assert [s for t, s in rows if t == f"new-{n}"] == list(range(1, racers + 1))


async def test_groups_of_three_pools_on_one_thread_keep_seqs_and_log_in_order(
    postgres: PostgresServer,
) -> None:
    """3 pools (as 3 processes) each posting 20 at once to one thread, so committing in groups:
    seqs 1..60 gap-free, the log places them in seq order, a follower reads each once."""
    at_once = 20

    async def all_at_once(storage: Storage, k: int) -> list[bytes]:
        posts = (post(storage, record(f"c{k}-{n}", created_at=1e9 + n)) for n in range(at_once))
        return list(await asyncio.gather(*posts))

    url = postgres.database()
    commits, committed = await three_pools_on_one_thread(url, all_at_once, at_once, batch_size=7)
    total = WRITERS * at_once
    assert [s for _, s, _ in await placed(url)] == list(range(1, total + 1))
    # Grouped: fewer COMMITs than transactions (each pool's 20 arrive together).
    assert commits < committed == total


async def three_pools_on_one_thread(
    url: str,
    write: Callable[[Storage, int], Awaitable[list[bytes]]],
    each: int,
    *,
    batch_size: int,
) -> tuple[int, int]:
    """WRITERS pools (as processes) each `write` `each` posts to one thread while a follower
    reads the log: seqs 1..N gap-free, the log in seq order and read once by the follower, the
    thread's replay the same events. Returns the pools' (COMMITs, transactions committed)."""
    key = ThreadKey(SITE, "t1")
    async with AsyncExitStack() as stack:
        stores = [await stack.enter_async_context(opened(url)) for _ in range(WRITERS)]
        done = asyncio.Event()
        async with asyncio.timeout(TIMEOUT):
            following = asyncio.create_task(follow(stores[0], done, batch_size))
            written = await asyncio.gather(*(write(s, k) for k, s in enumerate(stores)))
            done.set()
            followed = await following
        total = WRITERS * each
        seqs = [events.seq_of(payload) for payloads in written for payload in payloads]
        assert sorted(seqs) == list(range(1, total + 1))
        replay = await stores[1].log.events_after(key, 0, 1000)
        assert [e.seq for e in replay] == list(range(1, total + 1))
        log = await stores[2].log.after(0, 1000)
        assert [(e.position, e.seq) for e in log] == [(n, n) for n in range(1, total + 1)]
        assert [e.payload for e in log] == [e.payload for e in replay]
        assert followed == log
        groups = [cast(PostgresThreads, s.threads).groups for s in stores]
        return sum(g.commits for g in groups), sum(g.committed for g in groups)
