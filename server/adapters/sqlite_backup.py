"""A consistent copy of a live SQLite database, with SQLite's online backup API.

The copy is taken from one read transaction held for the whole backup: in WAL mode a reader
blocks no writer, so the servers keep committing while the pages are copied, and the copy is
the database exactly as it was when the transaction began (every post acknowledged before it,
none half-written). Without that transaction each step would start its own, and SQLite restarts
a backup from the first page whenever another connection wrote between two steps: under
steady posting it could copy forever. Steps still matter: progress is reported between them.

The pages go to a temporary file beside the target, which is checked, flushed to disk and only
then renamed over it, so a failed or interrupted backup never leaves a half copy under PATH.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from server.storage import StoreError

# 4 MB a step at the default 4 KB page size: a progress report about every few milliseconds.
STEP_PAGES = 1024


@dataclass(frozen=True)
class Copied:
    """What a backup wrote: its path, its pages and their size in bytes."""

    path: Path
    pages: int
    bytes: int


def backup(
    source: str,
    target: str,
    *,
    busy_timeout_ms: int,
    progress: Callable[[int, int], None] | None = None,
) -> Copied:
    """Copy the SQLite database at `source` to `target` (replaced if it exists); `progress`
    is called with (pages copied, pages in all) after each step."""
    if not Path(source).is_file():
        raise StoreError(f"no SQLite database at {source}")
    final = Path(target).resolve()
    if final == Path(source).resolve():
        raise StoreError("the backup cannot replace the database it copies")
    partial = final.with_name(f".{final.name}.partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(source, isolation_level=None)
    try:
        src.execute(f"PRAGMA busy_timeout = {busy_timeout_ms:d}")
        # A backup never migrates or changes the live file. (Not mode=ro: a read-only
        # connection cannot open a WAL database whose -shm file is missing.)
        src.execute("PRAGMA query_only = ON")
        dst = sqlite3.connect(partial, isolation_level=None)
        try:
            src.execute("BEGIN")
            # BEGIN is deferred: the first read is what takes the snapshot.
            src.execute("SELECT count(*) FROM sqlite_schema").fetchone()

            def step(status: int, remaining: int, total: int) -> None:
                if progress is not None:
                    progress(total - remaining, total)

            src.backup(dst, pages=STEP_PAGES, progress=step, sleep=0)
            src.execute("COMMIT")
            found = dst.execute("PRAGMA quick_check").fetchone()[0]
            if found != "ok":
                raise StoreError(f"the copy failed SQLite's quick_check: {found}")
            pages = int(dst.execute("PRAGMA page_count").fetchone()[0])
        finally:
            dst.close()
        _durable(partial)
        os.replace(partial, final)
        _durable(final.parent)
    except sqlite3.Error as exc:
        raise StoreError(f"SQLite backup of {source}: {exc}") from None
    finally:
        src.close()
        partial.unlink(missing_ok=True)
    return Copied(path=final, pages=pages, bytes=final.stat().st_size)


def _durable(path: Path) -> None:
    """fsync a file, or a folder (so a rename in it survives a crash)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
