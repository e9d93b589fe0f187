"""The Reactions contract: one reaction per reader, comment and kind, set and cleared in batches
(one transaction each); a change to the state in effect changes nothing; each comment's counts
and version (its effective changes) kept beside the reactions, read by thread and by reader; and
concurrent batches, from one process or two, never make the counts drift."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from server.adapters.postgres_database import PostgresDatabase
from server.adapters.postgres_store import postgres_storage
from server.adapters.sqlite_database import SqliteDatabase
from server.adapters.sqlite_store import sqlite_storage
from server.model import ThreadKey
from server.reactions.ports import KINDS, CommentReactions, ReactionChange, ReactionKind
from server.storage import Storage
from tests.contract.records import SITE, TIMEOUT

THREAD = ThreadKey(SITE, "t1")
OTHER = ThreadKey(SITE, "t2")
ELSEWHERE = ThreadKey("other-site", "t1")


def change(
    comment_id: str,
    reader: str,
    kind: ReactionKind = "like",
    on: bool = True,
    key: ThreadKey = THREAD,
) -> ReactionChange:
    return ReactionChange(
        site=key.site, thread=key.thread, comment_id=comment_id, reader=reader, kind=kind, on=on
    )


def counts(comment_id: str, version: int, **found: int) -> CommentReactions:
    return CommentReactions(comment_id=comment_id, version=version, counts=found)  # type: ignore[arg-type]


async def test_set_clear_and_repeat(storage: Storage) -> None:
    """A reaction set counts once and bumps the version; set again, nothing changes; cleared,
    its count goes (the kind absent) and the version moves on; cleared again, nothing."""
    reactions = storage.reactions
    assert await reactions.apply([change("c1", "ann")]) == [counts("c1", 1, like=1)]
    assert await reactions.apply([change("c1", "ann")]) == [counts("c1", 1, like=1)]
    assert await reactions.apply([change("c1", "ann", on=False)]) == [counts("c1", 2)]
    assert await reactions.apply([change("c1", "ann", on=False)]) == [counts("c1", 2)]
    assert await reactions.of_thread(THREAD) == [counts("c1", 2)]
    assert await reactions.of_reader(THREAD, "ann") == {}
    assert await reactions.apply([]) == []


async def test_one_per_reader_and_kind_with_several_kinds_and_readers(storage: Storage) -> None:
    """Each (reader, kind) counts at most once per comment, however often set in a batch or
    across batches; kinds count apart; readers add up."""
    reactions = storage.reactions
    batch = [
        change("c1", "ann"),
        change("c1", "ann"),
        change("c1", "ann", "love"),
        change("c1", "bob"),
        change("c1", "bob", "wow"),
        change("c1", "cy", "sad"),
    ]
    assert await reactions.apply(batch) == [counts("c1", 5, like=2, love=1, wow=1, sad=1)]
    again = await reactions.apply([change("c1", "ann", "love"), change("c1", "cy", "sad")])
    assert again == [counts("c1", 5, like=2, love=1, wow=1, sad=1)]
    assert await reactions.of_reader(THREAD, "ann") == {"c1": ["like", "love"]}
    assert await reactions.of_reader(THREAD, "bob") == {"c1": ["like", "wow"]}
    assert await reactions.of_reader(THREAD, "nobody") == {}


async def test_changes_apply_in_order_each_effective_one_counted(storage: Storage) -> None:
    """Set, cleared and set again in one batch: the reaction is in effect, its count 1, and the
    version counts all three changes; clearing what was never set moves nothing."""
    reactions = storage.reactions
    batch = [
        change("c1", "ann"),
        change("c1", "ann", on=False),
        change("c1", "ann", on=False),
        change("c1", "ann"),
        change("c1", "bob", "laugh", on=False),
    ]
    assert await reactions.apply(batch) == [counts("c1", 3, like=1)]
    assert await reactions.apply([change("c1", "bob", "laugh", on=False)]) == [
        counts("c1", 3, like=1)
    ]


async def test_several_threads_in_one_batch_answered_in_first_named_order(
    storage: Storage,
) -> None:
    """A batch may name comments of several threads and sites: the answer has each comment
    once, in the order first named (a comment nothing changed at version 0, without counts);
    each thread's read has only its own comments, by id."""
    reactions = storage.reactions
    batch = [
        change("c2", "ann", "love"),
        change("c9", "ann", key=OTHER),
        change("c1", "ann"),
        change("c2", "bob", "love"),
        change("c8", "ann", on=False, key=OTHER),
        change("e1", "ann", key=ELSEWHERE),
    ]
    answer = await reactions.apply(batch)
    assert answer == [
        counts("c2", 2, love=2),
        counts("c9", 1, like=1),
        counts("c1", 1, like=1),
        counts("c8", 0),
        counts("e1", 1, like=1),
    ]
    assert await reactions.of_thread(THREAD) == [counts("c1", 1, like=1), counts("c2", 2, love=2)]
    assert await reactions.of_thread(OTHER) == [counts("c9", 1, like=1)]
    assert await reactions.of_thread(ELSEWHERE) == [counts("e1", 1, like=1)]
    assert await reactions.of_thread(ThreadKey(SITE, "quiet")) == []
    assert await reactions.of_reader(THREAD, "ann") == {"c1": ["like"], "c2": ["love"]}
    assert await reactions.of_reader(OTHER, "ann") == {"c9": ["like"]}
    assert await reactions.of_reader(ELSEWHERE, "bob") == {}


