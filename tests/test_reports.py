"""Readers report comments (issue 16 item 3) and every decision lands in the audit log (item 6).
Real server on a free port, real websockets for readers and for the moderators' queue."""

from __future__ import annotations

import httpx
import pytest

from server import events
from server.moderation.rules import Rules
from server.settings import Settings
from tests.support.clients import WAIT, Tokens, comment_json, decode_json, reader
from tests.support.command import livethread
from tests.support.moderation import moderating, set_rules
from tests.support.server import serve
from tests.test_sign_in import hs256, hs_site, set_sign_in, signed

THREAD = "article-1"


def mod(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def posted(http: httpx.AsyncClient, body: str = "A fine comment") -> str:
    answer = await http.post("/api/v1/comments", json=comment_json(body, thread=THREAD))
    assert answer.status_code == 201, answer.text
    comment = decode_json(answer.content)["comment"]
    assert isinstance(comment, dict)
    return str(comment["id"])


def as_reader(n: int) -> dict[str, str]:
    """The sign-in header of reader number `n` (a distinct account each)."""
    return signed(hs256(sub=f"reader-{n}", name=f"Reader {n}"))


async def test_reports_from_distinct_readers_hold_a_comment_live_for_everyone(
    settings: Settings, tokens: Tokens
) -> None:
    """Two reports flag the comment in the live queue with their count and reasons; the third
    distinct reader's (the site's threshold) holds it: every open page sees it go."""
    await set_sign_in(settings, hs_site())
    await set_rules(settings, "news", Rules(reports_hold=3))
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
        reader(running.ws("news", THREAD)) as first,
        reader(running.ws("news", THREAD)) as second,
        moderating(running.port, tokens.news) as queue,
    ):
        cid = await posted(http)
        for live in (first, second):
            await live.expect(events.CommentCreated)
        path = f"/api/v1/comments/{cid}/reports"
        one = await http.post(path, json={"reason": "spam"}, headers=as_reader(1))
        assert (one.status_code, decode_json(one.content)) == (201, {"counted": True, "reports": 1})
        flagged = await queue.expect(events.QueueAdded)
        assert flagged.item.state == "flagged" and flagged.item.reason == "1 report: spam"
        assert flagged.item.by == "reports"
        again = await http.post(path, json={"reason": "abuse"}, headers=as_reader(1))
        assert (again.status_code, decode_json(again.content)["counted"]) == (200, False)
        two = await http.post(
            path, json={"reason": "other", "text": "Off the rails"}, headers=as_reader(2)
        )
        assert two.status_code == 201
        flagged = await queue.expect(events.QueueAdded)
        assert flagged.item.reason == "2 reports: spam, other (Off the rails)"
        three = await http.post(path, json={"reason": "spam"}, headers=as_reader(3))
        assert decode_json(three.content) == {"counted": True, "reports": 3}
        for live in (first, second):
            removed = await live.expect(events.CommentRemoved)
            assert removed.id == cid
        held = await queue.expect(events.QueueAdded)
        assert (
            held.item.state == "pending"
            and held.item.reason == "3 reports: spam x2, other (Off the rails)"
        )
        snapshot = await http.get(f"/api/v1/threads?site=news&thread={THREAD}")
        assert decode_json(snapshot.content)["count"] == 0
        late = await http.post(path, json={"reason": "spam"}, headers=as_reader(4))
        assert late.status_code == 409


async def test_an_anonymous_readers_reports_count_once(settings: Settings, tokens: Tokens) -> None:
    """Without an account, a reader is their address: a second report from it does not count."""
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        cid = await posted(http)
        path = f"/api/v1/comments/{cid}/reports"
        first = await http.post(path, json={"reason": "off_topic"})
        second = await http.post(path, json={"reason": "spam"})
        assert (first.status_code, second.status_code) == (201, 200)
        assert decode_json(second.content) == {"counted": False, "reports": 1}


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"reason": "boring"}, 422, None),
        ({"reason": "other"}, 422, "text"),
        ({"reason": "other", "text": "   "}, 422, "text"),
        ({"reason": "spam", "text": "x" * 501}, 422, None),
        ({"reason": "spam", "text": "x" * 3000}, 413, None),
        ({"reason": "spam", "extra": 1}, 422, None),
        ("not json", 400, None),
    ],
)
async def test_a_bad_report_is_refused_and_nothing_is_kept(
    settings: Settings, tokens: Tokens, body: object, status: int, field: str | None
) -> None:
    """An unknown reason, "other" without text, over-long text, a body over 2 KiB, unknown
    fields or a body that is not JSON: refused, and the comment stays unreported."""
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        cid = await posted(http)
        path = f"/api/v1/comments/{cid}/reports"
        if isinstance(body, str):
            answer = await http.post(path, content=body.encode())
        else:
            answer = await http.post(path, json=body)
        assert answer.status_code == status, answer.text
        if field is not None:
            assert field in decode_json(answer.content)["fields"]  # type: ignore[operator]
        ok = await http.post(path, json={"reason": "spam"})
        assert decode_json(ok.content) == {"counted": True, "reports": 1}
        unknown = await http.post("/api/v1/comments/nothing-here/reports", json={"reason": "spam"})
        assert unknown.status_code == 404


