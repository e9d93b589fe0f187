"""What a server process imports before its first reader: only what serving needs (issue 19).

Each case builds the app in a fresh interpreter, as `livethread serve` does (the command line,
uvicorn, then the app factory), and lists the modules it loaded. The stores, buses, clients and
templates that only some processes use load when used; their own tests prove they still work.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

TIMEOUT = 60

# The app as `livethread serve` builds it in each server process; after it (and any `then`
# script), every module the process loaded.
BUILD = """
import sys

import server.cli
import uvicorn
import server.web.serving
from server.settings import Settings
from server.web.app import create_app

create_app(Settings(database=sys.argv[1], redis=sys.argv[2] or None))
"""
LISTING = """
print("\\n".join(sorted(sys.modules)))
"""

# Then a first post's work (server/threads/comments.py, server/validation.py): its body rendered,
# its author's name checked against a moderator's and for mixed alphabets, and a website on a
# non-ASCII host cleaned. The results go to the file named by the third argument.
FIRST_POST = """
import json
from pathlib import Path

from server.names import impersonates, mixes_scripts
from server.render import clean_url, render

results = {
    "body": render("**hi** www.example.com"),
    "moderator": impersonates("Lisa West", ["Lisa  West"]),
    "stranger": impersonates("Ann Lee", ["Lisa West"]),
    "mixed": mixes_scripts("Lisa Wes\\u03c4"),
    "website": clean_url("https://b\\u00fccher.example/"),
}
Path(sys.argv[3]).write_text(json.dumps(results))
"""

# Loaded only by the process that uses them: PostgreSQL, outgoing HTTP (webhooks, classifier),
# mail, the pages' templates, `livethread copy`.
NEVER_AT_REST = (
    "asyncpg",
    "httpx",
    "httpcore",
    # Single sign-on's tokens: loaded by a site's first signed-in reader.
    "jwt",
    # Feeds' XML (server/feeds): loaded by the first feed asked for.
    "feedgen",
    "lxml",
    "pygments",
    "aiosmtplib",
    "jinja2",
    "starlette.templating",
    "server.adapters.postgres_store",
    "server.adapters.postgres_database",
    "server.adapters.postgres_archive",
    "server.adapters.redis_cluster_bus",
    "server.adapters.sqlite_archive",
    "server.adapters.memory_archive",
    "server.archive.copying",
    # `livethread import`'s readers and the XML library under them: loaded by an import.
    "server.importing.formats",
    "server.importing.writing",
    "xml.etree.ElementTree",
    "defusedxml",
)
# Without --redis, nothing of Redis either.
REDIS = ("redis", "server.adapters.redis_bus", "server.adapters.redis_buckets")
# Loaded at the first post, edit or name check (server/render.py, server/names.py): Markdown and
# its linkifier, the HTML cleaner, ICU and the IDNA tables, some 11 MB between them.
ON_FIRST_POST = ("markdown_it", "linkify_it", "nh3", "icu", "idna")


def _modules(tmp_path: Path, redis: str, then: str = "") -> set[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LIVETHREAD_")}
    script = BUILD + then + LISTING
    results = tmp_path / "results.json"
    built = subprocess.run(
        [sys.executable, "-c", script, f"sqlite:///{tmp_path / 'x.db'}", redis, str(results)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env=clean,
    )
    assert built.returncode == 0, built.stderr
    modules = set(built.stdout.split())
    # The listing is of a process that did build the app.
    assert {"server.web.app", "server.adapters.sqlite_store", "uvicorn"} <= modules
    return modules


def _installed(names: tuple[str, ...]) -> None:
    # Each is there to be imported: its absence below is a choice, not a missing package.
    for name in names:
        assert importlib.util.find_spec(name) is not None, name


def test_sqlite_server_without_redis_loads_only_what_serving_needs(tmp_path: Path) -> None:
    """Building the SQLite app with no bus imports no PostgreSQL, Redis, HTTP client, mail,
    template or copy module, nor what only a post needs (Markdown, nh3, ICU, IDNA)."""
    _installed(NEVER_AT_REST + REDIS + ON_FIRST_POST)
    modules = _modules(tmp_path, "")
    assert sorted(modules & {*NEVER_AT_REST, *REDIS, *ON_FIRST_POST}) == []


def test_sqlite_server_on_redis_loads_the_bus_and_nothing_else_optional(tmp_path: Path) -> None:
    """With a Redis bus (not connected while building: nothing listens there), only Redis is
    added: still no Redis Cluster bus, PostgreSQL, HTTP client, mail, template or copy module,
    nor what only a post needs."""
    _installed(NEVER_AT_REST + ON_FIRST_POST)
    # Nothing listens on port 1: building the app must not need the bus to answer.
    modules = _modules(tmp_path, "redis://127.0.0.1:1")
    assert {"redis", "server.adapters.redis_bus"} <= modules
    assert sorted(modules & {*NEVER_AT_REST, *ON_FIRST_POST}) == []


def test_a_first_post_loads_what_it_needs_and_gets_the_same_results(tmp_path: Path) -> None:
    """In a server process at rest, rendering a body and checking a name and a website load
    Markdown, nh3, ICU and IDNA on the spot, and give what they gave when loaded at import."""
    modules = _modules(tmp_path, "", then=FIRST_POST)
    assert sorted(set(ON_FIRST_POST) - modules) == []
    assert json.loads((tmp_path / "results.json").read_text()) == {
        "body": '<p><strong>hi</strong> <a href="http://www.example.com" '
        'rel="nofollow ugc noopener">www.example.com</a></p>',
        "moderator": True,
        "stranger": False,
        "mixed": True,
        "website": "https://xn--bcher-kva.example/",
    }
