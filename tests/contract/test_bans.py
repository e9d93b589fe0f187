"""The Bans and Expiry contract: one ban per person and site (a new one replaces it under a new
id), looked up by the person's keys while it lasts, listed newest first, lifted once; ended bans
and old comments' address hashes forgotten in bulk, nothing else touched."""

from __future__ import annotations

import msgspec

from server.model import ThreadKey
from server.moderation.ports import Ban, BanKey, BanMode
from server.storage import Storage
from tests.contract.records import SITE, post, record

OTHER = "other-site"
NOW = 1_700_000_000.0


def _ban(
    key: BanKey,
    value: str,
    *,
    site: str = SITE,
    mode: BanMode = "ban",
    until: float | None = None,
    at: float = NOW,
) -> Ban:
    return Ban(
        site=site,
        key=key,
        value=value,
        mode=mode,
        until=until,
        reason="spam é",
        by="mia",
        at=at,
        label=f"Name of {value}",
    )


async def test_put_keeps_one_ban_per_person_each_time_under_a_new_id(storage: Storage) -> None:
    """put() returns the ban with the store's id (an id the caller gave is ignored); a second
    ban on the same site, key and value replaces the first under a larger id; the same key and
    value on another site, or the same value under another key, is another ban."""
    first = await storage.bans.put(msgspec.structs.replace(_ban("email", "ann@x.example"), id=99))
    assert first == msgspec.structs.replace(_ban("email", "ann@x.example"), id=first.id)
    assert first.id > 0
    elsewhere = await storage.bans.put(_ban("email", "ann@x.example", site=OTHER))
    other_key = await storage.bans.put(_ban("account", "ann@x.example"))
    again = _ban("email", "ann@x.example", mode="suspend", until=NOW + 60, at=NOW + 1)
    second = await storage.bans.put(again)
    assert second == msgspec.structs.replace(again, id=second.id)
    assert second.id > max(first.id, elsewhere.id, other_key.id)
    assert await storage.bans.of_site(SITE, NOW) == [second, other_key]
    assert await storage.bans.matching(SITE, [("email", "ann@x.example")], NOW) == [second]
    assert await storage.bans.of_site(OTHER, NOW) == [elsewhere]
    assert await storage.bans.lift(SITE, first.id) is None  # replaced: gone


async def test_matching_finds_the_sites_current_bans_on_the_given_keys(storage: Storage) -> None:
    """matching() gives the site's bans on any of the (key, value) pairs asked, not one on
    another pair, another site's, or one whose `until` is not after `now`."""
    account = await storage.bans.put(_ban("account", "acct-1"))
    email = await storage.bans.put(_ban("email", "ann@x.example", mode="shadow", until=NOW + 10))
    await storage.bans.put(_ban("address", "hash-1", mode="suspend", until=NOW))  # ends at now
    await storage.bans.put(_ban("address", "hash-2"))  # not asked
    await storage.bans.put(_ban("account", "acct-1", site=OTHER))
    await storage.bans.put(_ban("email", "acct-1"))  # that value under another key
    keys: list[tuple[BanKey, str]] = [
        ("account", "acct-1"),
        ("email", "ann@x.example"),
        ("address", "hash-1"),
    ]
    found = await storage.bans.matching(SITE, keys, NOW)
    assert sorted(found, key=lambda b: b.id) == [account, email]
    later = await storage.bans.matching(SITE, keys, NOW + 10)
    assert later == [account]
    earlier = await storage.bans.matching(SITE, keys, NOW - 1)
    assert len(earlier) == 3 and {b.value for b in earlier} == {"acct-1", "ann@x.example", "hash-1"}
    assert await storage.bans.matching(SITE, [], NOW) == []
    assert await storage.bans.matching(SITE, [("account", "nobody")], NOW) == []
    assert await storage.bans.matching("nowhere", keys, NOW) == []


