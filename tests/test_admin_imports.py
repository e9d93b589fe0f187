"""/admin's Imports section over real HTTP: an import run by the real `livethread import` against
the server's database is listed with its summary (a dry run is not), and runs still going or
failed show their progress or error, only on their own site's page."""

from __future__ import annotations

import asyncio
import html

from server.importing.ports import RunSummary
from server.model import Site
from server.settings import Settings
from server.storage import Storage
from tests.support.admin import admin_client, admin_token, in_store
from tests.support.command import livethread
from tests.support.importing import DATA
from tests.support.server import Running

# What tests/data/import/disqus.xml gives: 8 comments in 2 threads, one reply without its parent.
SKIPPED = "its parent 8999 is not in its thread: 1"


async def _import(settings: Settings, *extra: str) -> str:
    done = await asyncio.to_thread(
        livethread, "import", "disqus", str(DATA / "disqus.xml"), "--site", "news",
        "--database", settings.database, *extra,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def _imports(page: str) -> str:
    """The page's Imports section, its entities decoded."""
    start = page.index('<section id="imports"')
    return html.unescape(page[start : page.index("</section>", start)])


async def test_an_import_by_the_cli_shows_on_the_admin_page_with_its_summary(
    server: Running, settings: Settings
) -> None:
    """Before any import the section says so; a dry run records nothing; an import lists its
    format, file and summary (comments, threads, skipped by reason); running it again lists a
    second run, newest first, that found everything already there."""
    token = await admin_token(settings)
    async with admin_client(server.http) as admin:
        assert (await admin.sign_in(token)).status_code == 303
        assert "No imports yet." in _imports((await admin.page()).text)
        assert "dry run" in await _import(settings, "--dry-run")
        assert "No imports yet." in _imports((await admin.page()).text)

        assert "imported 8 comments into 2 threads" in await _import(settings)
        section = _imports((await admin.page()).text)
        assert section.count('class="admin-import ') == 1
        assert "<td>disqus</td>" in section and "<td>disqus.xml</td>" in section
        assert "<td>finished</td>" in section
        assert f"8 comments imported into 2 threads, 0 already there, 1 skipped ({SKIPPED})" in (
            section
        )

        await _import(settings)
        section = _imports((await admin.page()).text)
        assert section.count('class="admin-import admin-import-finished"') == 2
        again = "0 comments imported into 0 threads, 8 already there, 1 skipped"
        assert section.index(again) < section.index("8 comments imported into 2 threads")


async def test_running_and_failed_runs_show_their_progress_and_error_on_their_site_only(
    server: Running, settings: Settings
) -> None:
    """A run still going shows its threads and comments done of the totals; a failed one its
    error; another site's run is not on this site's page."""

    async def record(store: Storage) -> None:
        await store.sites.put(Site(name="other"))
        runs = store.import_runs
        going = await runs.start("news", "wxr", "blog <1>.xml", 4, 120, 1_700_000_000.0)
        await runs.progress(going, 1, 30, 1_700_000_060.0)
        failed = await runs.start("news", "remark42", "backup.jsonl", 2, 5, 1_600_000_000.0)
        error = "1 threads not written (rolled back): t: disk I/O error"
        await runs.finish(failed, RunSummary(threads=1, comments=3, error=error), 1_600_000_001.0)
        await runs.start("other", "isso", "theirs.db", 1, 1, 1_700_000_100.0)

    await in_store(settings, record)
    token = await admin_token(settings)
    async with admin_client(server.http) as admin:
        assert (await admin.sign_in(token)).status_code == 303
        page = (await admin.page()).text
        assert "blog &lt;1&gt;.xml" in page  # escaped, as every value on the page
        section = _imports(page)
        assert "theirs.db" not in section
        assert '<time datetime="2023-11-14T22:13:20Z">2023-11-14 22:13 UTC</time>' in section
        assert "<td>running</td>" in section
        assert "1 of 4 threads, 30 of 120 comments done (last progress 2023-11-14 22:14 UTC)" in (
            section
        )
        assert "<td>failed</td>" in section
        assert "1 threads not written (rolled back): t: disk I/O error. Before that: " in section
        assert section.index("blog <1>.xml") < section.index("backup.jsonl")
