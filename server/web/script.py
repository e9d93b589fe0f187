"""The widget script, as browsers fetch it: compressed once, cached by version.

Publishers embed the stable URL `/embed.js`, so it may change under them at any deploy: it is
cached briefly and revalidated by its ETag (a 304 costs no body). livethread's own pages load
the versioned URL `/embed.VERSION.js`, VERSION being a hash of the bytes, which never changes
meaning and so is cached for a year. A request for another version (a page rendered by a
process of the previous deploy) is redirected to the current one rather than failing.

The brotli and gzip forms are made once, at start, for the clients that accept them: the
script is small, and a reader's first load should not wait on compression.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

import brotli
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from server.web.responses import accepts

STABLE_CACHE = "public, max-age=300, stale-while-revalidate=86400"
VERSIONED_CACHE = "public, max-age=31536000, immutable"
MEDIA_TYPE = "text/javascript; charset=utf-8"


@dataclass(frozen=True)
class _Form:
    """One content coding of the script: its bytes and its own ETag."""

    coding: str | None
    body: bytes
    etag: str


class Script:
    """Serves one static script at a stable and a versioned URL."""

    def __init__(self, path: Path, name: str = "embed", version: str | None = None) -> None:
        """`version`: the one to serve under, when it is shared with other files (else the
        start of this file's SHA-256)."""
        raw = path.read_bytes()
        self.version = version or hashlib.sha256(raw).hexdigest()[:12]
        self._name = name
        tag = self.version
        # Brotli first: where a client takes both, it is the smaller.
        self._forms = (
            _Form("br", brotli.compress(raw, quality=11), f'"{tag}-br"'),
            _Form("gzip", gzip.compress(raw, compresslevel=9, mtime=0), f'"{tag}-gz"'),
        )
        self._identity = _Form(None, raw, f'"{tag}"')

    @property
    def url(self) -> str:
        """The versioned path, for livethread's own pages."""
        return f"/{self._name}.{self.version}.js"

    def routes(self) -> list[BaseRoute]:
        return [
            Route(f"/{self._name}.js", self.stable, methods=["GET", "HEAD"]),
            Route(f"/{self._name}.{{version}}.js", self.versioned, methods=["GET", "HEAD"]),
        ]

    async def stable(self, request: Request) -> Response:
        return self._answer(request, STABLE_CACHE)

    async def versioned(self, request: Request) -> Response:
        if request.path_params["version"] != self.version:
            return RedirectResponse(self.url, 302, headers={"Cache-Control": "no-store"})
        return self._answer(request, VERSIONED_CACHE)

    def _answer(self, request: Request, cache: str) -> Response:
        offered = request.headers.get("accept-encoding", "")
        form = next((f for f in self._forms if accepts(f.coding or "", offered)), self._identity)
        headers = {
            "Cache-Control": cache,
            "ETag": form.etag,
            "Vary": "Accept-Encoding",
            "X-Content-Type-Options": "nosniff",
            # Publishers' pages on other origins load it.
            "Cross-Origin-Resource-Policy": "cross-origin",
        }
        if form.coding is not None:
            headers["Content-Encoding"] = form.coding
        if form.etag in _etags(request.headers.get("if-none-match", "")):
            return Response(status_code=304, headers=headers)
        return Response(form.body, headers=headers, media_type=MEDIA_TYPE)


def _etags(header: str) -> set[str]:
    """The entity tags of an If-None-Match header (weak ones compared weakly, RFC 9110 13.1.2)."""
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