async def test_the_audit_log_lists_every_decision_in_order(
    settings: Settings, tokens: Tokens
) -> None:
    """Automod's flag, a moderator's remove and restore, a lock and an unlock, and reports'
    flag: the audit log lists them in order, a comment's history has all of its own, only the
    site's moderators may read it, and `livethread audit` prints the same."""
    await set_rules(settings, "news", Rules(suspect=("casino",), reports_hold=0))
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        cid = await posted(http, "Visit my casino")
        path = f"/api/v1/comments/{cid}"
        for action in ("remove", "restore"):
            done = await http.post(
                f"{path}/moderation", json={"action": action, "reason": f"{action} it"},
                headers=mod(tokens.news),
            )  # fmt: skip
            assert done.status_code == 200, done.text
        for action in ("lock", "unlock"):
            done = await http.post(
                "/api/v1/threads/moderation",
                json={"site": "news", "thread": THREAD, "action": action},
                headers=mod(tokens.news),
            )
            assert done.status_code == 200, done.text
        assert (await http.post(f"{path}/reports", json={"reason": "spam"})).status_code == 201
        answer = await http.get("/api/v1/audit?site=news", headers=mod(tokens.news))
        assert answer.status_code == 200, answer.text
        entries = decode_json(answer.content)["entries"]
        assert isinstance(entries, list)
        seen = [(e["by"], e["action"], e["comment_id"], e["thread"]) for e in entries]
        assert seen == [
            ("automod:suspect", "flag", cid, THREAD),
            ("Lisa West", "remove", cid, THREAD),
            ("Lisa West", "restore", cid, THREAD),
            ("Lisa West", "lock", None, THREAD),
            ("Lisa West", "unlock", None, THREAD),
            ("reports", "flag", cid, THREAD),
        ]
        assert [e["reason"] for e in entries][1:3] == ["remove it", "restore it"]
        ids = [e["id"] for e in entries]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        page = await http.get(
            f"/api/v1/audit?site=news&after={ids[1]}&limit=2", headers=mod(tokens.news)
        )
        paged = decode_json(page.content)
        assert isinstance(paged["entries"], list)
        assert [e["id"] for e in paged["entries"]] == ids[2:4]
        assert paged["next"] == ids[3]
        latest = decode_json(
            (
                await http.get(
                    "/api/v1/audit?site=news&order=newest&limit=4", headers=mod(tokens.news)
                )
            ).content
        )
        assert isinstance(latest["entries"], list)
        assert [e["id"] for e in latest["entries"]] == ids[::-1][:4]
        older = await http.get(
            f"/api/v1/audit?site=news&order=newest&before={latest['next']}",
            headers=mod(tokens.news),
        )
        rest = decode_json(older.content)["entries"]
        assert isinstance(rest, list) and [e["id"] for e in rest] == ids[1::-1]
        history = await http.get(f"/api/v1/audit?site=news&comment={cid}", headers=mod(tokens.news))
        assert len(decode_json(history.content)["entries"]) == 4  # type: ignore[arg-type]
        assert (await http.get("/api/v1/audit?site=news")).status_code == 401
        other = await http.get("/api/v1/audit?site=news", headers=mod(tokens.other))
        assert other.status_code == 403
    printed = livethread("audit", "news", "--database", settings.database)
    assert printed.returncode == 0, printed.stderr
    lines = printed.stdout.splitlines()
    assert len(lines) == 6 and "Lisa West: remove comment" in lines[1] and "(remove it)" in lines[1]
    exported = livethread("audit", "news", "--json", "--database", settings.database)
    assert [decode_json(line.encode())["id"] for line in exported.stdout.splitlines()] == ids
