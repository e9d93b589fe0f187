"""The SignIns and Accounts contract: each site's sign-in settings, and the accounts seen on it
with the skeletons of their names."""

from __future__ import annotations

import pytest

from server.accounts.ports import Account, SignIn
from server.archive import ports as a
from server.model import Site
from server.storage import Storage, StoreError
from tests.contract.records import SITE
from tests.contract.test_archive import archive_of

OTHER = "other-site"


async def _sites(storage: Storage) -> None:
    await storage.sites.put(Site(name=SITE))
    await storage.sites.put(Site(name=OTHER))


async def test_sign_in_round_trip_replacement_and_removal(storage: Storage) -> None:
    """Settings come back as stored, roles in order; a put replaces them whole; remove deletes
    them (True), and again finds none (False); other sites' settings are left alone."""
    await _sites(storage)
    first = SignIn(
        site=SITE,
        policy="accounts",
        audience="livethread",
        issuer="https://publisher.example",
        secret="s3cret",
        roles=("moderator", "editor", "é"),
    )
    elsewhere = SignIn(site=OTHER, audience="aud", jwks_url="https://other.example/jwks.json")
    await storage.sign_ins.put(first)
    await storage.sign_ins.put(elsewhere)
    assert await storage.sign_ins.get(SITE) == first
    replaced = SignIn(
        site=SITE, policy="anonymous", audience="other", public_key="-----BEGIN PUBLIC KEY-----"
    )
    await storage.sign_ins.put(replaced)
    assert await storage.sign_ins.get(SITE) == replaced
    assert (await storage.sign_ins.get(SITE)).roles == ()  # type: ignore[union-attr]
    assert await storage.sign_ins.remove(SITE) is True
    assert await storage.sign_ins.get(SITE) is None
    assert await storage.sign_ins.remove(SITE) is False
    assert await storage.sign_ins.get(OTHER) == elsewhere
    assert await storage.sign_ins.get("nowhere") is None


async def test_sign_in_for_an_unknown_site_is_refused(storage: Storage) -> None:
    """Settings for a site the store does not have: StoreError, nothing kept."""
    with pytest.raises(StoreError):
        await storage.sign_ins.put(SignIn(site="nowhere", audience="aud", secret="s"))
    assert await storage.sign_ins.get("nowhere") is None


async def test_an_account_seen_again_is_replaced_and_keeps_its_first_sighting(
    storage: Storage,
) -> None:
    """seen() stores the account; seen again replaces its name, email, avatar and roles and its
    last sighting, its first stays the first (as the store's rows show); ids are per site."""
    await _sites(storage)
    ann = Account(
        site=SITE, id="u1", name="Ann", email="ann@mail.example", avatar="https://a/1.png",
        roles=("moderator", "subscriber"),
    )  # fmt: skip
    await storage.accounts.seen(ann, "ann", 10.0)
    assert await storage.accounts.get(SITE, "u1") == ann
    renamed = Account(site=SITE, id="u1", name="Anne")
    await storage.accounts.seen(renamed, "anne", 20.5)
    assert await storage.accounts.get(SITE, "u1") == renamed
    assert await storage.accounts.get(OTHER, "u1") is None
    assert await storage.accounts.get(SITE, "u2") is None
    rows = await archive_of(storage).read(a.ACCOUNTS, None, 10)
    assert rows == [
        a.AccountRow(
            site=SITE,
            id="u1",
            name="Anne",
            skeleton="anne",
            email=None,
            avatar=None,
            roles="[]",
            first_seen=10.0,
            last_seen=20.5,
        )
    ]


async def test_an_account_of_an_unknown_site_is_refused(storage: Storage) -> None:
    """An account seen on a site the store does not have: StoreError, nothing kept."""
    with pytest.raises(StoreError):
        await storage.accounts.seen(Account(site="nowhere", id="u1", name="Ann"), "ann", 1.0)
    assert await storage.accounts.get("nowhere", "u1") is None


async def test_named_is_true_only_for_that_site_and_skeleton(storage: Storage) -> None:
    """named() finds a skeleton on its own site only; a renamed account's old skeleton is gone
    unless another account still has it."""
    await _sites(storage)
    await storage.accounts.seen(Account(site=SITE, id="u1", name="Bob"), "bob", 1.0)
    await storage.accounts.seen(Account(site=SITE, id="u2", name="B0b"), "bob", 2.0)
    assert await storage.accounts.named(SITE, "bob") is True
    assert await storage.accounts.named(OTHER, "bob") is False
    assert await storage.accounts.named(SITE, "bo") is False
    await storage.accounts.seen(Account(site=SITE, id="u1", name="Robert"), "robert", 3.0)
    assert await storage.accounts.named(SITE, "bob") is True  # u2 still has it
    await storage.accounts.seen(Account(site=SITE, id="u2", name="Rob"), "rob", 4.0)
    assert await storage.accounts.named(SITE, "bob") is False
    assert await storage.accounts.named(SITE, "robert") is True
    assert await storage.accounts.named(SITE, "rob") is True


async def test_many_accounts(storage: Storage) -> None:
    """Hundreds of accounts on one site: each found by id, each name by its skeleton."""
    await _sites(storage)
    for n in range(300):
        await storage.accounts.seen(
            Account(site=SITE, id=f"id-{n}", name=f"Reader {n}", roles=(f"r{n % 3}",)),
            f"reader{n}",
            float(n),
        )
    for n in (0, 149, 299):
        found = await storage.accounts.get(SITE, f"id-{n}")
        assert found == Account(site=SITE, id=f"id-{n}", name=f"Reader {n}", roles=(f"r{n % 3}",))
        assert await storage.accounts.named(SITE, f"reader{n}") is True
    assert await storage.accounts.named(SITE, "reader300") is False
    assert await archive_of(storage).count(a.ACCOUNTS) == 300
