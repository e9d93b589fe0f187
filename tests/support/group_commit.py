"""What the group-commit tests of every store share (tests/test_group_commit.py for SQLite,
tests/test_postgres_group_commit.py for PostgreSQL): a post, a transaction held open so others
queue behind it, a caller queued without sleeping, and the guarantees both stores prove the
same way.

Members are lined up behind a transaction held open on an event: a task is queued for its turn
as soon as it has signalled that it is about to enter (entering queues it before its first
await), so no test sleeps to synchronise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from server import events
from server.model import CommentRecord, ThreadKey
from server.storage import Storage
from server.threads.ports import Transaction
from tests.contract.records import write

SITE, THREAD = "example", "t1"
KEY = ThreadKey(SITE, THREAD)
TIMEOUT = 30.0

# What another connection (another process, or one after a crash) sees: the comment ids.
OnDisk = Callable[[], Awaitable[set[str]]]


class Boom(Exception):
    """Raised inside a transaction to make it fail."""


def record(comment_id: str, thread: str = THREAD) -> CommentRecord:
    return CommentRecord(
        id=comment_id,
        site=SITE,
        thread=thread,
        parent=None,
        author_name=f"Author of {comment_id}",
        body_source=f"body of {comment_id}",
        body_html=f"<p>body of {comment_id}</p>",
        created_at=1_700_000_000.0,
    )


async def post(store: Storage, comment_id: str, key: ThreadKey = KEY) -> int:
    """Insert a comment and its event; the seq it got."""
    rec = record(comment_id, key.thread)
    async with store.threads.transaction(key) as tx:
        payload = await write(tx, rec)
    return events.seq_of(payload)


async def doomed(store: Storage) -> None:
    """A member that writes a comment and its event, then raises Boom."""
    async with store.threads.transaction(KEY) as tx:
        await write(tx, record("doomed"))
        raise Boom


class Holder:
    """A transaction that has written and stays open until released: the thread's turn is
    held, so everything started meanwhile for the thread queues up to join its group. `tx` is
    the open transaction once `inside` is set."""

    def __init__(self, store: Storage, comment_id: str = "holder") -> None:
        self.inside = asyncio.Event()
        self.release = asyncio.Event()
        self.tx: Transaction | None = None
        self.task = asyncio.create_task(self._hold(store, comment_id))

    async def _hold(self, store: Storage, comment_id: str) -> int:
        rec = record(comment_id)
        async with store.threads.transaction(KEY) as tx:
            payload = await write(tx, rec)
            self.tx = tx
            self.inside.set()
            await self.release.wait()
        return events.seq_of(payload)


async def queued(work: Callable[[], Awaitable[object]]) -> asyncio.Task[object]:
    """Start `work` (which enters a transaction first thing) and return once it is queued."""
    about_to_enter = asyncio.Event()

    async def run() -> object:
        about_to_enter.set()
        return await work()

    task = asyncio.create_task(run())
    # The task went on from set() into its line in the same step, so it is queued by the time
    # this wakes.
    await about_to_enter.wait()
    return task


async def forty_posts_share_commits(
    store: Storage, on_disk: OnDisk, commits: Callable[[], int]
) -> None:
    """40 concurrent posts to one thread commit in a handful of COMMITs, each visible to
    another connection the moment its transaction returns, each with its own seq."""
    seen_at_return: list[bool] = []

    async def post_and_check(n: int) -> int:
        seq = await post(store, f"c{n}")
        seen_at_return.append(f"c{n}" in await on_disk())
        return seq

    before = commits()
    async with asyncio.timeout(TIMEOUT):
        seqs = await asyncio.gather(*(post_and_check(n) for n in range(40)))
    assert sorted(seqs) == list(range(1, 41))
    assert seen_at_return == [True] * 40
    assert commits() - before <= 4, commits() - before


async def a_cancelled_member_loses_only_its_work(store: Storage, on_disk: OnDisk) -> None:
    """A member cancelled halfway (after writing) loses its work only; the group commits the
    others, and the connection is clean for the next transaction."""
    holder = Holder(store)
    stuck_inside = asyncio.Event()

    async def stuck() -> None:
        async with store.threads.transaction(KEY) as tx:
            await write(tx, record("stuck"))
            stuck_inside.set()
            await asyncio.Event().wait()

    async with asyncio.timeout(TIMEOUT):
        await holder.inside.wait()
        victim = await queued(stuck)
        after = await queued(lambda: post(store, "after"))
        holder.release.set()
        await stuck_inside.wait()
        victim.cancel()
        with pytest.raises(asyncio.CancelledError):
            await victim
        assert await holder.task == 1
        assert await after == 2
        assert await post(store, "next") == 3
    assert await on_disk() == {"holder", "after", "next"}
    assert [e.seq for e in await store.log.after(0, 100)] == [1, 2, 3]
