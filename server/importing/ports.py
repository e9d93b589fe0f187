"""The import's records and storage port: what every source format is read into before anything
is written (threads and comments as the source had them, in one neutral shape, and the reasons
some were left out), and which comment of a source became which of ours.

A reader parses its whole file into a `Source` first, so a malformed file (`BadInput`) writes
nothing at all. (Records live here, with the port, because the Isso reader is an adapter: it
opens a SQLite file, which only server/adapters/ may.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

import msgspec

from server.model import Status

Format = Literal["disqus", "wxr", "isso", "remark42", "livethread"]
FORMATS: tuple[Format, ...] = ("disqus", "wxr", "isso", "remark42", "livethread")


class BadInput(Exception):
    """The file is not what its format says (malformed, hostile XML, missing fields): nothing
    is imported. The message says what and where."""


class SourceThread(msgspec.Struct, frozen=True, kw_only=True):
    """A thread as its source names it: its own id, and the article's title and URL."""

    id: str
    title: str = ""
    url: str = ""
    # The thread id the source itself uses here (our own export's), when there is one.
    ours: str | None = None


class SourceComment(msgspec.Struct, frozen=True, kw_only=True):
    """A comment as its source had it. `html` is the source's rendered body when it keeps one
    (cleaned again before it is stored); `text` the author's source text when it keeps one."""

    id: str
    thread: str  # the SourceThread's id
    parent: str | None
    author_name: str
    author_email: str | None = None
    author_url: str | None = None
    text: str | None = None
    html: str | None = None
    created_at: float
    edited_at: float | None = None
    status: Status = "visible"
    pinned: bool = False
    # What the source said about it, kept as the moderation note (spam, trash).
    reason: str | None = None


class Skipped(msgspec.Struct, frozen=True, kw_only=True):
    """A source record left out, and why (a pingback, no text, a parent that is not there)."""

    id: str
    reason: str


class Source(msgspec.Struct, kw_only=True):
    """A whole file, read: its threads, its comments (parents before replies not required), and
    what was left out."""

    format: Format
    threads: list[SourceThread] = msgspec.field(default_factory=list)
    comments: list[SourceComment] = msgspec.field(default_factory=list)
    skipped: list[Skipped] = msgspec.field(default_factory=list)


class ImportedComments(Protocol):
    """Per site and source format (`disqus`, `wxr`, …), the source's comment ids and the comment
    ids they were given here. A pair is kept before its comment is written, in its own commit:
    so a second import of the same file finds every comment the first one wrote (and gives a
    comment it had named but not written the same id), and a worker reading a `comment.created`
    event of an imported comment always finds it here (`Cursors.passed_over`)."""

    async def known(self, site: str, source: str, source_ids: Sequence[str]) -> dict[str, str]:
        """The comment ids given to those of `source_ids` already remembered, by source id."""
        ...

    async def remember(self, site: str, source: str, pairs: Sequence[tuple[str, str]]) -> None:
        """Keep (source id, comment id) pairs, committed when this returns; a source id already
        remembered keeps its first comment id (the pair given again is ignored)."""
        ...

    async def imported(self, comment_ids: Sequence[str]) -> set[str]:
        """Those of `comment_ids` that an import gave to a source's comment."""
        ...

    async def site_threads(self, site: str) -> list[str]:
        """The ids of the site's threads that were ever written to, in code point order (what
        an export of the whole site reads)."""
        ...


RunState = Literal["running", "finished", "failed"]


class RunSummary(msgspec.Struct, frozen=True, kw_only=True):
    """How an import ended: threads and comments it wrote, comments a previous run had written,
    how many records were skipped for each reason, and the error that stopped it (None when it
    ran to the end; threads rolled back count as an error too)."""

    threads: int = 0
    comments: int = 0
    already: int = 0
    skipped: dict[str, int] = msgspec.field(default_factory=dict)
    error: str | None = None


class ImportRun(msgspec.Struct, frozen=True, kw_only=True):
    """One `livethread import` of a file into a site, as far as it has got."""

    id: str
    site: str
    format: str
    source_name: str  # the file's name, not its path
    started_at: float
    updated_at: float  # the last progress (or the start, or the end)
    threads_total: int
    comments_total: int
    threads_done: int = 0
    comments_done: int = 0
    summary: RunSummary | None = None  # None while it runs (or if its process died)

    @property
    def state(self) -> RunState:
        if self.summary is None:
            return "running"
        return "failed" if self.summary.error is not None else "finished"


class ImportRuns(Protocol):
    """The imports run into each site, for the admin page. Each call is committed when it
    returns, so another process (a server showing the page) reads a run's progress while the
    import goes on. A run whose process died is never finished: it stays `running` at its last
    progress, and `updated_at` says when that was."""

    async def start(
        self, site: str, format: str, source_name: str, threads: int, comments: int, at: float
    ) -> str:
        """A new run of `site`, running, with its totals; its id (unique in the store)."""
        ...

    async def progress(self, run_id: str, threads: int, comments: int, at: float) -> None:
        """The threads and comments done so far; an unknown or finished run is left alone."""
        ...

    async def finish(self, run_id: str, summary: RunSummary, at: float) -> None:
        """The run's end, once: a run already finished (or unknown) is left alone."""
        ...

    async def recent(self, site: str, limit: int) -> list[ImportRun]:
        """Up to `limit` of the site's runs, newest start first (ties by id)."""
        ...
