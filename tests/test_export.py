"""`livethread export` and its round trip through `livethread import livethread`, as real
processes on real SQLite databases."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from server import events
from server.model import CommentRecord, ThreadKey, ThreadMeta, public
from server.render import render
from server.settings import Settings
from server.threads import history
from server.web.app import store_for
from tests.support.command import livethread
from tests.support.importing import Thread, threads_of, with_site

# What must come back exactly (times to the microsecond, the export's precision).
FIELDS = (
    "id",
    "parent",
    "author_name",
    "author_email",
    "author_url",
    "body_source",
    "body_html",
    "status",
    "pinned",
    "reason",
)


def _comment(key: ThreadKey, n: int, parent: str | None, **fields: object) -> CommentRecord:
    body = f"Comment **{n}** from Zoë"
    values: dict[str, object] = {
        "id": f"c{n}",
        "site": key.site,
        "thread": key.thread,
        "parent": parent,
        "author_name": f"Zoë {n}",
        "author_email": f"z{n}@mail.example" if n % 2 else None,
        "author_url": "https://zoe.example/" if n % 3 == 0 else None,
        "body_source": body,
        "body_html": render(body),
        "created_at": 1_600_000_000.123456 + n * 61.5,
    }
    values.update(fields)
    return CommentRecord(**values)  # type: ignore[arg-type]


async def _seed(database: str) -> None:
    """Two threads: one nested six deep with an edit, a removed parent, a held reply, a pin and
    a comment its author deleted; another with one comment."""
    store = store_for(Settings(database=database))
    await store.open()
    try:
        key = ThreadKey("news", "deep")
        records = [_comment(key, 0, None, pinned=True)]
        for n in range(1, 6):
            records.append(_comment(key, n, records[-1].id))
        records[1] = _comment(key, 1, "c0", edited_at=1_600_000_500.25)
        records[2] = _comment(key, 2, "c1", status="removed", reason="off topic")
        records.append(_comment(key, 6, "c0", status="pending"))
        records.append(_comment(key, 7, None, status="deleted", body_source="", body_html=""))
        other = ThreadKey("news", "other")
        async with store.threads.transaction(key) as tx:
            for record in records:
                await tx.insert_comment(record)
                await history.append(
                    tx, events.CommentCreated(seq=0, comment=public(record)), record.id
                )
        async with store.threads.transaction(other) as tx:
            lone = _comment(other, 8, None)
            await tx.insert_comment(lone)
            await history.append(tx, events.CommentCreated(seq=0, comment=public(lone)), lone.id)
        await store.threads.set_meta(
            key, ThreadMeta(title="Deep «thread»", url="https://news.example/deep")
        )
    finally:
        await store.close()


def _fields(thread: Thread) -> list[tuple[object, ...]]:
    return [
        (
            *(getattr(c, f) for f in FIELDS),
            round(c.created_at, 6),
            None if c.edited_at is None else round(c.edited_at, 6),
        )
        for c in thread.ordered
    ]


def test_an_export_imports_into_an_empty_database_as_it_was(tmp_path: Path) -> None:
    """Export a site (nesting, an edit, removed, pending and deleted comments, a pin, titles
    and URLs), import it into an empty database: every field that matters is the same, each
    thread's log holds one comment.created per comment, and exporting again gives the same
    threads."""
    source = with_site(tmp_path / "source.db")
    asyncio.run(_seed(source))
    out = tmp_path / "news.json"
    done = livethread("export", "--site", "news", "-o", str(out), "--database", source)
    assert done.returncode == 0, done.stderr
    assert "exported 2 threads, 9 comments of news" in done.stdout
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert (exported["format"], exported["version"], exported["site"]) == ("livethread", 1, "news")

    target = with_site(tmp_path / "target.db")
    done = livethread("import", "livethread", str(out), "--site", "news", "--database", target)
    assert done.returncode == 0, done.stderr
    assert "imported 9 comments into 2 threads" in done.stdout
    before, after = threads_of(source), threads_of(target)
    assert sorted(after) == ["deep", "other"]
    for name, thread in before.items():
        copy = after[name]
        assert (copy.state.title, copy.state.url) == (thread.state.title, thread.state.url)
        assert _fields(copy) == _fields(thread)
        assert copy.state.seq == len(copy.comments)
    removed = after["deep"].comments["c2"]
    assert removed.status == "removed" and removed.body_source  # kept for a moderator

    again = livethread("export", "--site", "news", "--database", target)
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)
    assert second["threads"] == exported["threads"]


def test_one_thread_is_exported_alone(tmp_path: Path) -> None:
    """--thread exports only that thread."""
    source = with_site(tmp_path / "one.db")
    asyncio.run(_seed(source))
    done = livethread("export", "--site", "news", "--thread", "other", "--database", source)
    assert done.returncode == 0, done.stderr
    (thread,) = json.loads(done.stdout)["threads"]
    assert thread["id"] == "other" and [c["id"] for c in thread["comments"]] == ["c8"]


def test_an_export_imported_into_its_own_database_adds_nothing(tmp_path: Path) -> None:
    """Our own export names the comments it came from: read back into the same site, every
    one is found there already and nothing is written."""
    source = with_site(tmp_path / "same.db")
    asyncio.run(_seed(source))
    out = tmp_path / "news.json"
    assert (
        livethread("export", "--site", "news", "-o", str(out), "--database", source).returncode == 0
    )
    before = threads_of(source)
    done = livethread("import", "livethread", str(out), "--site", "news", "--database", source)
    assert done.returncode == 0, done.stderr
    assert "imported 0 comments" in done.stdout and "9 comments already imported" in done.stdout
    assert {t: s.state.seq for t, s in threads_of(source).items()} == {
        t: s.state.seq for t, s in before.items()
    }
