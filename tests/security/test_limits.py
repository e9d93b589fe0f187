"""Input limits: hostile bytes on the websocket and the HTTP API are refused with the documented
close code or a 400/422 JSON error (never a 500), every field's length limit is enforced and
named, and afterwards the server serves as before and its readers saw nothing of it.

(A client frame over 64 KiB closing with 1009, and an HTTP body over the limit answering 413,
are in tests/test_end_to_end.py.)"""

from __future__ import annotations

import asyncio
import base64
import os
import struct

import httpx
import pytest

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
from tests.support.server import Running, serve

SITE, THREAD = "news", "article-1"
QUIET = 0.3  # how long a reader must stay silent to count as having received nothing more


async def only_the_next_post_arrives(http: httpx.AsyncClient, r: Reader) -> None:
    """The server still takes a normal post, and it is the one and only event `r` receives."""
    answer = await http.post("/api/v1/comments", json=comment_json(body="business as usual"))
    assert answer.status_code == 201, answer.text
    (event,) = await r.events(1)
    assert isinstance(event, events.CommentCreated)
    assert event.seq == 1 and event.comment.html == "<p>business as usual</p>"
    with pytest.raises(TimeoutError):
        await r.frame(within=QUIET)


def refused_as_json(answer: httpx.Response, *statuses: int) -> dict[str, object]:
    """A 400 or 422 (or the given statuses) answered with the API's JSON error shape."""
    assert answer.status_code in (statuses or (400, 422)), (answer.status_code, answer.text)
    assert answer.headers["content-type"].startswith("application/json")
    error = decode_json(answer.content)
    assert isinstance(error["error"], str) and isinstance(error["message"], str)
    return error


# --- websocket frames ---------------------------------------------------------------------


