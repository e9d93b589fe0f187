"""A site's and a thread's recent comments as a feed (Atom or RSS 2.0), issue 17.

A feed holds a thread's (or a whole site's) newest visible comments, newest first, at most
`LIMIT`: what `CommentReads.recent` returns, so a held, shadowed, removed or deleted comment is
never in one, and a comment removed after it was fetched is gone from the next fetch. Each entry
carries its author's name (never an email), its thread's title and a link to the comment on its
article (links.py), and its sanitised HTML, as readers' pages show it.

`Feeds` reads what a feed is made of into a `Feed`; its `etag` is a digest of all of it, so a
poller's conditional GET costs one read and no building. `render` builds the XML with feedgen,
imported there: a server process that never serves a feed never loads it (or lxml).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Literal

import msgspec

from server.feeds.links import comment_url, thread_url
from server.model import CommentRecord, ThreadKey, ThreadMeta
from server.sites.ports import Sites
from server.threads.ports import CommentReads, Threads

# The most entries a feed holds: feed readers poll, and only want what is new.
LIMIT = 50

Kind = Literal["atom", "rss"]

MEDIA_TYPES: dict[Kind, str] = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
}


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    """One comment in a feed, with what its thread is called and where it is."""

    comment: CommentRecord
    thread_title: str
    link: str


class Feed(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a feed is built from: the same `Feed` always renders the same entries."""

    kind: Kind
    # This feed's own URL: its Atom id and `rel="self"` link.
    url: str
    title: str
    # The page the feed is about: the article, or for a site's feed its first origin.
    link: str
    description: str
    entries: tuple[Entry, ...]

    @property
    def etag(self) -> str:
        """A strong entity tag: a removal, an edit or a retitled thread changes it, and so does
        a new comment (the newest entry alone would miss an older entry's removal)."""
        return f'"{hashlib.sha256(msgspec.json.encode(self)).hexdigest()[:32]}"'

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.kind]


def entry_id(comment: CommentRecord) -> str:
    """An entry's permanent id: not its URL, which changes when its thread gets an article URL."""
    return f"urn:livethread:comment:{comment.site}:{comment.id}"


def _time(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


class Feeds:
    """Reads a site's or a thread's feed; `base_url` is where this server's pages are."""

    def __init__(self, comments: CommentReads, threads: Threads, sites: Sites) -> None:
        self._comments = comments
        self._threads = threads
        self._sites = sites

    async def of_thread(self, key: ThreadKey, kind: Kind, base_url: str) -> Feed | None:
        """The thread's feed; None when the site is unknown."""
        if await self._sites.get(key.site) is None:
            return None
        meta = await self._threads.meta(key)
        title = meta.title or key.thread
        records = await self._comments.recent(key.site, key.thread, LIMIT)
        return Feed(
            kind=kind,
            url=f"{base_url}/feeds/{key.site}/{key.thread}.{kind}",
            title=f"Comments on {title}",
            link=thread_url(base_url, key.site, key.thread, meta.url),
            description=f"The newest comments on {title}",
            entries=tuple(
                Entry(comment=r, thread_title=title, link=comment_url(base_url, r, meta.url))
                for r in records
            ),
        )

    async def of_site(self, name: str, kind: Kind, base_url: str) -> Feed | None:
        """The site's feed, across its threads; None when the site is unknown."""
        site = await self._sites.get(name)
        if site is None:
            return None
        records = await self._comments.recent(name, None, LIMIT)
        metas: dict[str, ThreadMeta] = {}
        for thread in dict.fromkeys(r.thread for r in records):
            metas[thread] = await self._threads.meta(ThreadKey(name, thread))
        return Feed(
            kind=kind,
            url=f"{base_url}/feeds/{name}.{kind}",
            title=f"Recent comments on {name}",
            link=site.origins[0] if site.origins else f"{base_url}/",
            description=f"The newest comments on every thread of {name}",
            entries=tuple(
                Entry(
                    comment=r,
                    thread_title=metas[r.thread].title or r.thread,
                    link=comment_url(base_url, r, metas[r.thread].url),
                )
                for r in records
            ),
        )


def render(feed: Feed) -> bytes:
    """The feed's XML document, UTF-8."""
    from feedgen.feed import FeedGenerator  # type: ignore[import-untyped]

    atom = feed.kind == "atom"
    generator = FeedGenerator()
    # RSS names an author only by email, which a feed never shows: Dublin Core's creator
    # carries the name instead.
    generator.load_extension("dc", atom=False, rss=True)
    generator.id(feed.url)
    generator.title(feed.title)
    # RSS keeps the last link only: the page the feed is about.
    generator.link(href=feed.url, rel="self")
    generator.link(href=feed.link, rel="alternate")
    generator.description(feed.description)
    generator.generator("livethread")
    newest = [e.comment.edited_at or e.comment.created_at for e in feed.entries]
    # An empty feed is as new as the oldest time there is: the same bytes on every fetch.
    generator.updated(_time(max(newest, default=0.0)))
    for entry in feed.entries:
        comment = entry.comment
        item = generator.add_entry(order="append")
        item.id(entry_id(comment))
        item.title(f"{comment.author_name} on {entry.thread_title}")
        item.link(href=entry.link, rel="alternate")
        item.published(_time(comment.created_at))
        item.updated(_time(comment.edited_at or comment.created_at))
        if atom:
            item.author(name=comment.author_name)
            item.content(comment.body_html, type="html")
        else:
            item.dc.dc_creator(comment.author_name)
            item.description(comment.body_html)
    out: bytes = generator.atom_str(pretty=False) if atom else generator.rss_str(pretty=False)
    return out
