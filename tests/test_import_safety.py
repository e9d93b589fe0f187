"""`livethread import` on bad and hostile input, run twice, dry, and with a thread map: a real
process on a real SQLite database."""

from __future__ import annotations

import asyncio
import io
import sqlite3
from pathlib import Path

import pytest

from server.cli.copy import BAR_WIDTH
from server.cli.importing import Bar
from server.settings import Settings
from server.web.app import store_for
from tests.support.importing import DATA, import_, threads_of, with_site


def _imported_rows(database: str) -> int:
    conn = sqlite3.connect(database.removeprefix("sqlite:///"))
    try:
        return int(conn.execute("SELECT count(*) FROM imported_comments").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("fmt", "name"), [("disqus", "billion-laughs.xml"), ("wxr", "external-entity.xml")]
)
def test_hostile_xml_is_refused_with_a_clear_message_and_nothing_imported(
    tmp_path: Path, fmt: str, name: str
) -> None:
    """A billion-laughs file and an external-entity file exit 2 saying the XML declares
    entities; no thread, comment or remembered id is written."""
    db = with_site(tmp_path / "h.db")
    code, out, err = import_(db, fmt, DATA / name)
    assert code == 2
    assert "refused: the XML declares entities or external references" in err
    assert "root:" not in err + out  # /etc/passwd was not read into anything
    assert threads_of(db) == {}
    assert _imported_rows(db) == 0


def test_malformed_and_mistyped_files_exit_2_and_write_nothing(tmp_path: Path) -> None:
    """Broken XML, a WXR file given as Disqus, a missing file and an unknown site each exit 2
    with a message naming the problem."""
    db = with_site(tmp_path / "b.db")
    code, _, err = import_(db, "disqus", DATA / "broken.xml")
    assert code == 2 and "not well-formed XML" in err
    code, _, err = import_(db, "disqus", DATA / "wxr.xml")
    assert code == 2 and "not a Disqus export" in err
    code, _, err = import_(db, "remark42", DATA / "disqus.xml")
    assert code == 2 and "line 1: not JSON" in err
    code, _, err = import_(db, "wxr", tmp_path / "absent.xml")
    assert code == 2 and "cannot read" in err
    code, _, err = import_(db, "wxr", DATA / "wxr.xml", site="nosuch")
    assert code == 2 and "no site 'nosuch'" in err
    assert threads_of(db) == {}
    assert _imported_rows(db) == 0


def test_a_second_import_adds_nothing(tmp_path: Path) -> None:
    """Running the same import again writes no comment and no event: source ids are
    remembered, and the summary says how many were there already."""
    db = with_site(tmp_path / "twice.db")
    assert import_(db, "disqus", DATA / "disqus.xml")[0] == 0
    before = threads_of(db)
    code, out, err = import_(db, "disqus", DATA / "disqus.xml")
    assert code == 0, err
    assert "imported 0 comments into 0 threads" in out and "8 comments already imported" in out
    after = threads_of(db)
    assert {t: s.state.seq for t, s in after.items()} == {t: s.state.seq for t, s in before.items()}
    assert {t: list(s.comments) for t, s in after.items()} == {
        t: list(s.comments) for t, s in before.items()
    }


def test_a_comment_named_but_not_written_is_written_by_the_next_run(tmp_path: Path) -> None:
    """Ids are remembered before a thread is written: if a run stopped after that, the next one
    writes the missing comments under the ids already given, once."""
    db = with_site(tmp_path / "resume.db")

    async def remember_only() -> None:
        store = store_for(Settings(database=db))
        await store.open()
        try:
            await store.imports.remember("news", "wxr", [("1", "given-1")])
        finally:
            await store.close()

    asyncio.run(remember_only())
    code, _, err = import_(db, "wxr", DATA / "wxr.xml")
    assert code == 0, err
    (thread,) = threads_of(db).values()
    assert "given-1" in thread.comments and thread.comments["given-1"].author_name == "Mike"
    assert len(thread.comments) == 5 and thread.state.seq == 5


def test_dry_run_reports_and_writes_nothing(tmp_path: Path) -> None:
    """--dry-run reads the whole file and says what it would import; nothing is written."""
    db = with_site(tmp_path / "dry.db")
    code, out, err = import_(db, "disqus", DATA / "disqus.xml", "--dry-run")
    assert code == 0, err
    assert out.startswith("dry run: would import 8 comments into 2 threads of news")
    assert threads_of(db) == {}
    assert _imported_rows(db) == 0


def test_a_map_file_names_the_threads(tmp_path: Path) -> None:
    """--map sends a source thread (by its id, or by its URL) to the thread id it names."""
    db = with_site(tmp_path / "map.db")
    mapping = tmp_path / "map.csv"
    mapping.write_text(
        "# source,thread\n5001,bridge\nhttps://news.example/2019/04/budget-day/,budget-2019\n",
        encoding="utf-8",
    )
    code, _, err = import_(db, "disqus", DATA / "disqus.xml", "--map", str(mapping))
    assert code == 0, err
    assert sorted(threads_of(db)) == ["bridge", "budget-2019"]
    as_json = tmp_path / "map.json"
    as_json.write_text('{"412": "nato"}', encoding="utf-8")
    code, _, err = import_(db, "wxr", DATA / "wxr.xml", "--map", str(as_json))
    assert code == 0, err
    assert "nato" in threads_of(db)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_is_drawn_in_place_on_a_terminal_only() -> None:
    """On a terminal the bar is redrawn on one line and ended with a newline; elsewhere the
    summary alone is printed."""
    terminal = _Terminal()
    bar = Bar(terminal)
    bar.progress("harbour", 3, 12)
    bar.progress("budget", 12, 12)
    bar.finish()
    drawn = terminal.getvalue()
    assert drawn.count("\r") == 2 and drawn.endswith("\n")
    assert "3/12 comments" in drawn and "[" + "#" * BAR_WIDTH + "] 12/12" in drawn
    plain = io.StringIO()
    quiet = Bar(plain)
    quiet.progress("harbour", 3, 12)
    quiet.finish()
    assert plain.getvalue() == ""
