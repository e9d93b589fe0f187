"""/admin's forms over real HTTP, each checked in the store: the site's settings, moderators,
rules, webhooks and failed deliveries, only ever of the admin's own site."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator

import pytest

from server.moderation.rules import Rules
from server.settings import Settings
from server.storage import Storage
from server.tokens import token_hash
from tests.support.admin import AdminClient, admin_client, admin_token, in_store
from tests.support.clients import Tokens
from tests.support.server import Running
from workers.webhooks.ports import Delivery, Webhook

_SHOWN = re.compile(r'id="shown-secret" class="admin-secret" readonly value="([^"]+)"')


@pytest.fixture
async def admin(server: Running, settings: Settings) -> AsyncIterator[AdminClient]:
    """A signed-in admin of "news" (Ada), on the admin page."""
    token = await admin_token(settings)
    async with admin_client(server.http) as client:
        assert (await client.sign_in(token)).status_code == 303
        assert "Signed in as" in (await client.page()).text
        yield client


def shown(page: str) -> str:
    found = _SHOWN.search(page)
    assert found is not None, page
    return html.unescape(found.group(1))


async def test_the_site_form_sets_origins_and_premoderation(
    admin: AdminClient, settings: Settings
) -> None:
    """Origins are normalised as `livethread site set` does them; a bad one is a 422 that
    names it and stores nothing."""
    answer = await admin.post(
        "/admin/site",
        {"origins": "HTTPS://News.Example:443\nhttp://b.example:8080", "premoderate": "on"},
    )
    assert answer.status_code == 200
    site = await in_store(settings, lambda store: store.sites.get("news"))
    assert site is not None
    assert site.origins == ("https://news.example", "http://b.example:8080")
    assert site.premoderate
    bad = await admin.post("/admin/site", {"origins": "news.example/path"})
    assert bad.status_code == 422
    assert "has no scheme" in bad.text
    assert await in_store(settings, lambda store: store.sites.get("news")) == site


async def test_an_admin_adds_a_site_and_is_its_first_admin(
    admin: AdminClient, settings: Settings
) -> None:
    """ "Add a site" creates it with its origins; the admin's token for it is shown once and
    names them its admin; a taken name, a bad name or a bad origin is a 422 that adds nothing."""
    added = await admin.post(
        "/admin/sites/add",
        {"name": "sport", "origins": "https://sport.example", "premoderate": "on"},
    )
    assert added.status_code == 200
    token = shown(added.text)
    site = await in_store(settings, lambda store: store.sites.get("sport"))
    assert site is not None
    assert (site.origins, site.premoderate) == (("https://sport.example",), True)
    found = await in_store(settings, lambda store: store.moderators.by_token(token_hash(token)))
    assert found is not None and (found.name, found.site, found.role) == ("Ada", "sport", "admin")
    assert "Run news" in (await admin.page()).text  # the session stays on its own site

    for form, why in (
        ({"name": "news", "origins": ""}, "exists already"),
        ({"name": "bad name!", "origins": ""}, "site must be"),
        ({"name": "other-one", "origins": "not an origin"}, "origin"),
    ):
        refused = await admin.post("/admin/sites/add", form)
        assert refused.status_code == 422 and why in refused.text, (form, refused.text)
    assert await in_store(settings, lambda store: store.sites.get("other-one")) is None


async def test_moderators_are_added_rotated_and_revoked(
    admin: AdminClient, settings: Settings, tokens: Tokens
) -> None:
    """A new moderator's token is shown once and works; rotating replaces it (the old one stops
    working); revoking deletes the moderator; another site's moderator cannot be touched."""
    added = await admin.post("/admin/moderators/add", {"name": "Mia", "role": "moderator"})
    assert added.status_code == 200
    first = shown(added.text)
    found = await in_store(settings, lambda store: store.moderators.by_token(token_hash(first)))
    assert found is not None and (found.name, found.site, found.role) == (
        "Mia",
        "news",
        "moderator",
    )
    assert first not in (await admin.page()).text

    rotated = await admin.post("/admin/moderators/rotate", {"name": "Mia"})
    second = shown(rotated.text)
    assert second != first
    assert (
        await in_store(settings, lambda store: store.moderators.by_token(token_hash(first))) is None
    )
    assert await in_store(settings, lambda store: store.moderators.by_token(token_hash(second)))

    revoked = await admin.post("/admin/moderators/revoke", {"name": "Mia"})
    assert revoked.status_code == 200
    assert (
        await in_store(settings, lambda store: store.moderators.by_token(token_hash(second)))
        is None
    )

    elsewhere = await admin.post("/admin/moderators/revoke", {"name": "Olaf"})
    assert elsewhere.status_code == 404
    assert await in_store(
        settings, lambda store: store.moderators.by_token(token_hash(tokens.other))
    )


