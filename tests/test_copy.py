"""`livethread copy`: a SQLite deployment copied to PostgreSQL and back, whole and verified;
seqs and positions kept, so a reader resumes on the copy without a resync; a second copy adds
nothing; a bad URL exits 2 naming it, a copy that differs exits 1 naming what."""

from __future__ import annotations

import io
import time
from pathlib import Path

import httpx
import msgspec
import pytest

from server import events
from server.accounts.ports import Account, SignIn
from server.archive import copying
from server.archive.ports import THREADS, ThreadRow
from server.cli.copy import BAR_WIDTH, Report
from server.composition import archive_for, store_for
from server.model import Moderator, Site, ThreadKey, ThreadMeta
from server.moderation.ports import AuditEntry, Ban
from server.moderation.ports import Report as ReaderReport
from server.moderation.rules import Rules
from server.reactions.ports import ReactionChange
from server.settings import Settings
from server.tokens import token_hash
from tests.contract.records import post, record
from tests.support import command
from tests.support.clients import WAIT, reader
from tests.support.importing import DATA, import_, with_site
from tests.support.parts import new_comment, use_cases
from tests.support.postgres import PostgresServer
from tests.support.server import serve
from workers.webhooks.ports import Delivery, Webhook

NEWS = Site(name="news", origins=("https://news.example",))
OTHER = Site(name="other", premoderate=True)
MIA = Moderator(name="Mia", site="news")
BOSS = Moderator(name="Boss", site="news", role="admin")
BADGES = ("staff", "author")
THREADS_SHOWN = ("a", "b")
BAN = Ban(site="news", key="account", value="u1", mode="shadow", by="Mia", at=1.0, label="Ann")


async def deployment(url: str) -> None:
    """A deployment with something in every table: sites, moderators (one an admin), rules,
    comments of every status (flagged, held, edited, removed, deleted, one with badges), a
    locked thread, titles, a byline, a webhook
    with deliveries sent and pending, a worker's cursor, reply mails sent, secrets, addresses,
    sign-in settings, an account seen twice, a reader's report, audit entries, bans, a
    shadow-banned comment and one with its poster's address hash, and readers' reactions (one
    set and cleared, its count back at 0)."""
    async with use_cases(url, NEWS, OTHER) as (store, _, comments):
        await store.moderators.put(MIA, token_hash("mia-token"))
        await store.moderators.put(BOSS, token_hash("boss-token"))
        await store.rules.put("news", Rules(suspect=("spam",)))
        await store.webhooks.put(
            Webhook(id="w1", site="news", url="https://hooks.example/in", secret="s3")
        )
        first = await comments.post(new_comment("First!", thread="a", email="ann@mail.example"))
        reply = await comments.post(new_comment("A reply", thread="a", parent=first.comment.id))
        await comments.post(new_comment("Buy spam here", thread="a"))
        gone = await comments.post(new_comment("Oops", thread="b"))
        await comments.post(new_comment("Held", site="other", thread="c"))
        await comments.edit(first.comment.id, "First, edited", moderator=None,
                            edit_token=first.edit_token)  # fmt: skip
        await comments.moderate(reply.comment.id, "remove", MIA, reason="rude")
        await comments.delete(gone.comment.id, moderator=None, edit_token=gone.edit_token)
        await comments.set_locked(ThreadKey("news", "b"), True, MIA)
        await store.threads.set_meta(
            ThreadKey("news", "a"), ThreadMeta(title="Article A", url="https://news.example/a")
        )
        await store.threads.set_byline(ThreadKey("news", "a"), "Ann Author")
        log = await store.log.after(0, 100)
        await store.deliveries.enqueue([
            Delivery(id=f"w1:{e.position}", webhook_id="w1", position=e.position, site=e.site,
                     thread=e.thread, payload=e.payload)
            for e in log
        ])  # fmt: skip
        await store.deliveries.settle(f"w1:{log[0].position}", "sent", 1, time.time(), None)
        assert await store.cursors.lease("webhooks", "old-host", time.time() + 30, time.time())
        assert await store.cursors.advance("webhooks", "old-host", log[-1].position)
        await store.subscriptions.mark_notified(reply.comment.id, "ann@mail.example")
        await store.secrets.get("signing")
        await store.addresses.confirmation_sent("address-hash", "news", time.time())
        await store.sign_ins.put(
            SignIn(site="news", audience="news-aud", secret="k", roles=("moderator",))
        )
        ann = Account(site="news", id="u1", name="Ann", email="ann@mail.example")
        await store.accounts.seen(ann, "ann", time.time())
        await store.accounts.seen(ann, "ann", time.time() + 1)
        # Posted now: a server on the copy forgets the addresses of comments older than its
        # retention.
        signed = record("signed-1", site="news", thread="d", created_at=time.time())
        await post(store, msgspec.structs.replace(
            signed, account="u1", author_key="key-u1", author_avatar="https://a.example/u1.png",
            author_badges=BADGES, author_address="address-u1",
        ))  # fmt: skip
        held = record("shadow-1", site="news", thread="d", status="pending")
        await post(store, msgspec.structs.replace(held, account="u1", shadow=True))
        await store.bans.put(BAN)
        await store.bans.put(msgspec.structs.replace(BAN, value="address-u1", key="address"))
        like = ReactionChange(
            site="news", thread="a", comment_id=first.comment.id, reader="r1", kind="like", on=True
        )
        love = msgspec.structs.replace(like, kind="love")
        await store.reactions.apply([like, msgspec.structs.replace(like, reader="r2"), love])
        await store.reactions.apply([msgspec.structs.replace(love, on=False)])
        await store.reports.add(ReaderReport(
            site="news", thread="d", comment_id=signed.id, reporter="r1", reason="spam",
            text="ads", at=time.time(),
        ))  # fmt: skip
        await store.audit.append(
            AuditEntry(site="news", at=time.time(), by="mia", action="ban", subject="account:u1")
        )
        async with store.threads.transaction(signed.key) as tx:
            await tx.audit(AuditEntry(
                site="news", at=time.time(), by="reports", action="hold", thread="d",
                comment_id=signed.id, reason="reported",
            ))  # fmt: skip


