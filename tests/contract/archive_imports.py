"""The archive contract's rows of the import tables (test_archive.py's `SAMPLE` takes them),
and what the ports must read of them once copied."""

from __future__ import annotations

import msgspec

from server.archive import ports as a
from server.importing.ports import RunSummary
from server.storage import Storage
from tests.contract.records import SITE

RUN_SUMMARY = RunSummary(threads=2, comments=2, already=1, skipped={"no text": 1})

# In key order, text by code point.
IMPORT_SAMPLE: dict[str, list[a.Row]] = {
    "imported_comments": [
        a.ImportedRow(site=SITE, source="disqus", source_id="9", comment_id="c1"),
        a.ImportedRow(site=SITE, source="disqus", source_id="é", comment_id="c2"),
        a.ImportedRow(site=SITE, source="wxr", source_id="10", comment_id="c3"),
    ],
    # One run finished (its summary JSON as the stores write it), one still going.
    "import_runs": [
        a.ImportRunRow(
            id="r1", site=SITE, format="wxr", source_name="blog.xml", started_at=10.5,
            updated_at=12.0, threads_total=2, comments_total=3, threads_done=2,
            comments_done=3, summary=msgspec.json.encode(RUN_SUMMARY).decode(),
        ),
        a.ImportRunRow(
            id="r2", site=SITE, format="disqus", source_name="é.xml", started_at=20.0,
            updated_at=21.0, threads_total=5, comments_total=50, threads_done=1,
            comments_done=7, summary=None,
        ),
    ],
}  # fmt: skip


async def the_ports_read_copied_imports(storage: Storage) -> None:
    """Copied import rows are the store's own: the source ids are known (a re-import adds
    nothing), the comments imported, the runs listed as they were (one still going)."""
    assert await storage.imports.known(SITE, "disqus", ["9", "é", "10"]) == {"9": "c1", "é": "c2"}
    assert await storage.imports.imported(["c1", "c3", "c4"]) == {"c1", "c3"}
    runs = await storage.import_runs.recent(SITE, 10)
    assert [(r.id, r.state, r.source_name, r.comments_done) for r in runs] == [
        ("r2", "running", "é.xml", 7),
        ("r1", "finished", "blog.xml", 3),
    ]
    assert runs[1].summary == RUN_SUMMARY
