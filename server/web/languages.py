"""The widget's languages: each built server/web/static/lang/XX.js, served as /lang/XX.js.

English is inside embed.js; a page in another language has the widget load that language's
file, by its versioned URL (embed.js carries the version), so it is cached for a year and a
deploy can never pair a widget with a table of another build's keys. One version serves every
language file (the start of the SHA-256 of them all, in their languages' order, as
client-js/build.mjs computes it): eleven would weigh on embed.js.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from starlette.routing import BaseRoute

from server.web.script import Script


def language_routes(static: Path) -> list[BaseRoute]:
    """The stable and versioned routes of every language file under `static`/lang/."""
    paths = sorted((static / "lang").glob("*.js"), key=lambda path: path.stem)
    version = version_of(paths)
    return [
        route for path in paths for route in Script(path, f"lang/{path.stem}", version).routes()
    ]


def version_of(paths: list[Path]) -> str:
    """The language files' one version, from their bytes in their languages' order."""
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda path: path.stem):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
