"""`livethread ban add|list|lift` (issue 16 item 4) run as real processes on the test's
database; and the retention sweep that forgets addresses and ended bans."""

from __future__ import annotations

import asyncio

import msgspec

from server.adapters.memory_store import memory_storage
from server.composition import store_for
from server.moderation.ports import Ban
from server.moderation.retention import Retention
from server.settings import Settings
from tests.contract.records import post, record
from tests.support.clients import WAIT, Tokens
from tests.support.command import livethread
from tests.support.waiting import eventually


def ban(settings: Settings, *args: str) -> tuple[int, str, str]:
    done = livethread("ban", *args, "--database", settings.database)
    return done.returncode, done.stdout, done.stderr


async def audited(settings: Settings) -> list[tuple[str, str | None, str]]:
    store = store_for(settings)
    await store.open()
    try:
        return [(e.action, e.subject, e.by) for e in await store.audit.of_site("news", 0, 100)]
    finally:
        await store.close()


async def test_an_operator_bans_lists_and_lifts_from_the_command_line(
    settings: Settings, tokens: Tokens
) -> None:
    """`ban add` prints the ban made (a suspension with its end), `ban list` shows it (as JSON
    too), `ban lift ID` lifts it; each is in the audit log as the operator's ("cli")."""
    code, out, err = ban(
        settings, "add", "news", "--email", "Troll@Example.org", "--mode", "suspend", "--days", "2"
    )
    assert code == 0, err
    assert " suspend email troll@example.org until " in out and "by cli" in out
    code, out, err = ban(settings, "add", "news", "--address", "198.51.100.7", "--reason", "raid")
    assert code == 0, err
    assert " ban     address " in out and "(raid)" in out
    code, out, err = ban(settings, "list", "news", "--json")
    assert code == 0, err
    listed = [msgspec.json.decode(line) for line in out.splitlines()]
    assert [(b["key"], b["mode"]) for b in listed] == [("address", "ban"), ("email", "suspend")]
    assert listed[0]["value"] != "198.51.100.7"  # kept as a keyed hash only
    code, out, err = ban(settings, "lift", "news", str(listed[1]["id"]))
    assert code == 0, err
    assert out.startswith("lifted: ")
    code, out, err = ban(settings, "list", "news")
    assert code == 0 and len(out.splitlines()) == 1
    assert [a[0] for a in await audited(settings)] == ["suspend", "ban", "lift"]
    assert {a[2] for a in await audited(settings)} == {"cli"}


async def test_the_command_line_refuses_a_bad_ban_with_a_message(
    settings: Settings, tokens: Tokens
) -> None:
    """A suspension without --days, a bad address, a lift of no ban, a non-number id or an
    unknown site: exit 2 with a one-line message, and nothing is kept."""
    cases = [
        (("add", "news", "--email", "a@b.org", "--mode", "suspend"), "A suspension needs an end"),
        (("add", "news", "--address", "300.1.2.3"), "That is not an IP address"),
        (("add", "news", "--email", "a@b.org", "--days", "0"), "--days must be more than 0"),
        (("lift", "news", "999"), "No such ban"),
        (("lift", "news", "nine"), "a ban's id is a whole number"),
        (("list", "nowhere"), "no site 'nowhere'"),
    ]
    for args, message in cases:
        code, _, err = ban(settings, *args)
        assert code == 2, (args, err)
        assert err.strip() == f"livethread: error: {message}", err
    assert await audited(settings) == []


async def test_the_sweep_forgets_old_addresses_and_ended_bans() -> None:
    """Comments older than the retention lose their address hash, newer ones keep it; ended
    bans go, bans in force stay; the owned task sweeps at start."""
    now = 1_800_000_000.0
    store = memory_storage()
    await store.open()
    old = msgspec.structs.replace(record("old", created_at=now - 200), author_address="a1")
    new = msgspec.structs.replace(record("new", created_at=now - 50), author_address="a2")
    for rec in (old, new):
        await post(store, rec)
    ended = await store.bans.put(
        Ban(site="s1", key="email", value="x@y", mode="suspend", until=now - 1, by="m", at=0)
    )
    kept = await store.bans.put(Ban(site="s1", key="email", value="z@y", mode="ban", by="m", at=0))
    retention = Retention(store.expiry, addresses=100, clock=lambda: now)
    assert await retention.sweep() == (1, 1)
    assert (await store.comments.get("old")) == msgspec.structs.replace(old, author_address=None)
    assert (await store.comments.get("new")) == new
    assert [b.id for b in await store.bans.of_site("s1", now - 10)] == [kept.id]
    assert ended.id != kept.id
    again = msgspec.structs.replace(record("again", created_at=now - 300), author_address="a3")
    await post(store, again)
    retention.start()
    try:

        async def forgotten() -> bool:
            found = await store.comments.get("again")
            return found is not None and found.author_address is None

        await eventually(forgotten, within=WAIT)
    finally:
        async with asyncio.timeout(WAIT):
            await retention.close()
    await store.close()
