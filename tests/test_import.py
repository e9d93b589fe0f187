"""`livethread import` of each source format, run as a real process on a real SQLite database:
nesting, times, authors, states, thread titles and URLs, and the events that go with them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from server import events
from tests.support.importing import DATA, import_, isso_database, threads_of, with_site


def _at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_disqus_keeps_nesting_five_deep_states_authors_and_threads(tmp_path: Path) -> None:
    """Disqus: threads named by their URL's slug with title and URL, a reply chain five deep
    under a removed parent, spam removed, unapproved held, emails kept, a reply to a missing post
    skipped with its reason; each comment has its comment.created event, seqs 1..n."""
    db = with_site(tmp_path / "d.db")
    code, out, err = import_(db, "disqus", DATA / "disqus.xml")
    assert code == 0, err
    assert "imported 8 comments into 2 threads of news from disqus" in out
    assert "skipped 9009: its parent 8999 is not in its thread" in out
    threads = threads_of(db)
    assert sorted(threads) == ["budget-day", "harbour-bridge-reopens"]
    bridge = threads["harbour-bridge-reopens"]
    assert bridge.state.title == "Harbour bridge reopens after two years"
    assert bridge.state.url == "https://news.example/2019/03/harbour-bridge-reopens/"
    (zoe, removed) = bridge.by_name("Zoë Ångström")
    assert zoe.author_email == "zoe@mail.example" and zoe.parent is None
    assert zoe.created_at == _at("2019-03-01T09:00:00")
    assert zoe.body_html == "<p>Finally! I cycled over it this morning.</p>"
    assert zoe.body_source == "Finally! I cycled over it this morning."
    assert removed.status == "removed" and removed.reason == "deleted"
    depth, node = 0, bridge.ordered[-2]  # "Thanks, found it."
    while node.parent is not None:
        node, depth = bridge.comments[node.parent], depth + 1
    assert depth == 5 and node.id == zoe.id
    (spam,) = bridge.by_name("Deals")
    assert spam.status == "removed" and spam.reason == "spam"
    (held,) = threads["budget-day"].by_name("Olúwaseun")
    assert held.status == "pending"
    for thread in threads.values():
        assert [e.seq for e in thread.events] == list(range(1, len(thread.comments) + 1))
        assert thread.state.seq == len(thread.comments)
        created = [e for e in thread.events if isinstance(e, events.CommentCreated)]
        assert [e.comment.id for e in created] == [c.id for c in thread.ordered]
    shown = [e.comment for e in bridge.events if isinstance(e, events.CommentCreated)]
    tombstone = next(c for c in shown if c.id == removed.id)
    assert tombstone.author is None and tombstone.html is None


def test_wordpress_keeps_states_urls_and_skips_pingbacks(tmp_path: Path) -> None:
    """WXR: the post's slug is the thread, approved 1/0/spam/trash become visible, pending,
    removed, removed; the author's URL is kept; a pingback is skipped; a page without
    comments makes no thread; plain-text paragraphs become HTML paragraphs."""
    db = with_site(tmp_path / "w.db")
    code, out, err = import_(db, "wxr", DATA / "wxr.xml")
    assert code == 0, err
    assert "skipped 5: a pingback, not a comment" in out
    (thread,) = threads_of(db).values()
    assert thread.state.thread == "nato-secretary-general-visits-kyiv"
    assert thread.state.title == "NATO Secretary General visits Kyiv"
    mike, martin, segolene, casino, trash = thread.ordered
    assert mike.author_url is not None and mike.author_url.startswith("https://mike.example")
    assert mike.body_html == "<p>An important visit.</p><p>Let's see what follows.</p>"
    assert mike.created_at == _at("2023-09-28T10:00:00")
    assert martin.parent == mike.id and segolene.parent == martin.id
    assert segolene.author_name == "Ségolène" and segolene.status == "pending"
    assert (casino.status, casino.reason) == ("removed", "spam")
    assert (trash.status, trash.reason) == ("removed", "trash")


def test_isso_keeps_markdown_deleted_stubs_and_pending(tmp_path: Path) -> None:
    """Isso: mode 1/2/4 become visible/pending/removed, its Markdown text is rendered, a reply
    under a deleted comment keeps its place, times keep their fractions."""
    db = with_site(tmp_path / "i.db")
    code, _, err = import_(db, "isso", isso_database(tmp_path))
    assert code == 0, err
    (thread,) = threads_of(db).values()
    assert thread.state.thread == "winter-tides" and thread.state.title == "Winter tides"
    first, deleted, answer, pending = thread.ordered
    assert first.author_name == "Jörg" and first.body_html == "<p>First <em>tide</em> report.</p>"
    assert first.created_at == 1578000000.25 and first.author_email == "joerg@mail.example"
    assert deleted.status == "removed" and answer.parent == deleted.id
    assert pending.status == "pending" and pending.parent == first.id
    assert not first.notify  # reply mail is asked for, and confirmed, here only


def test_remark42_keeps_pins_edits_and_deleted_parents(tmp_path: Path) -> None:
    """Remark42: the page URL's slug is the thread, `orig` is the source and `text` the HTML,
    a pin and an edit time are kept, a deleted comment is removed with its reply below."""
    db = with_site(tmp_path / "r.db")
    code, _, err = import_(db, "remark42", DATA / "remark42.jsonl")
    assert code == 0, err
    (thread,) = threads_of(db).values()
    assert thread.state.thread == "first-light" and thread.state.title == "First light"
    pinned, agreed, deleted, reply = thread.ordered
    assert pinned.pinned and pinned.author_name == "Émile"
    assert agreed.body_source == "Agreed, **the third one**."
    assert agreed.body_html == "<p>Agreed, <strong>the third one</strong>.</p>"
    assert agreed.created_at == _at("2021-06-01T07:30:00.5")
    assert agreed.edited_at == _at("2021-06-01T07:45:00")
    assert deleted.status == "removed" and reply.parent == deleted.id
