"""Recording an import as it goes (`ImportRuns`, for the admin page): a run at the start with
its totals, its progress after a thread at most once a second (a write per comment, or per
thread of a file of many small threads, would slow the import for a page nobody may be
reading), and its summary at the end, counted by reason.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from server.importing.ports import ImportRuns, RunSummary, Skipped
from server.importing.writing import Planned, Summary

# Seconds between two recordings of a run's progress.
EVERY = 1.0
# At most this many reasons are counted one by one; the rest are counted together.
REASONS = 20
OTHER_REASONS = "other reasons"


def skipped_by_reason(skipped: list[Skipped]) -> dict[str, int]:
    """How many records were skipped for each reason, the most frequent first."""
    counts = Counter(s.reason for s in skipped).most_common()
    kept = dict(counts[:REASONS])
    rest = sum(n for _, n in counts[REASONS:])
    return {**kept, OTHER_REASONS: rest} if rest else kept


@dataclass
class RunRecorder:
    """One run's recording; `start` first, then `thread_done` after each thread, then `finish`."""

    runs: ImportRuns
    clock: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic
    run_id: str = ""
    _last: float = field(default=float("-inf"))

    async def start(
        self, site: str, format: str, source_name: str, threads: int, comments: int
    ) -> None:
        self.run_id = await self.runs.start(
            site, format, source_name, threads, comments, self.clock()
        )
        self._last = self.monotonic()

    async def thread_done(self, threads: int, comments: int) -> None:
        """Record the progress if a second has passed since it was last recorded."""
        now = self.monotonic()
        if now - self._last >= EVERY:
            self._last = now
            await self.runs.progress(self.run_id, threads, comments, self.clock())

    async def finish(self, summary: RunSummary, threads: int, comments: int) -> None:
        """The last progress, then the summary."""
        at = self.clock()
        await self.runs.progress(self.run_id, threads, comments, at)
        await self.runs.finish(self.run_id, summary, at)


def totals(planned: Sequence[Planned]) -> tuple[int, int]:
    """The threads an import writes to (those with comments) and their comments."""
    threads = [t for t in planned if t.comments]
    return len(threads), sum(len(t.comments) for t in threads)


async def finish_run(
    run: RunRecorder, planned: Sequence[Planned], summary: Summary, *, error: str | None = None
) -> None:
    """End the run with the import's summary: the threads it wrote to and their comments; the
    error that stopped it, else the threads rolled back, if any."""
    if error is None and summary.failed:
        named = "; ".join(f"{t}: {why}" for t, why in sorted(summary.failed.items()))
        error = f"{len(summary.failed)} threads not written (rolled back): {named}"
    done = {t.key.thread: len(t.comments) for t in planned if t.comments}
    reached = [t for t in summary.threads if t in done]
    ended = RunSummary(
        threads=sum(1 for n in summary.threads.values() if n),
        comments=summary.written,
        already=summary.already,
        skipped=skipped_by_reason(summary.skipped),
        error=error,
    )
    await run.finish(ended, len(reached), sum(done[t] for t in reached))
