"""Threads' metadata: the article's title and URL, so mails (and feeds) can name the thread and
link to the article rather than to this server's own page of it.

Pages name their thread: the widget sends its page's title and URL with its first snapshot
request, and `offered` keeps them only for a thread that has none yet (the first page wins; a
later page cannot rename it), only from a page whose Origin the site lists (not this server's
own pages, not a caller without Origin), and only a URL on one of the site's origins (nobody
can point the mail link elsewhere). What is wrong is dropped without a word: a reader's load
never fails over it. Moderators (`POST /api/v1/threads/moderation`, action `retitle`) and
operators (`livethread thread set`) replace them, and a wrong value is refused by field.
"""

from __future__ import annotations

import logging

from server.errors import Forbidden, Invalid, NotFound
from server.limits import Limiter, Rate
from server.model import Moderator, Site, ThreadKey, ThreadMeta, ThreadState
from server.sites.ports import Sites
from server.storage import StoreError
from server.threads.ports import Threads
from server.validation import FORM_INVALID, author_name, thread_meta_fields

log = logging.getLogger(__name__)

# Threads a site's pages may name per process, in bursts of as many: each one writes a row,
# and a page (or anyone sending its Origin) can make up thread ids. Over it, a page's names are
# dropped for now and kept by a later load.
NEW_THREADS = Rate(120, 60.0)


class ThreadMetas:
    """Reads and changes threads' titles and URLs (see the module's docstring)."""

    def __init__(self, threads: Threads, sites: Sites, *, rate: Rate = NEW_THREADS) -> None:
        self._threads = threads
        self._sites = sites
        self._named = Limiter(rate, max_keys=10_000)

    async def offered(
        self, site: Site, key: ThreadKey, origin: str | None, title: str | None, url: str | None
    ) -> ThreadMeta | None:
        """Keep a page's title and URL for the fields the thread has empty; the thread's
        metadata as it now is, or None when nothing offered could be kept."""
        if (title is None and url is None) or origin is None:
            return None
        if origin.strip().lower() not in {o.strip().lower() for o in site.origins}:
            return None
        kept, _ = thread_meta_fields(title, url, site.origins)
        kept = {name: value for name, value in kept.items() if value}
        if not kept:
            return None
        try:
            current = await self._threads.meta(key)
            if all(getattr(current, name) for name in kept):
                return current  # the usual load: named already, nothing to write
            if self._named.take(site.name):
                return None
            return await self._threads.set_meta(key, ThreadMeta(**kept), first=True)
        except StoreError as exc:
            # A reader came for the comments: a database that cannot take this write now
            # must not cost them the thread. A later load names it.
            log.info("thread %s not named now: %s", key, exc)
            return None

    async def retitle(
        self,
        key: ThreadKey,
        *,
        title: str | None,
        url: str | None,
        moderator: Moderator | None = None,
    ) -> ThreadState:
        """Set a thread's title and URL (an omitted one is kept, "" clears it): a moderator of
        its site, or the operator (`moderator` None). 422 naming each bad field."""
        if moderator is not None and moderator.site != key.site:
            raise Forbidden("Your moderator token is for another site")
        found = await self._sites.get(key.site)
        if found is None:
            raise NotFound(f"Unknown site {key.site!r}")
        if title is None and url is None:
            raise Invalid(FORM_INVALID, {"title": "Give a title, a url, or both"})
        kept, errors = thread_meta_fields(title, url, found.origins)
        if errors:
            raise Invalid(FORM_INVALID, errors)
        current = await self._threads.meta(key)
        meta = ThreadMeta(title=kept.get("title", current.title), url=kept.get("url", current.url))
        await self._threads.set_meta(key, meta)
        return await self._threads.state(key)

    async def name_byline(self, key: ThreadKey, byline: str) -> ThreadState:
        """Name the article's byline author ("" clears it): the operator's to say. Their posts
        with their moderator token carry the "author" badge, and nobody may post under a name
        that reads as theirs without one (server/threads/authors.py)."""
        if await self._sites.get(key.site) is None:
            raise NotFound(f"Unknown site {key.site!r}")
        name = ""
        if byline.strip():
            name, problem = author_name(byline)
            if problem is not None:
                raise Invalid(FORM_INVALID, {"byline": problem})
        await self._threads.set_byline(key, name)
        return await self._threads.state(key)
