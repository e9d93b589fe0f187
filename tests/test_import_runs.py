"""Recording an import's run (server/importing/runs.py): progress at most once a second however
many threads go by, the summary counted by reason, and threads rolled back ending it failed."""

from __future__ import annotations

from server.adapters.memory_store import memory_storage
from server.importing.ports import Skipped, Source, SourceComment, SourceThread
from server.importing.runs import (
    OTHER_REASONS,
    REASONS,
    RunRecorder,
    finish_run,
    skipped_by_reason,
    totals,
)
from server.importing.writing import plan


async def test_progress_is_recorded_at_most_once_a_second_and_always_at_the_end() -> None:
    """Ten threads within a second record no progress; one after a second has passed does;
    the end records the last counts and the summary."""
    store = memory_storage()
    now = [0.0]
    run = RunRecorder(store.import_runs, clock=lambda: 1_000.0 + now[0], monotonic=lambda: now[0])
    await run.start("news", "wxr", "blog.xml", 12, 120)
    for n in range(1, 11):
        now[0] = n * 0.09
        await run.thread_done(n, n * 10)
    [going] = await store.import_runs.recent("news", 1)
    assert (going.threads_done, going.comments_done) == (0, 0)
    now[0] = 1.0
    await run.thread_done(11, 110)
    [going] = await store.import_runs.recent("news", 1)
    assert (going.threads_done, going.comments_done, going.updated_at) == (11, 110, 1_001.0)
    now[0] = 1.5
    await run.thread_done(12, 120)
    assert (await store.import_runs.recent("news", 1))[0].threads_done == 11


def test_skipped_records_are_counted_by_reason_the_rest_together() -> None:
    """The most frequent reasons are counted one by one, up to `REASONS`; the others as one."""
    skipped = [Skipped(id=str(n), reason="no text") for n in range(3)]
    skipped += [
        Skipped(id=f"p{n}", reason=f"its parent {n} is not in its thread") for n in range(25)
    ]
    counted = skipped_by_reason(skipped)
    assert next(iter(counted)) == "no text" and counted["no text"] == 3
    assert len(counted) == REASONS + 1
    assert counted[OTHER_REASONS] == 25 - (REASONS - 1)
    assert sum(counted.values()) == len(skipped)


async def test_threads_rolled_back_end_the_run_failed_naming_them() -> None:
    """A thread the import could not write makes the run failed, its error naming the thread
    and why; what was done is kept beside it."""
    store = memory_storage()
    run = RunRecorder(store.import_runs)
    comment = SourceComment(id="c", thread="1", parent=None, author_name="A", text="hi",
                            created_at=1.0)  # fmt: skip
    source = Source(
        format="wxr", threads=[SourceThread(id="1", url="https://x.example/a/")], comments=[comment]
    )
    planned, summary = plan(source, "news", {})
    assert totals(planned) == (1, 1)
    await run.start("news", "wxr", "f.xml", *totals(planned))
    summary.threads["a"] = 0
    summary.failed["a"] = "disk full"
    await finish_run(run, planned, summary)
    [ended] = await store.import_runs.recent("news", 1)
    assert ended.state == "failed" and ended.summary is not None
    assert ended.summary.error == "1 threads not written (rolled back): a: disk full"
    assert (ended.threads_done, ended.comments_done, ended.summary.comments) == (1, 1, 0)
