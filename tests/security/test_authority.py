"""Authority: only a comment's author (with its edit token, within the window) or a moderator of
the comment's own site may change it; every refused attempt changes and broadcasts nothing; and
the tokens that carry this authority never reach the server's log."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from server import events
from server.settings import Settings
from tests.support.clients import (
    WAIT,
    Reader,
    Tokens,
    comment_json,
    decode_json,
    provision,
    reader,
)
from tests.support.server import Running, serve, thread_socket_url

SITE, THREAD = "news", "article-1"
LISTENING = re.compile(rb"Uvicorn running on http://[^:]+:(\d+)")
ACTIONS = ("remove", "restore", "approve", "reject", "pin", "unpin")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def post(http: httpx.AsyncClient, body: str, name: str = "Reader") -> tuple[str, str]:
    """Post a comment; (its id, its edit token)."""
    answer = await http.post("/api/v1/comments", json=comment_json(body=body, name=name))
    assert answer.status_code == 201, answer.text
    data = decode_json(answer.content)
    comment = data["comment"]
    assert isinstance(comment, dict)
    return str(comment["id"]), str(data["edit_token"])


async def view(http: httpx.AsyncClient) -> dict[str, object]:
    answer = await http.get("/api/v1/threads", params={"site": SITE, "thread": THREAD})
    assert answer.status_code == 200, answer.text
    return decode_json(answer.content)


async def next_is_sentinel(http: httpx.AsyncClient, r: Reader, expected_seq: int) -> None:
    """Nothing was broadcast before now: a fresh post is the reader's very next event."""
    cid, _ = await post(http, "sentinel")
    (event,) = await r.events(1)
    assert isinstance(event, events.CommentCreated)
    assert (event.seq, event.comment.id) == (expected_seq, cid)


def refused(answer: httpx.Response, status: int = 403) -> None:
    assert answer.status_code == status, answer.text
    assert decode_json(answer.content)["error"] in ("forbidden", "not_found")


async def test_reader_cannot_edit_or_delete_anothers_comment(
    server: Running, http: httpx.AsyncClient
) -> None:
    """Without the comment's own edit token, PATCH and DELETE are 403 (404 if no such comment)."""
    alice, _ = await post(http, "Alice's words", name="Alice")
    _, bobs_token = await post(http, "Bob's words", name="Bob")
    url = f"/api/v1/comments/{alice}"
    async with reader(server.ws(SITE, THREAD)) as r:
        for headers in (
            {},
            {"X-Edit-Token": ""},
            {"X-Edit-Token": "guessed"},
            {"X-Edit-Token": bobs_token},  # a real token, for another comment
            {"X-Edit-Token": bobs_token + "x"},
        ):
            refused(await http.patch(url, json={"body": "hijacked"}, headers=headers))
            refused(await http.delete(url, headers=headers))
        missing = "/api/v1/comments/nosuchcomment"
        refused(await http.patch(missing, json={"body": "x"}, headers={"X-Edit-Token": "x"}), 404)
        refused(await http.delete(missing, headers={"X-Edit-Token": bobs_token}), 404)
        snapshot = await view(http)
        assert snapshot["seq"] == 2
        comments = snapshot["comments"]
        assert isinstance(comments, list)
        first = comments[0]
        assert (first["id"], first["status"], first["edited"]) == (alice, "visible", None)
        assert "hijacked" not in str(snapshot)
        await next_is_sentinel(http, r, 3)


async def test_author_cannot_change_their_comment_after_the_window(settings: Settings) -> None:
    """Once the edit window has passed, the author's own token is 403 for PATCH and DELETE."""
    closed = settings.replace(edit_window_seconds=0.0)
    await provision(closed)
    async with (
        serve(closed) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
        reader(running.ws(SITE, THREAD)) as r,
    ):
        cid, token = await post(http, "Too late to fix")
        (created,) = await r.events(1)
        assert isinstance(created, events.CommentCreated)
        url = f"/api/v1/comments/{cid}"
        headers = {"X-Edit-Token": token}
        refused(await http.patch(url, json={"body": "fixed"}, headers=headers))
        refused(await http.delete(url, headers=headers))
        assert (await view(http))["seq"] == 1
        await next_is_sentinel(http, r, 2)


