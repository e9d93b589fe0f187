"""Copying a deployment from one store's `Archive` to another's, and checking the copy.

`copy` reads every table of the source in key order, in batches, and writes each batch to the
target, which keeps rows it already has: running it again after a failure (or twice) doubles
nothing. Threads keep their seq and events their position and bytes, so a widget resumes on
the target with `since=` as it would have on the source, and the workers' cursors and webhook
deliveries, copied as they are, go on where they were (nothing is sent twice).

`summarise` reads a store whole: per table its row count and a SHA-256 over its rows in key
order (the events' one is the checksum of the log: every event's position, thread, seq, type,
comment and bytes), per thread its seq and how many comments and events it has. A copy is right
when `differences` between the source's and the target's summaries finds none. Both read the
stores while nothing else writes them: copy a deployment with its servers and workers stopped.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import AsyncIterator, Callable

import msgspec

from server.archive.ports import EVENTS, TABLES, Archive, EventRow, Key, Row, Table, ThreadRow
from server.model import CommentRecord

# How a copy reports its progress: a table, the rows copied so far, the rows it has.
Progress = Callable[[Table, int, int], None]

# The most threads a list of differences names one by one.
NAMED_THREADS = 10


class TableSummary(msgspec.Struct, frozen=True):
    rows: int
    sha256: str


class ThreadSummary(msgspec.Struct, frozen=True):
    seq: int
    comments: int
    events: int


class Summary(msgspec.Struct, frozen=True):
    """A store's content, in brief: enough to tell two stores' apart."""

    tables: dict[str, TableSummary]
    threads: dict[str, ThreadSummary]

    @property
    def log_sha256(self) -> str:
        return self.tables[EVENTS.name].sha256


async def batches(archive: Archive, table: Table, size: int) -> AsyncIterator[list[Row]]:
    """Every row of `table`, in key order, `size` at a time."""
    after: Key | None = None
    while True:
        rows = await archive.read(table, after, size)
        if rows:
            yield rows
        if len(rows) < size:
            return
        after = table.key_of(rows[-1])


async def copy(
    source: Archive, target: Archive, *, batch: int = 500, progress: Progress | None = None
) -> dict[str, int]:
    """Copy every table of `source` to `target`, each after those its rows refer to; how many
    rows of each table were new to the target."""
    written: dict[str, int] = {}
    for table in TABLES:
        total, done, new = await source.count(table), 0, 0
        if progress is not None:
            progress(table, 0, total)
        async for rows in batches(source, table, batch):
            new += await target.write(table, rows)
            done += len(rows)
            if progress is not None:
                progress(table, done, max(total, done))
        written[table.name] = new
    return written


async def summarise(archive: Archive, *, batch: int = 500) -> Summary:
    """The store's `Summary`, read in batches of `batch` rows."""
    tables: dict[str, TableSummary] = {}
    seqs: dict[str, int] = {}
    comments: Counter[str] = Counter()
    events: Counter[str] = Counter()
    for table in TABLES:
        digest = hashlib.sha256()
        async for rows in batches(archive, table, batch):
            for row in rows:
                digest.update(msgspec.msgpack.encode(row))
                if isinstance(row, ThreadRow):
                    seqs[f"{row.site}/{row.thread}"] = row.seq
                elif isinstance(row, CommentRecord):
                    comments[f"{row.site}/{row.thread}"] += 1
                elif isinstance(row, EventRow):
                    events[f"{row.site}/{row.thread}"] += 1
        tables[table.name] = TableSummary(
            rows=await archive.count(table), sha256=digest.hexdigest()
        )
    threads = {
        where: ThreadSummary(seq=seqs.get(where, 0), comments=comments[where], events=events[where])
        for where in sorted({*seqs, *comments, *events})
    }
    return Summary(tables=tables, threads=threads)


def differences(source: Summary, target: Summary) -> list[str]:
    """What differs between two stores' summaries, one line each; empty if nothing does."""
    found: list[str] = []
    for name, mine in source.tables.items():
        theirs = target.tables.get(name, TableSummary(rows=0, sha256=""))
        if mine.rows != theirs.rows:
            found.append(
                f"table {name}: {mine.rows} rows in the source, {theirs.rows} in the target"
            )
        elif mine.sha256 != theirs.sha256:
            found.append(
                f"table {name}: the rows differ (SHA-256 {mine.sha256[:16]}… in the source, "
                f"{theirs.sha256[:16]}… in the target)"
            )
    unlike = [
        where
        for where in sorted({*source.threads, *target.threads})
        if source.threads.get(where) != target.threads.get(where)
    ]
    for where in unlike[:NAMED_THREADS]:
        found.append(
            f"thread {where}: {_describe(source.threads.get(where))} in the source, "
            f"{_describe(target.threads.get(where))} in the target"
        )
    if len(unlike) > NAMED_THREADS:
        found.append(f"and {len(unlike) - NAMED_THREADS} more threads")
    return found


def _describe(thread: ThreadSummary | None) -> str:
    if thread is None:
        return "missing"
    return f"seq {thread.seq}, {thread.comments} comments, {thread.events} events"
