"""The `ImportRuns` contract: a run is listed from its start, its progress and its end are
read back as written, a finished run stays finished, and a site's
runs come newest first, other sites' apart."""

from __future__ import annotations

from server.importing.ports import RunSummary
from server.storage import Storage

SUMMARY = RunSummary(
    threads=2, comments=40, already=3, skipped={"no text": 2, "a pingback, not a comment": 1}
)


async def test_a_run_is_listed_running_then_with_its_progress_then_finished(
    storage: Storage,
) -> None:
    """A started run reads back running with its totals and nothing done; progress moves its
    counts and time; its end keeps the summary, and later progress changes nothing."""
    runs = storage.import_runs
    run_id = await runs.start("news", "disqus", "export é.xml", 3, 45, 100.0)
    [started] = await runs.recent("news", 10)
    assert (started.id, started.site, started.format, started.source_name) == (
        run_id, "news", "disqus", "export é.xml",
    )  # fmt: skip
    assert (started.threads_total, started.comments_total) == (3, 45)
    assert (started.threads_done, started.comments_done, started.started_at) == (0, 0, 100.0)
    assert (started.state, started.summary, started.updated_at) == ("running", None, 100.0)

    await runs.progress(run_id, 1, 20, 101.5)
    [going] = await runs.recent("news", 10)
    assert (going.threads_done, going.comments_done, going.updated_at) == (1, 20, 101.5)
    assert going.state == "running"

    await runs.finish(run_id, SUMMARY, 103.0)
    await runs.progress(run_id, 2, 30, 104.0)
    await runs.finish(run_id, RunSummary(error="late"), 105.0)
    [done] = await runs.recent("news", 10)
    assert (done.state, done.summary, done.updated_at) == ("finished", SUMMARY, 103.0)
    assert (done.threads_done, done.comments_done) == (1, 20)


async def test_a_run_that_ended_in_an_error_is_failed(storage: Storage) -> None:
    """A summary with an error makes the run failed, the error kept as written."""
    runs = storage.import_runs
    run_id = await runs.start("news", "wxr", "blog.xml", 1, 1, 1.0)
    failed = RunSummary(error="thread t not written (rolled back): disk full")
    await runs.finish(run_id, failed, 2.0)
    [run] = await runs.recent("news", 1)
    assert (run.state, run.summary) == ("failed", failed)


async def test_recent_runs_are_newest_first_per_site_up_to_the_limit(storage: Storage) -> None:
    """`recent` lists only the site's runs, newest start first, at most `limit`; an unknown
    run's progress or end changes nothing."""
    runs = storage.import_runs
    ids = [await runs.start("news", "wxr", f"{n}.xml", 1, 1, float(n)) for n in (5, 1, 9, 3)]
    await runs.start("other", "wxr", "other.xml", 1, 1, 50.0)
    await runs.progress("no-such-run", 1, 1, 60.0)
    await runs.finish("no-such-run", SUMMARY, 60.0)
    found = await runs.recent("news", 3)
    assert [r.source_name for r in found] == ["9.xml", "5.xml", "3.xml"]
    assert [r.id for r in found] == [ids[2], ids[0], ids[3]]
    assert len({*ids}) == 4
    assert [r.source_name for r in await runs.recent("other", 10)] == ["other.xml"]
    assert await runs.recent("none", 10) == []
    assert await runs.recent("news", 0) == []
