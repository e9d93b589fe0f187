"""The Reports and AuditLog contract: readers' reports counted once per reader and comment, and
the audit log appended in id order, read per site by page and per comment, a comment's decision
kept by its thread's transaction if and only if it commits."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from server.model import Site
from server.moderation.ports import AuditEntry, Report
from server.storage import Storage, StoreError
from tests.contract.records import SITE, Boom, post, record, write

OTHER = "other-site"


async def _comments(storage: Storage, *ids: str) -> None:
    await storage.sites.put(Site(name=SITE))
    for n, comment_id in enumerate(ids):
        await post(storage, record(comment_id, created_at=1_700_000_000.0 + n))


def _report(comment_id: str, reporter: str, at: float, **fields: object) -> Report:
    return Report(
        site=SITE,
        thread="t1",
        comment_id=comment_id,
        reporter=reporter,
        reason=fields.get("reason", "spam"),  # type: ignore[arg-type]
        text=fields.get("text"),  # type: ignore[arg-type]
        at=at,
    )


def _entry(action: str, *, site: str = SITE, comment_id: str | None = None) -> AuditEntry:
    return AuditEntry(
        site=site,
        at=1_700_000_500.25,
        by="mia",
        action=action,
        thread="t1" if comment_id else None,
        comment_id=comment_id,
        subject=None if comment_id else "email:ann@mail.example",
        reason="é, why",
    )


async def test_a_report_counts_once_per_reader_and_comment(storage: Storage) -> None:
    """add() keeps a report (True); the same reader's second report of that comment is not kept
    (False), whatever its reason; another reader's is, and so is the first reader's of another
    comment; of_comment gives a comment's reports oldest first, as stored."""
    await _comments(storage, "c1", "c2")
    first = _report("c1", "reader-b", 10.0, reason="abuse", text="rude é")
    assert await storage.reports.add(first) is True
    assert await storage.reports.add(_report("c1", "reader-b", 11.0, reason="other")) is False
    earlier = _report("c1", "reader-a", 5.5, reason="off_topic")
    assert await storage.reports.add(earlier) is True
    elsewhere = _report("c2", "reader-b", 12.0)
    assert await storage.reports.add(elsewhere) is True
    assert await storage.reports.of_comment("c1") == [earlier, first]
    assert await storage.reports.of_comment("c2") == [elsewhere]
    assert await storage.reports.of_comment("nowhere") == []


async def test_a_report_of_a_comment_the_store_lacks_is_refused(storage: Storage) -> None:
    """A report of no stored comment: StoreError, nothing kept."""
    await _comments(storage)
    with pytest.raises(StoreError):
        await storage.reports.add(_report("ghost", "reader-a", 1.0))
    assert await storage.reports.of_comment("ghost") == []


async def test_appended_entries_take_increasing_ids_and_page_by_site(storage: Storage) -> None:
    """append() returns the entry with the store's id, larger than every earlier one (an id the
    caller gave is ignored); of_site gives only that site's entries above `after` in id order,
    newest those below `before` newest first, each at most `limit`."""
    await storage.sites.put(Site(name=SITE))
    kept: list[AuditEntry] = []
    for n in range(5):
        site = OTHER if n == 2 else SITE
        given = replace(_entry(f"ban-{n}", site=site), id=1000)
        got = await storage.audit.append(given)
        assert got == replace(given, id=got.id)
        kept.append(got)
    ids = [e.id for e in kept]
    assert ids == sorted(ids) and len(set(ids)) == 5 and ids[0] > 0
    ours = [e for e in kept if e.site == SITE]
    assert await storage.audit.of_site(SITE, 0, 100) == ours
    assert await storage.audit.of_site(SITE, 0, 2) == ours[:2]
    assert await storage.audit.of_site(SITE, ours[1].id, 2) == ours[2:]
    assert await storage.audit.of_site(SITE, ours[-1].id, 10) == []
    assert await storage.audit.of_site(SITE, 0, 0) == []
    assert await storage.audit.of_site(OTHER, 0, 10) == [kept[2]]
    assert await storage.audit.of_site("nowhere", 0, 10) == []
    newest = list(reversed(ours))
    assert await storage.audit.newest(SITE, None, 100) == newest
    assert await storage.audit.newest(SITE, None, 2) == newest[:2]
    assert await storage.audit.newest(SITE, newest[1].id, 10) == newest[2:]
    assert await storage.audit.newest(SITE, newest[-1].id, 10) == []
    assert await storage.audit.newest(SITE, None, 0) == []
    assert await storage.audit.newest(OTHER, None, 10) == [kept[2]]


async def test_a_decision_audited_in_a_committed_transaction_is_kept(storage: Storage) -> None:
    """tx.audit() inside a thread's transaction that commits: the entry is in the log, after
    the ones appended before it, read by comment and by site in id order."""
    await _comments(storage, "c1")
    before = await storage.audit.append(_entry("hold", comment_id="c1"))
    rec = record("c2")
    async with storage.threads.transaction(rec.key) as tx:
        await write(tx, rec)
        await tx.audit(_entry("remove", comment_id="c1"))
        await tx.audit(_entry("approve", comment_id="c2"))
    of_c1 = await storage.audit.of_comment("c1")
    assert [e.action for e in of_c1] == ["hold", "remove"]
    assert of_c1[0] == before and of_c1[1].id > before.id
    assert of_c1[1] == replace(_entry("remove", comment_id="c1"), id=of_c1[1].id)
    [of_c2] = await storage.audit.of_comment("c2")
    assert of_c2.id > of_c1[1].id
    assert await storage.audit.of_site(SITE, 0, 10) == [*of_c1, of_c2]
    assert await storage.audit.of_comment("nowhere") == []


async def test_a_decision_audited_in_a_rolled_back_transaction_leaves_nothing(
    storage: Storage,
) -> None:
    """tx.audit() inside a thread's transaction that raises: no entry is kept, and entries
    appended afterwards still take ids above every earlier one."""
    await _comments(storage, "c1")
    first = await storage.audit.append(_entry("ban-0"))
    rec = record("c1")

    async def doomed() -> None:
        async with storage.threads.transaction(rec.key) as tx:
            await tx.audit(_entry("remove", comment_id="c1"))
            raise Boom

    with pytest.raises(Boom):
        await doomed()
    assert await storage.audit.of_comment("c1") == []
    assert await storage.audit.of_site(SITE, 0, 10) == [first]
    after = await storage.audit.append(_entry("ban-1"))
    assert after.id > first.id
    assert await storage.audit.of_site(SITE, 0, 10) == [first, after]