async def summary(url: str) -> copying.Summary:
    store = store_for(Settings(database=url))
    await store.open()
    try:
        return await copying.summarise(archive_for(store))
    finally:
        await store.close()


async def snapshots(url: str) -> dict[str, object]:
    """Each shown thread's snapshot, from a server on the store at `url`."""
    settings = Settings(database=url, rate_limit=False, run_workers=False)
    found: dict[str, object] = {}
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        for thread in THREADS_SHOWN:
            answer = await http.get(f"/api/v1/threads?site=news&thread={thread}")
            assert answer.status_code == 200, answer.text
            found[thread] = answer.json()
    return found


async def audits_follow(url: str, copied: int) -> None:
    """The store at `url` holds `copied` audit entries, and one appended to it takes an id
    after theirs."""
    store = store_for(Settings(database=url))
    await store.open()
    try:
        kept = [e for site in (NEWS, OTHER) for e in await store.audit.of_site(site.name, 0, 100)]
        assert len(kept) == copied
        entry = AuditEntry(site="news", at=time.time(), by="mia", action="unban")
        assert (await store.audit.append(entry)).id > max(e.id for e in kept)
    finally:
        await store.close()


async def roles_and_badges_kept(url: str) -> None:
    """The store at `url` holds the admin's role, the thread's byline, the comment's badges and
    address hash, the shadow-banned comment and the bans of `deployment`."""
    store = store_for(Settings(database=url))
    await store.open()
    try:
        assert await store.moderators.by_token(token_hash("boss-token")) == BOSS
        assert await store.moderators.by_token(token_hash("mia-token")) == MIA
        assert (await store.threads.state(ThreadKey("news", "a"))).byline == "Ann Author"
        signed = await store.comments.get("signed-1")
        assert signed is not None and signed.author_badges == BADGES
        assert signed.author_address == "address-u1"
        [held] = await store.comments.shadowed(ThreadKey("news", "d"), "u1", None)
        assert held.id == "shadow-1"
        bans = await store.bans.of_site("news", time.time())
        assert [(b.key, b.value, b.mode) for b in bans] == [
            ("address", "address-u1", "shadow"),
            ("account", "u1", "shadow"),
        ]
    finally:
        await store.close()


