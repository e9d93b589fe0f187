"""The Sites and Moderators contract: publishers, and who moderates each by token hash."""

from __future__ import annotations

import pytest

from server.accounts.ports import SignIn
from server.model import Moderator, Site
from server.moderation.rules import Rules
from server.storage import Storage, StoreError
from tests.contract.records import SITE, hook


async def test_sites_round_trip(storage: Storage) -> None:
    """A site comes back as stored, and put_site replaces it."""
    site = Site(name=SITE, origins=("https://a.example", "https://b.example"), premoderate=True)
    await storage.sites.put(site)
    assert await storage.sites.get(SITE) == site
    changed = Site(name=SITE)
    await storage.sites.put(changed)
    assert await storage.sites.get(SITE) == changed
    assert await storage.sites.get("nowhere") is None


async def test_moderators_round_trip_and_token_replacement(storage: Storage) -> None:
    """A moderator is found by token hash; a new token replaces the old one, which stops working."""
    moderators = storage.moderators
    await storage.sites.put(Site(name=SITE))
    await storage.sites.put(Site(name="other-site"))
    editor = Moderator(name="editor", site=SITE)
    await moderators.put(editor, "hash-1")
    assert await moderators.by_token("hash-1") == editor
    await moderators.put(editor, "hash-2")
    assert await moderators.by_token("hash-1") is None
    assert await moderators.by_token("hash-2") == editor
    same_name_elsewhere = Moderator(name="editor", site="other-site")
    await moderators.put(same_name_elsewhere, "hash-3")
    assert await moderators.by_token("hash-2") == editor
    assert await moderators.by_token("hash-3") == same_name_elsewhere
    # Re-sites and site replacement must not drop moderators.
    await storage.sites.put(Site(name=SITE, premoderate=True))
    assert await moderators.by_token("hash-2") == editor


async def test_put_moderator_refuses_unknown_site_and_shared_token(storage: Storage) -> None:
    """A moderator needs an existing site and a token hash nobody else holds."""
    moderators = storage.moderators
    with pytest.raises(StoreError):
        await moderators.put(Moderator(name="ghost", site="nowhere"), "hash-0")
    await storage.sites.put(Site(name=SITE))
    await moderators.put(Moderator(name="a", site=SITE), "hash-1")
    with pytest.raises(StoreError):
        await moderators.put(Moderator(name="b", site=SITE), "hash-1")
    assert await moderators.by_token("hash-1") == Moderator(name="a", site=SITE)
    assert await moderators.by_token("hash-0") is None


async def test_moderators_of_a_site(storage: Storage) -> None:
    """A site's moderators are listed by name; other sites' are not."""
    moderators = storage.moderators
    await storage.sites.put(Site(name=SITE))
    await storage.sites.put(Site(name="other"))
    await moderators.put(Moderator(name="Zed", site=SITE), "h1")
    await moderators.put(Moderator(name="Ann", site=SITE), "h2")
    await moderators.put(Moderator(name="Olaf", site="other"), "h3")
    assert [m.name for m in await moderators.of_site(SITE)] == ["Ann", "Zed"]
    assert await moderators.of_site("nobody") == []


async def test_removing_a_moderator_deletes_their_token(storage: Storage) -> None:
    """remove_moderator: the token authenticates nobody after, the name leaves the list, and an
    unknown moderator (or another site's) answers False."""
    moderators = storage.moderators
    await storage.sites.put(Site(name=SITE))
    await storage.sites.put(Site(name="elsewhere"))
    await moderators.put(Moderator(name="Lisa", site=SITE), "hash-lisa")
    await moderators.put(Moderator(name="Olaf", site=SITE), "hash-olaf")
    await moderators.put(Moderator(name="Lisa", site="elsewhere"), "hash-lisa-2")
    assert await moderators.remove(SITE, "Lisa")
    assert await moderators.by_token("hash-lisa") is None
    assert await moderators.by_token("hash-olaf") == Moderator(name="Olaf", site=SITE)
    assert await moderators.by_token("hash-lisa-2") == Moderator(name="Lisa", site="elsewhere")
    assert [m.name for m in await moderators.of_site(SITE)] == ["Olaf"]
    assert not await moderators.remove(SITE, "Lisa")
    assert not await moderators.remove("nowhere", "Olaf")
    # Added again, with a new token: the old one stays dead.
    await moderators.put(Moderator(name="Lisa", site=SITE), "hash-lisa-3")
    assert await moderators.by_token("hash-lisa") is None
    assert await moderators.by_token("hash-lisa-3") == Moderator(name="Lisa", site=SITE)


async def test_a_moderators_role_round_trips(storage: Storage) -> None:
    """A moderator is a plain moderator unless made admin; the role comes back from by_token
    and of_site, and putting the moderator again (same token or a new one) sets it."""
    moderators = storage.moderators
    await storage.sites.put(Site(name=SITE))
    plain = Moderator(name="mia", site=SITE)
    admin = Moderator(name="ann", site=SITE, role="admin")
    await moderators.put(plain, "h-mia")
    await moderators.put(admin, "h-ann")
    assert (await moderators.by_token("h-mia")) == plain
    assert plain.role == "moderator"
    assert await moderators.by_token("h-ann") == admin
    assert await moderators.of_site(SITE) == [admin, plain]
    promoted = Moderator(name="mia", site=SITE, role="admin")
    await moderators.put(promoted, "h-mia")
    assert await moderators.by_token("h-mia") == promoted
    await moderators.put(plain, "h-mia-2")
    assert await moderators.by_token("h-mia") is None
    assert await moderators.of_site(SITE) == [admin, plain]


async def test_all_sites_by_name_and_removing_one_takes_what_hangs_on_it(
    storage: Storage,
) -> None:
    """`all` lists every site by name; `remove` deletes the site with its moderators, rules,
    webhooks and sign-in (not another site's), True once and then False; put again, the site
    comes back bare."""
    await storage.sites.put(Site(name="zeta"))
    await storage.sites.put(Site(name=SITE, origins=("https://a.example",)))
    assert [s.name for s in await storage.sites.all()] == [SITE, "zeta"]
    await storage.moderators.put(Moderator(name="editor", site=SITE), "hash-1")
    await storage.moderators.put(Moderator(name="editor", site="zeta"), "hash-2")
    await storage.rules.put(SITE, Rules(links_max=1))
    await storage.webhooks.put(hook("w1"))
    await storage.sign_ins.put(SignIn(site=SITE, audience="aud", secret="s3cret"))

    assert await storage.sites.remove(SITE)
    assert not await storage.sites.remove(SITE)
    assert await storage.sites.get(SITE) is None
    assert [s.name for s in await storage.sites.all()] == ["zeta"]
    assert await storage.moderators.by_token("hash-1") is None
    assert await storage.moderators.by_token("hash-2") == Moderator(name="editor", site="zeta")

    await storage.sites.put(Site(name=SITE))
    assert await storage.moderators.of_site(SITE) == []
    assert await storage.rules.get(SITE) is None
    assert await storage.webhooks.get("w1") is None
    assert await storage.sign_ins.get(SITE) is None