async def test_an_admin_can_make_another_admin(admin: AdminClient, settings: Settings) -> None:
    """The role chosen is stored: an admin added here can sign in to the page."""
    added = await admin.post("/admin/moderators/add", {"name": "Bo", "role": "admin"})
    token = shown(added.text)
    found = await in_store(settings, lambda store: store.moderators.by_token(token_hash(token)))
    assert found is not None and found.role == "admin"
    bad = await admin.post("/admin/moderators/add", {"name": "Cy", "role": "owner"})
    assert bad.status_code == 422


async def test_the_rules_form_saves_checked_rules(admin: AdminClient, settings: Settings) -> None:
    """The rules are saved with the command line's meanings (word lists a line each, `off`);
    a rate the rules refuse is a 422 and nothing changes."""
    answer = await admin.post(
        "/admin/rules",
        {
            "links_max": "1",
            "banned": "spam\n\n  scam  \nspam",
            "suspect": "crypto",
            "velocity_author": "off",
            "velocity_address": "5/60",
            "repeat_window": "0",
            "reports_hold": "2",
            "first_time_hold": "on",
            "classifier_url": "",
            "classifier_kind": "json",
            "classifier_key": "",
        },
    )
    assert answer.status_code == 200, answer.text
    saved = Rules(
        links_max=1,
        banned=("spam", "scam"),
        suspect=("crypto",),
        velocity_author=None,
        velocity_address="5/60",
        repeat_window=0.0,
        reports_hold=2,
        first_time_hold=True,
    )
    assert await in_store(settings, lambda store: store.rules.get("news")) == saved
    bad = await admin.post(
        "/admin/rules",
        {"links_max": "1", "repeat_window": "0", "reports_hold": "2", "velocity_author": "often"},
    )
    assert bad.status_code == 422
    assert "--velocity-author" in bad.text
    assert await in_store(settings, lambda store: store.rules.get("news")) == saved


async def test_webhooks_are_added_and_removed_with_the_secret_shown_once(
    admin: AdminClient, settings: Settings
) -> None:
    """A webhook is stored with its events and its secret shown once; removing it deletes it;
    another site's webhook is not found."""
    added = await admin.post(
        "/admin/webhooks/add", {"url": "http://127.0.0.1:9/hook", "event": ["comment.created"]}
    )
    assert added.status_code == 200, added.text
    hooks = await in_store(settings, lambda store: store.webhooks.of_site("news"))
    assert [(h.url, h.events) for h in hooks] == [("http://127.0.0.1:9/hook", ("comment.created",))]
    assert shown(added.text) == hooks[0].secret
    assert hooks[0].secret not in (await admin.page()).text
    refused = await admin.post("/admin/webhooks/add", {"url": "ftp://example.com/"})
    assert refused.status_code == 422

    theirs = Webhook(id="wh_theirs", site="other", url="http://127.0.0.1:9/x", secret="s")
    await in_store(settings, lambda store: store.webhooks.put(theirs))
    assert (await admin.post("/admin/webhooks/remove", {"id": "wh_theirs"})).status_code == 404
    assert await in_store(settings, lambda store: store.webhooks.get("wh_theirs")) == theirs

    removed = await admin.post("/admin/webhooks/remove", {"id": hooks[0].id})
    assert removed.status_code == 200
    assert await in_store(settings, lambda store: store.webhooks.of_site("news")) == []


async def test_failed_deliveries_are_listed_and_retried(
    admin: AdminClient, settings: Settings
) -> None:
    """A parked delivery of the site is listed with its error; Retry makes it pending again;
    another site's parked delivery is neither listed nor retried."""
    ours = Webhook(id="wh_ours", site="news", url="http://127.0.0.1:9/ours", secret="s")
    theirs = Webhook(id="wh_theirs", site="other", url="http://127.0.0.1:9/theirs", secret="s")

    async def park(store: Storage) -> None:
        for hook in (ours, theirs):
            await store.webhooks.put(hook)
            delivery = Delivery(
                id=f"{hook.id}:1",
                webhook_id=hook.id,
                position=1,
                site=hook.site,
                thread="t",
                payload=b"{}",
            )
            await store.deliveries.enqueue([delivery])
            await store.deliveries.settle(delivery.id, "parked", 8, 0.0, "HTTP 500")

    await in_store(settings, park)
    page = (await admin.page()).text
    assert "wh_ours:1" in page and "HTTP 500" in page
    assert "wh_theirs:1" not in page
    assert (await admin.post("/admin/deliveries/retry", {"id": "wh_theirs:1"})).status_code == 404
    answer = await admin.post("/admin/deliveries/retry", {"id": "wh_ours:1"})
    assert answer.status_code == 200
    assert "1 failed deliveries queued again" in answer.text
    pending = await in_store(settings, lambda store: store.deliveries.in_status("pending"))
    assert [d.id for d in pending] == ["wh_ours:1"]
    parked = await in_store(settings, lambda store: store.deliveries.in_status("parked"))
    assert [d.id for d in parked] == ["wh_theirs:1"]