async def reactions_kept(url: str) -> None:
    """The store at `url` holds the reactions of `deployment`: its counts and version as they
    were (not counted again), each reader's own."""
    store = store_for(Settings(database=url))
    await store.open()
    try:
        key = ThreadKey("news", "a")
        [found] = await store.reactions.of_thread(key)
        assert (found.version, found.counts) == (4, {"like": 2})
        assert await store.reactions.of_reader(key, "r1") == {found.comment_id: ["like"]}
        assert await store.reactions.of_thread(ThreadKey("news", "b")) == []
    finally:
        await store.close()


def copy(source: str, target: str, *more: str) -> tuple[int, str, str]:
    done = command.livethread("copy", source, target, *more)
    return done.returncode, done.stdout, done.stderr


async def test_a_copy_to_postgresql_and_back_is_whole_and_resumable(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    """SQLite → PostgreSQL: the same rows, seqs and log checksum; again: nothing added; the
    snapshots served from the copy are the source's; a reader resumes there with `since=`
    and gets the missed events, no resync; PostgreSQL → a new SQLite file: the same again."""
    source, target = f"sqlite:///{tmp_path / 'source.db'}", postgres.database()
    await deployment(source)
    before = await summary(source)
    assert before.tables["events"].rows >= 7 and before.threads["news/a"].comments == 3
    assert before.tables["sign_ins"].rows == before.tables["accounts"].rows == 1
    # Two audit entries of ours, and the use-cases' own of their decisions.
    assert before.tables["reports"].rows == 1 and before.tables["audit"].rows >= 2
    assert before.tables["bans"].rows == 2
    assert before.tables["reactions"].rows == 2 and before.tables["reaction_counts"].rows == 2
    assert before.tables["reaction_versions"].rows == 1

    code, out, err = copy(source, target, "--batch", "2")
    assert code == 0, err
    assert before.log_sha256 in out
    assert await summary(target) == before
    assert "events" in err  # a line per table when stderr is not a terminal
    await roles_and_badges_kept(target)
    await reactions_kept(target)

    code, out, err = copy(source, target)
    assert code == 0, err
    assert "(0 new)" in out
    assert await summary(target) == before

    assert await snapshots(target) == await snapshots(source)
    await audits_follow(target, before.tables["audit"].rows)
    seq = before.threads["news/a"].seq
    settings = Settings(database=target, rate_limit=False, run_workers=False)
    async with serve(settings) as running, reader(running.ws("news", "a", since=seq - 2)) as r:
        replayed = await r.events(2)
        assert [e.seq for e in replayed] == [seq - 1, seq]
        assert not any(isinstance(e, events.Resync) for e in replayed)

    back = f"sqlite:///{tmp_path / 'back.db'}"
    code, out, err = copy(target, back)
    assert code == 0, err
    returned = await summary(back)
    assert returned.log_sha256 == before.log_sha256
    assert returned.threads == before.threads
    assert returned.tables["reaction_counts"] == before.tables["reaction_counts"]
    await roles_and_badges_kept(back)
    await reactions_kept(back)


async def import_runs(url: str) -> list[tuple[str, str, int | None]]:
    """The site news's import runs at `url`: file, state, comments written."""
    store = store_for(Settings(database=url))
    await store.open()
    try:
        runs = await store.import_runs.recent("news", 10)
        return [(r.source_name, r.state, r.summary.comments if r.summary else None) for r in runs]
    finally:
        await store.close()


async def test_a_copied_deployment_remembers_its_imports_so_a_re_import_adds_nothing(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    """An import, then a copy to PostgreSQL: the source ids and the runs are copied (checked
    with every table), so the same import into the copy adds no comment, and the copy's admin
    page lists the source's run beside the new one."""
    source, target = with_site(tmp_path / "source.db"), postgres.database()
    code, out, err = import_(source, "disqus", DATA / "disqus.xml")
    assert code == 0 and "imported 8 comments" in out, err
    before = await summary(source)
    assert before.tables["imported_comments"].rows == 8
    assert before.tables["import_runs"].rows == 1
    code, out, err = copy(source, target)
    assert code == 0, err
    assert await summary(target) == before

    code, out, err = import_(target, "disqus", DATA / "disqus.xml")
    assert code == 0, err
    assert "imported 0 comments into 0 threads" in out and "8 comments already imported" in out
    after = await summary(target)
    assert after.threads == before.threads
    assert after.tables["comments"] == before.tables["comments"]
    assert after.tables["imported_comments"] == before.tables["imported_comments"]
    assert await import_runs(target) == [
        ("disqus.xml", "finished", 0),
        ("disqus.xml", "finished", 8),
    ]


@pytest.mark.parametrize("which", ["SOURCE_URL", "TARGET_URL"])
def test_a_bad_url_exits_2_naming_the_argument(tmp_path: Path, which: str) -> None:
    """A URL that names no store: one line naming the argument, exit 2."""
    good = f"sqlite:///{tmp_path / 'there.db'}"
    assert command.livethread("migrate", "--database", good).returncode == 0
    args = ("mysql://x/y", good) if which == "SOURCE_URL" else (good, "mysql://x/y")
    code, _, err = copy(*args)
    assert code == 2
    assert err.strip().splitlines() == [err.strip()] and which in err and "mysql" in err


def test_a_missing_source_file_exits_2(tmp_path: Path) -> None:
    """A SQLite source that does not exist is not made: exit 2 naming SOURCE_URL."""
    code, _, err = copy(f"sqlite:///{tmp_path / 'none.db'}", f"sqlite:///{tmp_path / 'new.db'}")
    assert code == 2 and "SOURCE_URL" in err
    assert not (tmp_path / "none.db").exists()


def test_a_target_in_no_folder_exits_2(tmp_path: Path) -> None:
    """A SQLite target whose folder does not exist: exit 2 naming TARGET_URL."""
    source = f"sqlite:///{tmp_path / 'there.db'}"
    assert command.livethread("migrate", "--database", source).returncode == 0
    code, _, err = copy(source, f"sqlite:///{tmp_path / 'no' / 'such.db'}")
    assert code == 2 and "TARGET_URL" in err and len(err.strip().splitlines()) == 1


async def test_a_copy_that_differs_exits_1_naming_what(tmp_path: Path) -> None:
    """A target that already held another version of a thread keeps it (nothing is
    overwritten), and the check says so: exit 1 naming the thread and the table."""
    source, target = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    await deployment(source)
    store = store_for(Settings(database=target))
    await store.open()
    try:
        row = ThreadRow(site="news", thread="a", seq=99, locked=False, title="", url="", byline="")
        await archive_for(store).write(THREADS, [row])
    finally:
        await store.close()
    code, _, err = copy(source, target)
    assert code == 1
    assert "thread news/a" in err and "table threads" in err


def test_on_a_terminal_the_progress_is_a_bar_redrawn_in_place() -> None:
    """On a terminal each table's bar is redrawn on its line; elsewhere a line per table."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for out, live in ((Terminal(), True), (io.StringIO(), False)):
        report = Report(out)
        report.progress(THREADS, 0, 4)
        report.progress(THREADS, 2, 4)
        report.progress(THREADS, 4, 4)
        report.finish()
        if live:
            assert out.getvalue().count("\r") == 3 and "#" * BAR_WIDTH in out.getvalue()
        else:
            assert out.getvalue().splitlines() == [f"threads{' ' * 14}[{'#' * BAR_WIDTH}] 4/4 rows"]
