"""The ImportedComments contract, and the workers' `passed_over`: what an import remembers, and
which events of the log workers pass over because of it."""

from __future__ import annotations

from server import events
from server.model import CommentRecord, ThreadKey, public
from server.storage import Storage
from server.threads import history

KEY = ThreadKey("news", "t")


def _record(cid: str, parent: str | None = None) -> CommentRecord:
    return CommentRecord(
        id=cid,
        site=KEY.site,
        thread=KEY.thread,
        parent=parent,
        author_name="Ann",
        body_source="hi",
        body_html="<p>hi</p>",
        created_at=1.0,
    )


async def _write(storage: Storage, *records: CommentRecord) -> None:
    async with storage.threads.transaction(KEY) as tx:
        for record in records:
            await tx.insert_comment(record)
            await history.append(
                tx, events.CommentCreated(seq=0, comment=public(record)), record.id
            )


async def test_remembered_pairs_are_known_per_site_and_source_and_keep_their_first_id(
    storage: Storage,
) -> None:
    """A source id keeps the comment id it was first given; sites and formats are apart."""
    imports = storage.imports
    assert await imports.known("news", "disqus", ["1", "2"]) == {}
    await imports.remember("news", "disqus", [("1", "a"), ("2", "b")])
    await imports.remember("news", "disqus", [("1", "other"), ("3", "c")])
    assert await imports.known("news", "disqus", ["1", "2", "3", "4"]) == {
        "1": "a",
        "2": "b",
        "3": "c",
    }
    assert await imports.known("news", "wxr", ["1"]) == {}
    assert await imports.known("blog", "disqus", ["1"]) == {}
    assert await imports.imported(["a", "c", "zz"]) == {"a", "c"}
    await imports.remember("news", "disqus", [])


async def test_many_source_ids_are_answered_in_one_call(storage: Storage) -> None:
    """More ids than one statement may hold are remembered and found."""
    pairs = [(f"s{n}", f"c{n}") for n in range(1203)]
    await storage.imports.remember("news", "wxr", pairs)
    found = await storage.imports.known("news", "wxr", [s for s, _ in pairs])
    assert found == dict(pairs)
    assert len(await storage.imports.imported([c for _, c in pairs])) == 1203


async def test_workers_pass_over_the_creation_events_of_imported_comments_only(
    storage: Storage,
) -> None:
    """`passed_over` names the positions of imported comments' comment.created events in the
    range asked, and nothing else (a live comment, a later event about an imported one)."""
    await storage.imports.remember("news", "disqus", [("9", "old")])
    await _write(storage, _record("live"), _record("old"))
    async with storage.threads.transaction(KEY) as tx:
        await history.append(tx, events.CommentRemoved(seq=0, id="old"), "old")
    entries = await storage.log.after(0, 10)
    assert [e.seq for e in entries] == [1, 2, 3]
    old = entries[1].position
    assert await storage.cursors.passed_over(0, entries[-1].position) == {old}
    assert await storage.cursors.passed_over(old, entries[-1].position) == set()
    assert await storage.cursors.passed_over(0, old - 1) == set()


async def test_site_threads_lists_a_sites_threads_in_code_point_order(storage: Storage) -> None:
    """The threads written to, of one site only, sorted by code point."""
    for key in (ThreadKey("news", "b"), ThreadKey("news", "B"), ThreadKey("blog", "a")):
        async with storage.threads.transaction(key) as tx:
            await history.append(tx, events.ThreadLocked(seq=0), None)
    assert await storage.imports.site_threads("news") == ["B", "b"]
    assert await storage.imports.site_threads("none") == []
