"""The feeds' routes: a site's and a thread's recent comments as Atom and RSS (server/feeds).

Public, as the thread's page is: cached a minute, and revalidated by an ETag that a removal or
an edit changes, so a poller's unchanged feed costs one read and a 304.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from server.errors import NotFound
from server.feeds.feeds import Feed, Feeds, Kind, render
from server.settings import Settings
from server.storage import Storage
from server.validation import validate_ids

CACHE = "public, max-age=60"


class FeedRoutes:
    def __init__(self, store: Storage, settings: Settings) -> None:
        self._feeds = Feeds(store.comments, store.threads, store.sites)
        self._public_url = settings.public_url

    def routes(self) -> list[BaseRoute]:
        return [
            Route(f"/feeds/{{site}}{suffix}", handler, methods=["GET", "HEAD"])
            for suffix, handler in (
                (".atom", self.site_atom),
                (".rss", self.site_rss),
                ("/{thread}.atom", self.thread_atom),
                ("/{thread}.rss", self.thread_rss),
            )
        ]

    async def site_atom(self, request: Request) -> Response:
        return await self._site(request, "atom")

    async def site_rss(self, request: Request) -> Response:
        return await self._site(request, "rss")

    async def thread_atom(self, request: Request) -> Response:
        return await self._thread(request, "atom")

    async def thread_rss(self, request: Request) -> Response:
        return await self._thread(request, "rss")

    async def _site(self, request: Request, kind: Kind) -> Response:
        site = validate_ids(request.path_params["site"], "-").site
        feed = await self._feeds.of_site(site, kind, self._base_url(request))
        return _answer(request, site, feed)

    async def _thread(self, request: Request, kind: Kind) -> Response:
        key = validate_ids(request.path_params["site"], request.path_params["thread"])
        feed = await self._feeds.of_thread(key, kind, self._base_url(request))
        return _answer(request, key.site, feed)

    def _base_url(self, request: Request) -> str:
        # The links reply mails use when one is configured; else the address this feed was
        # asked for (behind the trusted proxy, its scheme: server/web/forwarded.py).
        return (self._public_url or str(request.base_url)).rstrip("/")


def _answer(request: Request, site: str, feed: Feed | None) -> Response:
    if feed is None:
        raise NotFound(f"Unknown site {site!r}")
    headers = {"Cache-Control": CACHE, "ETag": feed.etag, "X-Content-Type-Options": "nosniff"}
    if feed.etag in _etags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    return Response(render(feed), headers=headers, media_type=feed.media_type)


def _etags(header: str) -> set[str]:
    """The entity tags of an If-None-Match header (weak ones compared weakly, RFC 9110 13.1.2)."""
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