async def handshake(
    port: int, thread: str = THREAD
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A websocket opened by hand on a plain TCP connection (so any bytes can be sent)."""
    r, w = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    w.write(
        (
            f"GET /ws/v1/threads?site={SITE}&thread={thread} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), WAIT)
    assert head.startswith(b"HTTP/1.1 101"), head
    return r, w


def client_frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """One masked client frame (payloads under 64 KiB)."""
    mask = os.urandom(4)
    size = len(payload)
    length = bytes([0x80 | size]) if size < 126 else bytes([0x80 | 126]) + struct.pack(">H", size)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([(0x80 if fin else 0) | opcode]) + length + mask + masked


async def close_code(r: asyncio.StreamReader) -> int | None:
    """Read server frames up to its close frame; the close code (None if the peer just left)."""
    async with asyncio.timeout(WAIT):
        while True:
            try:
                head = await r.readexactly(2)
            except asyncio.IncompleteReadError:
                return None
            opcode, size = head[0] & 0x0F, head[1] & 0x7F
            if size == 126:
                (size,) = struct.unpack(">H", await r.readexactly(2))
            elif size == 127:
                (size,) = struct.unpack(">Q", await r.readexactly(8))
            payload = await r.readexactly(size)
            if opcode == 0x8:
                return int(struct.unpack(">H", payload[:2])[0]) if size >= 2 else None


@pytest.mark.parametrize(
    "frames",
    [
        pytest.param([client_frame(0x1, b"\xff\xfe not utf-8")], id="invalid-byte"),
        pytest.param([client_frame(0x1, b'{"a":"\xed\xa0\x80"}')], id="encoded-surrogate"),
        pytest.param([client_frame(0x1, b"\xc0\xaf")], id="overlong"),
        pytest.param(
            # Each fragment alone could be the start or end of a character; together invalid.
            [client_frame(0x1, b"ok \xe2\x82", fin=False), client_frame(0x0, b"\xff")],
            id="fragmented",
        ),
    ],
)
async def test_invalid_utf8_text_frame_closes_with_1007(
    server: Running, http: httpx.AsyncClient, frames: list[bytes]
) -> None:
    """A text frame that is not UTF-8 closes that socket with 1007; other readers see nothing."""
    async with reader(server.ws(SITE, THREAD)) as bystander:
        r, w = await handshake(server.port)
        try:
            w.write(b"".join(frames))
            await w.drain()
            assert await close_code(r) == 1007
        finally:
            w.close()
        await only_the_next_post_arrives(http, bystander)


# --- HTTP bodies ----------------------------------------------------------------------------


def with_field(raw_value: bytes, where: str = "body") -> bytes:
    """A new-comment body whose `where` value is `raw_value`, spliced in as raw JSON text."""
    fields = {
        "site": b'"news"',
        "thread": b'"article-1"',
        "author": b'{"name":"Reader"}',
        "body": b'"hello"',
    }
    if where == "author.name":
        fields["author"] = b'{"name":' + raw_value + b"}"
    else:
        fields[where] = raw_value
    return b"{" + b",".join(b'"%s":%s' % (k.encode(), v) for k, v in fields.items()) + b"}"


HOSTILE_BODIES: dict[str, bytes] = {
    "nested-30k-array": b"[" * 30_000 + b"]" * 30_000,
    "nested-30k-in-a-field": with_field(b"[" * 30_000 + b"]" * 30_000),
    "nested-10k-objects": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "unclosed-nesting": b"[" * 60_000,
    "5000-digit-integer-as-site": with_field(b"9" * 5000, "site"),
    "5000-digit-integer-as-body": with_field(b"9" * 5000),
    "5000-digit-negative-as-name": with_field(b"-" + b"9" * 5000, "author.name"),
    "1e999": with_field(b"1e999"),
    "-1e999-as-thread": with_field(b"-1e999", "thread"),
    "huge-exponent": with_field(b"1e99999999999999999999"),
    "nan": with_field(b"NaN"),
    "escaped-lone-high-surrogate": with_field(b'"\\ud800"'),
    "escaped-lone-low-surrogate-in-name": with_field(b'"x\\udc00y"', "author.name"),
    "escaped-reversed-pair": with_field(b'"\\udc00\\ud800"'),
    "raw-invalid-utf8": with_field(b'"\xff\xfe"'),
    "raw-encoded-surrogate": with_field(b'"\xed\xa0\x80"'),
    "raw-overlong-slash": with_field(b'"\xc0\xaf"', "author.name"),
    "raw-invalid-utf8-after-a-type-error": with_field(b"1", "site")[:-1] + b',"x":"\xff"}',
    "raw-invalid-utf8-outside-strings": b"\xff" + with_field(b'"x"'),
    "utf16-bom": "\ufeff".encode("utf-16") + with_field(b'"x"'),
    "nul-bytes": b"\x00" * 100,
    "empty": b"",
    "truncated": with_field(b'"hello')[:-3],
    "not-an-object": b'"just a string"',
    "duplicate-keys-wrong-type": with_field(b'"x"')[:-1] + b',"body":{"nested":true}}',
}


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
async def test_hostile_json_is_400_or_422_never_500(
    server: Running, http: httpx.AsyncClient, tokens: Tokens, body: bytes
) -> None:
    """Hostile JSON to every write endpoint is a 400/422 JSON error; readers see nothing."""
    first = await http.post("/api/v1/comments", json=comment_json(thread="article-2"))
    cid = str(decode_json(first.content)["comment"]["id"])  # type: ignore[index]
    moderator = {"Authorization": f"Bearer {tokens.news}"}
    async with reader(server.ws(SITE, THREAD)) as r:
        headers = {"Content-Type": "application/json"}
        refused_as_json(await http.post("/api/v1/comments", content=body, headers=headers))
        refused_as_json(
            await http.patch(f"/api/v1/comments/{cid}", content=body, headers=moderator)
        )
        refused_as_json(
            await http.post(f"/api/v1/comments/{cid}/moderation", content=body, headers=moderator)
        )
        refused_as_json(
            await http.post("/api/v1/threads/moderation", content=body, headers=moderator)
        )
        await only_the_next_post_arrives(http, r)


async def test_100k_levels_of_nesting_is_400(settings: Settings) -> None:
    """100,000 levels of nesting (allowed past the size limit for this test) is 400, not a crash."""
    roomy = settings.replace(http_max_bytes=1_000_000)
    await provision(roomy)
    deep = b"[" * 100_000 + b"]" * 100_000
    async with (
        serve(roomy) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
        reader(running.ws(SITE, THREAD)) as r,
    ):
        objects = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
        for body in (deep, objects, with_field(deep), with_field(deep, "author.name")):
            refused_as_json(await http.post("/api/v1/comments", content=body), 400)
        await only_the_next_post_arrives(http, r)
    # At the default limit the same body is refused before it is parsed at all.
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        refused_as_json(await http.post("/api/v1/comments", content=deep), 413)


# --- field lengths ----------------------------------------------------------------------------

# Each field's limit, in characters.
LIMITS = {
    "author.name": 50,
    "author.email": 254,
    "author.url": 300,
    "body": 5000,
    "site": 128,
    "thread": 128,
    "parent": 64,
}
EMAIL_TAIL = "@example.com"
URL_HEAD = "https://example.com/"


def sized(where: str, length: int) -> str:
    """A value for the field, `length` characters long, well formed but for its length."""
    if where == "author.email":
        return "e" * (length - len(EMAIL_TAIL)) + EMAIL_TAIL
    if where == "author.url":
        return URL_HEAD + "u" * (length - len(URL_HEAD))
    return "x" * length


def new_comment(where: str, value: str, thread: str = THREAD) -> dict[str, object]:
    data = comment_json(thread=thread)
    author: dict[str, object] = {"name": "Reader"}
    data["author"] = author
    if where.startswith("author."):
        author[where.removeprefix("author.")] = value
    else:
        data[where] = value
    return data


@pytest.mark.parametrize("where", LIMITS.keys())
async def test_one_character_over_a_fields_limit_is_422_naming_it(
    server: Running, http: httpx.AsyncClient, where: str
) -> None:
    """One character over a field's limit is 422 naming that field; at the limit it is not."""
    limit = LIMITS[where]
    at_limit, over = sized(where, limit), sized(where, limit + 1)
    assert (len(at_limit), len(over)) == (limit, limit + 1)
    async with reader(server.ws(SITE, THREAD)) as r:
        answer = await http.post("/api/v1/comments", json=new_comment(where, over))
        error = refused_as_json(answer, 422)
        fields = error["fields"]
        assert isinstance(fields, dict) and list(fields) == [where], fields
        assert str(limit) in fields[where]
        # Exactly at the limit, the length is not what is wrong: a comment posts (on another
        # thread, so this reader's thread stays untouched), or for a site or parent that does
        # not exist, the answer says so rather than "too long".
        fine = await http.post("/api/v1/comments", json=new_comment(where, at_limit, "article-2"))
        if where == "site":
            assert fine.status_code == 404, fine.text
        elif where == "parent":
            refused_as_json(fine, 422)
            assert str(limit) not in decode_json(fine.content)["fields"]["parent"]  # type: ignore[index]
        else:
            assert fine.status_code == 201, fine.text
        # An edit is held to the body's limit too.
        if where == "body":
            posted = decode_json(fine.content)
            cid = str(posted["comment"]["id"])  # type: ignore[index]
            edit = await http.patch(
                f"/api/v1/comments/{cid}",
                json={"body": over},
                headers={"X-Edit-Token": str(posted["edit_token"])},
            )
            assert list(refused_as_json(edit, 422)["fields"]) == ["body"]  # type: ignore[call-overload]
        await only_the_next_post_arrives(http, r)


async def test_idempotency_key_over_200_characters_is_422(
    server: Running, http: httpx.AsyncClient
) -> None:
    """An Idempotency-Key over 200 characters is 422 naming it; 200 characters are accepted."""
    async with reader(server.ws(SITE, THREAD)) as r:
        answer = await http.post(
            "/api/v1/comments", json=comment_json(), headers={"Idempotency-Key": "k" * 201}
        )
        error = refused_as_json(answer, 422)
        assert list(error["fields"]) == ["idempotency_key"]  # type: ignore[call-overload]
        fine = await http.post(
            "/api/v1/comments",
            json=comment_json(thread="article-2"),
            headers={"Idempotency-Key": "k" * 200},
        )
        assert fine.status_code == 201, fine.text
        await only_the_next_post_arrives(http, r)


async def test_socket_with_an_overlong_thread_gets_1008(server: Running) -> None:
    """A socket asking for a 129-character thread gets an error frame and close 1008."""
    async with reader(server.ws(SITE, THREAD)) as bystander:
        r, w = await handshake(server.port, "t" * 129)
        try:
            assert await close_code(r) == 1008
        finally:
            w.close()
        with pytest.raises(TimeoutError):
            await bystander.frame(within=QUIET)
