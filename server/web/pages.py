"""Pages: the demo article with its live thread, the moderators' page, the widget script."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from server import demo
from server.bus import Bus
from server.errors import NotFound
from server.model import PublicComment, ThreadKey, reader_view, visible_count
from server.storage import Storage, StoreError
from server.validation import validate_ids
from server.web.responses import NOSNIFF, json_response
from workers.runner import Runner

if TYPE_CHECKING:
    from starlette.templating import Jinja2Templates

HERE = Path(__file__).parent
STATIC = HERE / "static"
# How long /readyz waits for the database's write lock: a probe should answer quickly.
READY_TIMEOUT = 0.5

# Our own pages load only our own script and styles: no inline script or style anywhere.
# Images may come from any https origin: signed-in authors' avatars are on their publishers'.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


class WorkerLag(msgspec.Struct, frozen=True, kw_only=True):
    """How far one in-process worker is behind the event log."""

    events_behind: int
    seconds_behind: float


class HealthAnswer(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """`GET /healthz`: liveness; `workers` only when this process runs workers."""

    status: Literal["ok"]
    bus: Literal["connected", "disconnected"]
    workers: dict[str, WorkerLag] | None = None


class ReadyAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """`GET /readyz`: whether a write could start now; `database` says why not."""

    status: Literal["ready", "unavailable"]
    database: str
    bus: Literal["connected", "disconnected"]


class NosniffStaticFiles(StaticFiles):
    """Our stylesheets, scripts and images, each only as the type its name gives (304s too):
    nothing under /static is ever read as another kind of file."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(NOSNIFF)
        return response


# What every template may use (`widget_url`, set by `Pages`), whenever Jinja is loaded.
_GLOBALS: dict[str, object] = {}


def templates() -> Jinja2Templates:
    """Our pages' templates. Jinja loads at the first page asked for, not at import: most
    processes only ever serve the API and widgets' sockets, and need not hold it."""
    loaded = _loaded()
    loaded.env.globals.update(_GLOBALS)
    return loaded


@cache
def _loaded() -> Jinja2Templates:
    from starlette.templating import Jinja2Templates

    return Jinja2Templates(directory=str(HERE / "templates"))


@dataclass
class Node:
    comment: PublicComment
    replies: list[Node] = field(default_factory=list)


def tree(comments: list[PublicComment]) -> list[Node]:
    """Nest a flat, oldest-first list under its parents (orphans go to the top level)."""
    nodes = {c.id: Node(c) for c in comments}
    roots: list[Node] = []
    for comment in comments:
        parent = nodes.get(comment.parent) if comment.parent else None
        (parent.replies if parent else roots).append(nodes[comment.id])
    return roots


class Pages:
    def __init__(
        self,
        store: Storage,
        bus: Bus,
        runner: Runner | None = None,
        *,
        widget_url: str = "/embed.js",
        moderate_url: str = "/moderate.js",
    ) -> None:
        self._store = store
        self._bus = bus
        self._runner = runner
        # The moderators' own script, by its versioned URL: only /moderate loads it.
        self._moderate_url = moderate_url
        # Our own pages load the widget by its versioned URL (server/web/script.py).
        _GLOBALS["widget_url"] = widget_url

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.article),
            Route("/moderate", self.moderate),
            Route("/threads/{site}/{thread}", self.thread),
            Route("/healthz", self.health),
            Route("/readyz", self.ready),
            Mount("/static", NosniffStaticFiles(directory=STATIC), name="static"),
        ]

    async def article(self, request: Request) -> Response:
        if await self._store.sites.get(demo.SITE) is None:
            return templates().TemplateResponse(request, "index.html", {}, headers=PAGE_HEADERS)
        state, records = await self._store.comments.of_thread(ThreadKey(demo.SITE, demo.THREAD))
        view = reader_view(records)
        context = {
            "title": demo.TITLE,
            "article": demo.seed().article,
            "site": demo.SITE,
            "thread": demo.THREAD,
            "count": visible_count(view),
            "locked": state.locked,
            "roots": tree(view),
        }
        return templates().TemplateResponse(request, "article.html", context, headers=PAGE_HEADERS)

    async def thread(self, request: Request) -> Response:
        """Any site's thread on a page of this server: where reply mails link
        (`#comment-ID`), since the start page shows only the demo. Not for search engines: the
        publisher's article is the thread's home."""
        key = validate_ids(request.path_params["site"], request.path_params["thread"])
        site, thread = key.site, key.thread
        if await self._store.sites.get(site) is None:
            raise NotFound(f"Unknown site {site!r}")
        state, records = await self._store.comments.of_thread(key)
        view = reader_view(records)
        context = {
            # The article's title once a page or a moderator named it (server/threads/meta.py).
            "title": state.title or thread,
            "site": site,
            "thread": thread,
            "count": visible_count(view),
            "locked": state.locked,
            "roots": tree(view),
        }
        return templates().TemplateResponse(request, "thread.html", context, headers=PAGE_HEADERS)

    async def moderate(self, request: Request) -> Response:
        """The moderators' page for one thread (`?site=S&thread=T`, the demo's by default)."""
        key = validate_ids(
            request.query_params.get("site", demo.SITE),
            request.query_params.get("thread", demo.THREAD),
        )
        context = {"site": key.site, "thread": key.thread, "moderate_url": self._moderate_url}
        return templates().TemplateResponse(request, "moderate.html", context, headers=PAGE_HEADERS)

    async def ready(self, request: Request) -> Response:
        """Readiness, where /healthz is liveness: 200 only while a post could be taken now (the
        database's write lock is free and its disk has room) and the bus is connected; else
        503 saying what is wrong, so a balancer sends traffic to another process."""
        database = "writable"
        try:
            await self._store.database.writable(READY_TIMEOUT)
        except StoreError as exc:  # StoreUnavailable, or a store closing at shutdown
            database = str(exc)
        bus: Literal["connected", "disconnected"] = (
            "connected" if self._bus.connected else "disconnected"
        )
        ready = database == "writable" and bus == "connected"
        answer = ReadyAnswer(status="ready" if ready else "unavailable", database=database, bus=bus)
        return json_response(answer, 200 if ready else 503)

    async def health(self, request: Request) -> Response:
        """200 while the store answers; the bus being down degrades live delivery, not health."""
        # One primary-key read that any database answers, demo or not.
        await self._store.log.end()
        bus: Literal["connected", "disconnected"] = (
            "connected" if self._bus.connected else "disconnected"
        )
        workers = None
        if self._runner is not None:
            # How far each in-process worker is behind the event log (for monitoring).
            workers = {
                name: WorkerLag(events_behind=lag.events, seconds_behind=round(lag.seconds, 3))
                for name, lag in (await self._runner.lag()).items()
            }
        return json_response(HealthAnswer(status="ok", bus=bus, workers=workers))
