"""`livethread backup PATH`: a consistent copy of a SQLite database a real server is writing to."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path

import httpx

from server.adapters.sqlite_backup import STEP_PAGES
from server.model import ThreadKey
from server.settings import Settings
from tests.support.clients import WAIT, comment_json, decode_json, provision
from tests.support.command import TIMEOUT, livethread
from tests.support.seeding import seed
from tests.support.server import serve_process
from tests.support.waiting import eventually

# Posts acknowledged before the backup starts.
BEFORE = 300
# An older thread, so the copy takes several steps of the backup, with posts committing
# between them.
ARCHIVE = 8000


async def _post_forever(http: httpx.AsyncClient, base: str, acknowledged: list[str]) -> None:
    """Post one comment after another, recording each id once its 201 (so its commit) is in."""
    n = 0
    while True:
        answer = await http.post(f"{base}/api/v1/comments", json=comment_json(f"Post {n}"))
        assert answer.status_code == 201, answer.text
        comment = decode_json(answer.content)["comment"]
        assert isinstance(comment, dict)
        acknowledged.append(str(comment["id"]))
        n += 1


async def _run_backup(database: str, target: Path) -> tuple[int, str]:
    """`livethread backup TARGET --database DATABASE` as its own process: exit code, output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "backup", str(target), "--database", database,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    async with asyncio.timeout(TIMEOUT):
        out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_backup_of_a_busy_server_is_whole_and_serves(tmp_path: Path) -> None:
    """While a server process commits posts non-stop, `livethread backup` copies its SQLite file:
    the copy passes integrity_check, holds every post acknowledged before the backup began,
    and `livethread serve` on the copy serves them; the server was acknowledging posts
    throughout."""
    live, copy = tmp_path / "live.db", tmp_path / "backup.db"
    database = f"sqlite:///{live}"
    await provision(Settings(database=database))
    await seed(Settings(database=database), ThreadKey("news", "archive"), ARCHIVE)
    acknowledged: list[str] = []
    async with (
        serve_process("--database", database, "--no-workers") as server,
        httpx.AsyncClient(timeout=WAIT) as http,
    ):
        writing = asyncio.create_task(_post_forever(http, server.http, acknowledged))
        try:
            await eventually(lambda: len(acknowledged) >= BEFORE or writing.done(), within=60)
            before = list(acknowledged)
            code, out = await _run_backup(database, copy)
            during = len(acknowledged) - len(before)
            assert not writing.done(), writing
        finally:
            writing.cancel()
            await asyncio.gather(writing, return_exceptions=True)
    assert code == 0, out
    assert f"to {copy}" in out
    pages = int(out.split(": ")[-1].split(" pages")[0])
    assert pages > 2 * STEP_PAGES, out
    print(f"\n{out.strip()}; {during} posts acknowledged while it ran")
    assert during > 0, "the server acknowledged no post while the backup ran"

    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = {
            row[0] for row in conn.execute("SELECT id FROM comments WHERE thread = 'article-1'")
        }
        archived = conn.execute("SELECT count(*) FROM comments WHERE thread = 'archive'")
        assert archived.fetchone() == (ARCHIVE,)
    conn.close()
    assert set(before) <= stored
    # A snapshot: nothing that was never acknowledged (at most the one in flight at the end).
    assert len(stored) <= len(acknowledged) + 1

    async with (
        serve_process("--database", f"sqlite:///{copy}", "--no-workers") as restored,
        httpx.AsyncClient(timeout=WAIT) as http,
    ):
        answer = await http.get(
            f"{restored.http}/api/v1/threads", params={"site": "news", "thread": "article-1"}
        )
    assert answer.status_code == 200, answer.text
    served = {str(c["id"]) for c in answer.json()["comments"]}
    assert served == stored


def test_backup_refuses_postgresql_and_names_its_tools(tmp_path: Path) -> None:
    """A PostgreSQL database is refused with exit 2, pointing to pg_dump and pg_basebackup,
    without printing its password; nothing is written."""
    target = tmp_path / "backup.db"
    url = "postgresql://livethread:s3cret@db.example:5432/livethread"
    result = livethread("backup", str(target), "--database", url)
    assert result.returncode == 2, result
    assert "pg_dump" in result.stderr and "pg_basebackup" in result.stderr
    assert "s3cret" not in result.stderr
    assert not target.exists()


def test_backup_of_a_missing_database_says_where_it_looked(tmp_path: Path) -> None:
    """A SQLite database that does not exist is refused with exit 2 naming it; none is made."""
    missing = tmp_path / "nothing.db"
    result = livethread("backup", str(tmp_path / "b.db"), "--database", f"sqlite:///{missing}")
    assert result.returncode == 2, result
    assert str(missing) in result.stderr
    assert not missing.exists() and not (tmp_path / "b.db").exists()
