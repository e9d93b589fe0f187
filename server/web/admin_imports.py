"""The admin page's Imports section: the site's recent `livethread import` runs, as the store
records them (server/importing/ports.py `ImportRuns`), each in a line a person reads: when it
started, the format, the file's name, and how far it got or how it ended.
"""

from __future__ import annotations

import time
from typing import NamedTuple

from server.importing.ports import ImportRun, ImportRuns, RunState

# How many runs the page lists.
RECENT = 10


class ImportLine(NamedTuple):
    started: str  # UTC, to the minute
    iso: str  # for <time datetime>
    format: str
    source_name: str
    state: RunState
    detail: str


def _utc(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))


def _plural(n: int, one: str) -> str:
    return f"{n} {one}" if n == 1 else f"{n} {one}s"


def describe(run: ImportRun) -> ImportLine:
    """The run's line: its progress while it runs, else its summary (and error)."""
    summary = run.summary
    if summary is None:
        detail = (
            f"{run.threads_done} of {_plural(run.threads_total, 'thread')}, "
            f"{run.comments_done} of {_plural(run.comments_total, 'comment')} done "
            f"(last progress {_utc(run.updated_at)})"
        )
    else:
        skipped = sum(summary.skipped.values())
        detail = (
            f"{_plural(summary.comments, 'comment')} imported into "
            f"{_plural(summary.threads, 'thread')}, {summary.already} already there, "
            f"{skipped} skipped"
        )
        if skipped:
            reasons = "; ".join(f"{why}: {n}" for why, n in summary.skipped.items())
            detail += f" ({reasons})"
        if summary.error is not None:
            detail = f"{summary.error}. Before that: {detail}"
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(run.started_at))
    return ImportLine(_utc(run.started_at), iso, run.format, run.source_name, run.state, detail)


async def recent_imports(runs: ImportRuns, site: str) -> list[ImportLine]:
    """The site's `RECENT` newest runs, described."""
    return [describe(run) for run in await runs.recent(site, RECENT)]