async def test_of_site_lists_the_current_bans_newest_first(storage: Storage) -> None:
    """of_site() gives the site's bans not ended at `now`, newest (largest id) first; ended
    ones and other sites' are not listed."""
    kept = [await storage.bans.put(_ban("account", f"acct-{n}")) for n in range(3)]
    suspended = await storage.bans.put(_ban("email", "s@x.example", mode="suspend", until=NOW + 5))
    await storage.bans.put(_ban("address", "ended", until=NOW - 5))
    await storage.bans.put(_ban("account", "acct-9", site=OTHER))
    assert await storage.bans.of_site(SITE, NOW) == [suspended, *reversed(kept)]
    assert await storage.bans.of_site(SITE, NOW + 5) == list(reversed(kept))
    assert await storage.bans.of_site("nowhere", NOW) == []


async def test_lift_deletes_one_of_the_sites_bans_once(storage: Storage) -> None:
    """lift() returns the ban it deleted, then None; another site's id gives None and leaves
    that ban in place."""
    ours = await storage.bans.put(_ban("account", "acct-1", until=NOW + 50))
    theirs = await storage.bans.put(_ban("account", "acct-1", site=OTHER))
    assert await storage.bans.lift(SITE, theirs.id) is None
    assert await storage.bans.lift(SITE, ours.id) == ours
    assert await storage.bans.lift(SITE, ours.id) is None
    assert await storage.bans.of_site(SITE, NOW) == []
    assert await storage.bans.of_site(OTHER, NOW) == [theirs]
    assert await storage.bans.lift(SITE, 987_654) is None


async def test_forget_bans_deletes_only_those_ended_before(storage: Storage) -> None:
    """forget_bans() deletes every site's bans whose `until` is before `before`, and says how
    many; one ending at `before`, a later one and one without an end are kept."""
    await storage.bans.put(_ban("account", "old-1", until=NOW - 100))
    await storage.bans.put(_ban("account", "old-2", site=OTHER, until=NOW - 1))
    at_before = await storage.bans.put(_ban("account", "edge", until=NOW))
    later = await storage.bans.put(_ban("account", "later", until=NOW + 100))
    forever = await storage.bans.put(_ban("account", "forever"))
    assert await storage.expiry.forget_bans(NOW) == 2
    assert await storage.expiry.forget_bans(NOW) == 0
    assert await storage.bans.of_site(SITE, NOW - 1000) == [forever, later, at_before]
    assert await storage.bans.of_site(OTHER, NOW - 1000) == []


async def test_forget_addresses_clears_only_older_comments_hashes(storage: Storage) -> None:
    """forget_addresses() clears the address hash of every site's comments created before
    `before` and counts those that had one; newer comments keep theirs, and no other field of
    any comment changes."""
    old = [
        msgspec.structs.replace(record("o1", created_at=NOW - 20), author_address="hash-a"),
        msgspec.structs.replace(
            record("o2", site=OTHER, status="pending", created_at=NOW - 10),
            author_address="hash-b",
            shadow=True,
            account="acct-2",
        ),
        record("o3", created_at=NOW - 5),  # no hash: not counted
    ]
    new = [
        msgspec.structs.replace(record("n1", created_at=NOW), author_address="hash-a"),
        msgspec.structs.replace(record("n2", created_at=NOW + 5), author_address="hash-c"),
    ]
    for rec in [*old, *new]:
        await post(storage, rec)
    assert await storage.expiry.forget_addresses(NOW) == 2
    found = await storage.comments.get_many([r.id for r in [*old, *new]])
    assert found == {
        **{r.id: msgspec.structs.replace(r, author_address=None) for r in old},
        **{r.id: r for r in new},
    }
    assert await storage.expiry.forget_addresses(NOW) == 0
    assert await storage.comments.authored(SITE, "address", "hash-a", None, 10) == [new[0]]
    # A shadow comment stays one (still pending, still shown its author by account).
    shown = await storage.comments.shadowed(ThreadKey(OTHER, "t1"), "acct-2", None)
    assert [r.id for r in shown] == ["o2"]
