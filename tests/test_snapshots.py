"""Readers' snapshots encoded once per seq: fresh after every change, shared, bounded, gzipped."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest

from server.adapters.memory_bus import MemoryBus
from server.composition import comments_for, store_for
from server.model import Moderator, ThreadKey, ThreadSnapshot
from server.settings import Settings
from server.storage import Storage
from server.threads.comments import Comments
from server.threads.snapshots import ENTRY_OVERHEAD, Snapshots
from server.web.responses import accepts_gzip
from tests.support.clients import Tokens
from tests.support.parts import new_comment, use_cases
from tests.support.server import Running

MOD = Moderator(name="Lisa West", site="news")


class Parts(msgspec.Struct):
    store: Storage
    comments: Comments
    snapshots: Snapshots


@pytest.fixture
async def parts(database_url: str) -> AsyncIterator[Parts]:
    async with use_cases(database_url) as (store, _, comments):
        yield Parts(store, comments, Snapshots(store.threads, store.comments, edit_window=900))


async def _post(comments: Comments, body: str, thread: str = "t") -> tuple[str, str]:
    answer = await comments.post(new_comment(body, thread=thread))
    return answer.comment.id, answer.edit_token


def _read(body: bytes) -> ThreadSnapshot:
    return msgspec.json.decode(body, type=ThreadSnapshot)


async def test_the_same_seq_is_built_once_and_a_post_builds_anew(parts: Parts) -> None:
    """Requests at one seq share one build; a post moves the seq and the next request sees it."""
    await _post(parts.comments, "first")
    first = await parts.snapshots.get(ThreadKey("news", "t"))
    assert await parts.snapshots.get(ThreadKey("news", "t")) is first
    assert parts.snapshots.builds == 1
    await _post(parts.comments, "second")
    second = _read((await parts.snapshots.get(ThreadKey("news", "t"))).body)
    assert parts.snapshots.builds == 2
    assert second.seq == _read(first.body).seq + 1
    assert [c.html for c in second.comments] == ["<p>first</p>", "<p>second</p>"]


async def test_every_change_a_reader_sees_is_in_the_next_snapshot(parts: Parts) -> None:
    """An edit, a removal (a tombstone kept for a reply) and a lock each show at once."""
    comments, snapshots = parts.comments, parts.snapshots
    first, token = await _post(comments, "parent")
    reply = await comments.post(new_comment("reply", parent=first, name="Bo"))
    assert _read((await snapshots.get(ThreadKey("news", "t"))).body).count == 2
    await comments.edit(first, "parent, edited", moderator=None, edit_token=token)
    edited = _read((await snapshots.get(ThreadKey("news", "t"))).body)
    assert edited.comments[0].html == "<p>parent, edited</p>"
    await comments.moderate(first, "remove", MOD)
    removed = _read((await snapshots.get(ThreadKey("news", "t"))).body)
    assert [c.status for c in removed.comments] == ["removed", "visible"]
    assert removed.count == 1 and removed.comments[1].id == reply.comment.id
    await comments.set_locked(ThreadKey("news", "t"), True, MOD)
    assert _read((await snapshots.get(ThreadKey("news", "t"))).body).locked
    assert snapshots.builds == 4


async def test_requests_at_the_same_moment_share_one_build(parts: Parts) -> None:
    """Twenty requests for a thread nobody asked for yet read the store once."""
    for n in range(5):
        await _post(parts.comments, f"#{n}")
    got = await asyncio.gather(*(parts.snapshots.get(ThreadKey("news", "t")) for _ in range(20)))
    assert parts.snapshots.builds == 1
    assert all(entry is got[0] for entry in got)


async def test_a_change_committed_by_another_process_is_seen(
    parts: Parts, database_url: str
) -> None:
    """Another process's post (another store on the same database) moves the seq this one
    reads."""
    await _post(parts.comments, "here")
    await parts.snapshots.get(ThreadKey("news", "t"))
    other_store, other_bus = store_for(Settings(database=database_url)), MemoryBus()
    await other_store.open()
    try:
        await _post(comments_for(other_store, other_bus), "from the other process")
    finally:
        await other_store.close()
    latest = _read((await parts.snapshots.get(ThreadKey("news", "t"))).body)
    assert [c.html for c in latest.comments] == ["<p>here</p>", "<p>from the other process</p>"]


async def test_memory_is_bounded_and_the_least_recently_served_goes_first(parts: Parts) -> None:
    """Past the limit the thread served longest ago is dropped (and built again if asked)."""
    for thread in ("a", "b", "c"):
        await _post(parts.comments, "x" * 400, thread)
    one = await parts.snapshots.get(ThreadKey("news", "a"))
    limit = one.size * 2 + 10  # room for two threads' snapshots, not three
    snapshots = Snapshots(parts.store.threads, parts.store.comments, edit_window=900, limit=limit)
    for thread in ("a", "b", "a", "c"):
        await snapshots.get(ThreadKey("news", thread))
    assert snapshots.builds == 3 and snapshots.size <= limit
    await snapshots.get(ThreadKey("news", "a"))  # kept: served after "b"
    assert snapshots.builds == 3
    await snapshots.get(ThreadKey("news", "b"))  # dropped for "c"
    assert snapshots.builds == 4 and snapshots.size <= limit


async def test_the_gzip_form_is_made_once_and_counted(parts: Parts) -> None:
    """The gzip form inflates to the JSON form; concurrent askers share one compression."""
    for n in range(50):
        await _post(parts.comments, f"comment number {n}, " * 10)
    entry = await parts.snapshots.get(ThreadKey("news", "t"))
    plain = parts.snapshots.size
    zipped = await asyncio.gather(*(parts.snapshots.gzipped(entry) for _ in range(5)))
    assert all(z is zipped[0] for z in zipped)
    assert gzip.decompress(zipped[0]) == entry.body
    assert len(zipped[0]) < len(entry.body) / 4
    assert parts.snapshots.size == plain + len(zipped[0])


@pytest.mark.parametrize(
    ("header", "gzip_ok"),
    [
        ("gzip", True),
        ("GZIP", True),
        ("x-gzip", True),
        ("br, gzip;q=0.5", True),
        ("gzip, deflate, br", True),
        ("*", True),
        ("", False),
        ("identity", False),
        ("br", False),
        ("gzip;q=0", False),
        ("gzip; q=0.000", False),
        ("*;q=0", False),
        ("*, gzip;q=0", False),
        ("gzip;q=lots", False),
    ],
)
def test_accept_encoding_is_read_as_rfc_9110_says(header: str, gzip_ok: bool) -> None:
    """gzip is sent only when the client admits it: listed (or *) with a weight above 0."""
    assert accepts_gzip(header) is gzip_ok


async def test_a_browser_gets_the_snapshot_gzipped_and_a_plain_client_as_json(
    server: Running, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    """Over HTTP: gzip when accepted (the same JSON inside), plain otherwise, never cached."""
    created = await http.post(
        "/api/v1/comments",
        json={"site": "news", "thread": "t", "author": {"name": "Ann"}, "body": "hello " * 50},
    )
    assert created.status_code == 201
    query = {"site": "news", "thread": "t"}
    plain = await http.get("/api/v1/threads", params=query, headers={"Accept-Encoding": "identity"})
    zipped = await http.get("/api/v1/threads", params=query, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["vary"]  # CORS adds Origin
    assert int(zipped.headers["content-length"]) < len(plain.content)
    assert zipped.content == plain.content  # httpx inflated it
    assert plain.headers["cache-control"] == zipped.headers["cache-control"] == "no-store"
    # A moderator's view is read afresh, never the readers' bytes.
    mod = await http.get(
        "/api/v1/threads", params=query, headers={"Authorization": f"Bearer {tokens.news}"}
    )
    assert mod.json()["moderator"] is True and "content-encoding" not in mod.headers


async def test_requests_for_many_empty_threads_stay_within_the_limit(parts: Parts) -> None:
    """Each entry counts its overhead too: a flood of made-up thread names cannot outgrow it."""
    snapshots = Snapshots(
        parts.store.threads, parts.store.comments, edit_window=900, limit=64 * 1024
    )
    for n in range(1000):
        await snapshots.get(ThreadKey("news", f"made-up-{n}"))
    assert snapshots.size <= 64 * 1024
    assert 0 < len(snapshots) <= 64 * 1024 // ENTRY_OVERHEAD
    assert snapshots.builds == 1000