async def test_of_reader_lists_kinds_in_kinds_order(storage: Storage) -> None:
    """A reader's kinds on a comment come in KINDS order whatever order they were set in."""
    await storage.reactions.apply([change("c1", "ann", kind) for kind in reversed(KINDS)])
    assert await storage.reactions.of_reader(THREAD, "ann") == {"c1": list(KINDS)}
    await storage.reactions.apply([change("c1", "ann", "love", on=False)])
    assert await storage.reactions.of_reader(THREAD, "ann") == {
        "c1": [kind for kind in KINDS if kind != "love"]
    }


async def test_counts_never_go_below_zero(storage: Storage) -> None:
    """Clearing reactions never set, or clearing one twice, leaves the counts at what is in
    effect: a kind with none is absent, never negative."""
    reactions = storage.reactions
    await reactions.apply([change("c1", "ann"), change("c1", "bob", "love")])
    clears = [change("c1", reader, kind, on=False) for reader in ("ann", "cy") for kind in KINDS]
    assert await reactions.apply(clears + clears) == [counts("c1", 3, love=1)]
    assert await reactions.of_thread(THREAD) == [counts("c1", 3, love=1)]


@asynccontextmanager
async def another_process(storage: Storage) -> AsyncIterator[Storage]:
    """A second store on the same database, as another server process would hold it (the same
    store itself for the in-memory one, which no other process can share)."""
    database = storage.database
    if isinstance(database, SqliteDatabase):
        other = sqlite_storage(database.path)
    elif isinstance(database, PostgresDatabase):
        other = postgres_storage(database.url)
    else:
        yield storage
        return
    await other.open()
    try:
        yield other
    finally:
        await other.close()


COMMENTS = ("c1", "c2", "c3")
TASKS = 20
CHANGES = 50


async def test_concurrent_batches_keep_exact_counts_and_versions(storage: Storage) -> None:
    """20 tasks of 50 changes on the same comments, half of the tasks through a second
    store on the same database, at once: the counts are exactly the reactions in effect and
    each version the number of effective changes, as if the batches ran one by one."""
    rng = random.Random(17)
    plans = [
        [
            change(rng.choice(COMMENTS), f"r{task}-{rng.randrange(3)}", rng.choice(KINDS[:3]),
                   on=rng.random() < 0.6)
            for _ in range(CHANGES)
        ]
        for task in range(TASKS)
    ]  # fmt: skip
    # Each task's readers are its own, so the outcome does not depend on the interleaving.
    state: set[tuple[str, str, str]] = set()
    versions = dict.fromkeys(COMMENTS, 0)
    for plan in plans:
        for c in plan:
            key = (c.comment_id, c.reader, c.kind)
            if (key in state) != c.on:
                state ^= {key}
                versions[c.comment_id] += 1
    expected = sorted(
        (
            counts(
                comment_id,
                versions[comment_id],
                **{
                    kind: n
                    for kind in KINDS
                    if (n := sum(1 for k in state if k[0] == comment_id and k[2] == kind))
                },
            )
            for comment_id in COMMENTS
        ),
        key=lambda r: r.comment_id,
    )
    async with another_process(storage) as other:
        stores = (storage, other)

        async def run(task: int) -> list[CommentReactions]:
            # Half the changes one by one, half in batches of five.
            plan, store, answers = plans[task], stores[task % 2], []
            for start in range(0, CHANGES, 1 if task % 4 < 2 else 5):
                answers += await store.reactions.apply(
                    plan[start : start + (1 if task % 4 < 2 else 5)]
                )
            return answers

        async with asyncio.timeout(TIMEOUT):
            answered = await asyncio.gather(*(run(task) for task in range(TASKS)))
    assert await storage.reactions.of_thread(THREAD) == expected
    # The largest version answered is the last state, as a page keeping the newest would show.
    latest = {r.comment_id: r for answers in answered for r in answers}
    for answers in answered:
        for r in answers:
            if r.version > latest[r.comment_id].version:
                latest[r.comment_id] = r
    assert sorted(latest.values(), key=lambda r: r.comment_id) == expected


async def test_concurrent_batches_on_the_same_reactions_keep_counts_true(
    storage: Storage,
) -> None:
    """Concurrent batches toggling the very same reactions, from two stores on one database:
    every count is the number of readers whose reaction is in effect, and each comment's
    version has the parity of its reactions in effect (each reaction began cleared)."""
    rng = random.Random(18)
    readers = ("ann", "bob", "cy")
    plans = [
        [
            change(rng.choice(COMMENTS), rng.choice(readers), "like", on=rng.random() < 0.5)
            for _ in range(CHANGES)
        ]
        for _ in range(TASKS)
    ]
    async with another_process(storage) as other:
        stores = (storage, other)

        async def run(task: int) -> None:
            plan = plans[task]
            for start in range(0, CHANGES, 5):
                await stores[task % 2].reactions.apply(plan[start : start + 5])

        async with asyncio.timeout(TIMEOUT):
            await asyncio.gather(*(run(task) for task in range(TASKS)))
    mine = {reader: await storage.reactions.of_reader(THREAD, reader) for reader in readers}
    for found in await storage.reactions.of_thread(THREAD):
        in_effect = sum(1 for kinds in mine.values() if "like" in kinds.get(found.comment_id, []))
        assert found.counts.get("like", 0) == in_effect
        assert found.version % 2 == in_effect % 2
        assert found.version >= in_effect