async def test_other_sites_moderator_cannot_act_on_this_site(
    server: Running, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    """A moderator of "other" gets 403 for every action on "news": moderate, edit, delete, lock."""
    cid, edit_token = await post(http, "Stays as it is")
    other = bearer(tokens.other)
    async with reader(server.ws(SITE, THREAD)) as r:
        for action in ACTIONS:
            answer = await http.post(
                f"/api/v1/comments/{cid}/moderation", json={"action": action}, headers=other
            )
            refused(answer)
        url = f"/api/v1/comments/{cid}"
        refused(await http.patch(url, json={"body": "moderated away"}, headers=other))
        refused(await http.delete(url, headers=other))
        # Their token wins over an edit token they may have found: still refused.
        with_both = {**other, "X-Edit-Token": edit_token}
        refused(await http.patch(url, json={"body": "moderated away"}, headers=with_both))
        for action in ("lock", "unlock"):
            answer = await http.post(
                "/api/v1/threads/moderation",
                json={"site": SITE, "thread": THREAD, "action": action},
                headers=other,
            )
            refused(answer)
        # Nor may they read the moderators' view of this site.
        refused(
            await http.get(
                "/api/v1/threads", params={"site": SITE, "thread": THREAD}, headers=other
            )
        )
        # This site's moderator acting on a comment that does not exist: 404.
        refused(
            await http.post(
                "/api/v1/comments/nosuchcomment/moderation",
                json={"action": "remove"},
                headers=bearer(tokens.news),
            ),
            404,
        )
        snapshot = await view(http)
        assert (snapshot["seq"], snapshot["count"], snapshot["locked"]) == (1, 1, False)
        await next_is_sentinel(http, r, 2)


@dataclass
class LoggedServer:
    """A `livethread serve` process whose whole output (stdout: uvicorn's access log with every
    request line; stderr: everything else) is collected in `log`."""

    port: int = 0
    log: list[bytes] = field(default_factory=list)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@asynccontextmanager
async def logged_server(database: str) -> AsyncIterator[LoggedServer]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "server.cli", "serve", "--port", "0", "--database", database),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={
            **os.environ,
            "LIVETHREAD_RATE_LIMIT": "0",
            "LIVETHREAD_LOG_LEVEL": "debug",
            "LIVETHREAD_ACCESS_LOG": "1",
        },
    )
    running = LoggedServer()
    listening: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def collect() -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            running.log.append(line)
            found = LISTENING.search(line)
            if found and not listening.done():
                listening.set_result(int(found.group(1)))
        if not listening.done():
            listening.set_exception(RuntimeError(b"".join(running.log).decode(errors="replace")))

    collector = asyncio.create_task(collect())
    # (tests/support/server.py's serve_process collects stderr only; uvicorn's access log,
    # the one place request URLs are written, goes to stdout.)
    try:
        async with asyncio.timeout(WAIT * 2):
            running.port = await listening
        yield running
    finally:
        if process.returncode is None:
            process.terminate()
        async with asyncio.timeout(WAIT * 2):
            await process.wait()
            await collector


async def test_tokens_never_appear_in_the_log() -> None:
    """Moderator and edit tokens, used or refused, appear nowhere in a debug-level server log."""
    with tempfile.TemporaryDirectory(prefix="livethread-tokens-") as workdir:
        database = f"sqlite:///{Path(workdir) / 'tokens.db'}"
        tokens = await provision(Settings(database=database))
        async with (
            logged_server(database) as proc,
            httpx.AsyncClient(base_url=proc.http, timeout=WAIT) as http,
            reader(thread_socket_url(proc.port, SITE, THREAD)) as r,
        ):
            cid, edit_token = await post(http, "Typo hree")
            gone, gone_token = await post(http, "Withdrawn")
            mod = bearer(tokens.news)
            url = f"/api/v1/comments/{cid}"
            calls = [
                http.patch(url, json={"body": "Typo here"}, headers={"X-Edit-Token": edit_token}),
                http.patch(url, json={"body": "x"}, headers={"X-Edit-Token": gone_token}),
                http.delete(f"/api/v1/comments/{gone}", headers={"X-Edit-Token": gone_token}),
                http.post(f"{url}/moderation", json={"action": "pin"}, headers=mod),
                http.post(
                    f"{url}/moderation", json={"action": "pin"}, headers=bearer(tokens.other)
                ),
                http.post(f"{url}/moderation", json={"action": "pin"}, headers=bearer("forged")),
                http.post(
                    "/api/v1/threads/moderation",
                    json={"site": SITE, "thread": THREAD, "action": "lock"},
                    headers=mod,
                ),
                http.get("/api/v1/threads", params={"site": SITE, "thread": THREAD}, headers=mod),
            ]
            statuses = [(await call).status_code for call in calls]
            assert statuses == [200, 403, 200, 200, 403, 401, 200, 200]
            # created twice, edited, removed, pinned, locked
            await r.events(6)
    log = b"".join(proc.log).decode(errors="replace")
    # The log did record these requests, URLs included (so there was somewhere to leak to).
    assert f'"PATCH /api/v1/comments/{cid} HTTP/1.1" 200' in log
    assert '"POST /api/v1/threads/moderation HTTP/1.1" 200' in log
    assert "/api/v1/threads?site=news&thread=article-1" in log
    for secret in (tokens.news, tokens.other, edit_token, gone_token):
        assert secret not in log
