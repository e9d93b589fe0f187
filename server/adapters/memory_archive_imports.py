"""The in-memory archive's import tables (server/archive/ports.py `IMPORTED`, `IMPORT_RUNS`):
their rows made from the `Tables` and back, kept apart from memory_archive.py for its size.
A run's summary is its JSON text, as the SQL stores keep it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import msgspec

from server.adapters.memory_tables import Tables
from server.archive import ports as a
from server.importing.ports import ImportRun, RunSummary
from server.storage import StoreError


def import_rows(tables: Tables, name: str) -> Iterator[a.Row]:
    """The rows of the import table `name`; StoreError for a table that is none of ours."""
    if name == "imported_comments":
        for (site, source, source_id), comment_id in tables.imported.items():
            yield a.ImportedRow(
                site=site, source=source, source_id=source_id, comment_id=comment_id
            )
    elif name == "import_runs":
        for run in tables.import_runs.values():
            fields = msgspec.structs.asdict(run)
            summary = run.summary
            fields["summary"] = None if summary is None else msgspec.json.encode(summary).decode()
            yield a.ImportRunRow(**fields)
    else:
        raise StoreError(f"no table {name!r}")


def import_writers(tables: Tables) -> dict[str, Callable[[a.Row], bool]]:
    """Writers of the import tables' rows, each True if the row was new."""

    def imported(row: a.Row) -> bool:
        assert isinstance(row, a.ImportedRow)
        key = (row.site, row.source, row.source_id)
        if key in tables.imported:
            return False
        tables.imported[key] = row.comment_id
        tables.imported_ids.add(row.comment_id)
        return True

    def run(row: a.Row) -> bool:
        assert isinstance(row, a.ImportRunRow)
        if row.id in tables.import_runs:
            return False
        fields = msgspec.structs.asdict(row)
        text = row.summary
        fields["summary"] = None if text is None else msgspec.json.decode(text, type=RunSummary)
        tables.import_runs[row.id] = ImportRun(**fields)
        return True

    return {"imported_comments": imported, "import_runs": run}
