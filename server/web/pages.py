"""Server-rendered pages: the demo article with its thread, and a landing page."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from server import demo
from server.model import PublicComment, reader_view, visible_count
from server.ports import Bus, Store

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


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
    def __init__(self, store: Store, bus: Bus) -> None:
        self._store = store
        self._bus = bus

    def routes(self) -> list[Route]:
        return [Route("/", self.article), Route("/healthz", self.health)]

    async def article(self, request: Request) -> Response:
        if await self._store.site(demo.SITE) is None:
            return TEMPLATES.TemplateResponse(request, "index.html", {})
        state, records = await self._store.comments(demo.SITE, demo.THREAD)
        view = reader_view(records)
        return TEMPLATES.TemplateResponse(
            request,
            "article.html",
            {
                "title": demo.TITLE,
                "article": demo.seed().article,
                "site": demo.SITE,
                "thread": demo.THREAD,
                "count": visible_count(view),
                "seq": state.seq,
                "locked": state.locked,
                "roots": tree(view),
            },
        )

    async def health(self, request: Request) -> Response:
        """200 while the store answers; the bus being down degrades live delivery, not health."""
        await self._store.thread_state(demo.SITE, demo.THREAD)
        bus = "connected" if self._bus.connected else "disconnected"
        return JSONResponse({"status": "ok", "bus": bus})
