"""Property-based tests (issue item 9): the API payload decoders, the websocket frame decoder,
and a real server fed fuzzed requests and frames. Any input gives a documented error or a valid
result: never a 500, never an exception of another kind, never a crashed server."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from server import events
from server.names import impersonates
from server.render import clean_name, render
from server.settings import Settings
from server.threads.authors import RESERVED_NAMES
from server.validation import (
    BODY_MAX,
    NAME_MAX,
    CleanComment,
    EditComment,
    ModerationRequest,
    NewAuthor,
    NewComment,
    RequestError,
    ThreadModeration,
    decode,
    error_body,
    validate_comment,
)
from tests.support.clients import WAIT, Reader, Tokens, provision
from tests.support.server import Running, serve

# -- strategies ---------------------------------------------------------------------------

# Field names of the requests and frames, so generated objects often reach the typed paths.
KEYS = st.sampled_from(
    [
        "site",
        "thread",
        "author",
        "name",
        "email",
        "url",
        "notify",
        "body",
        "parent",
        "action",
        "reason",
        "type",
        "seq",
        "id",
        "comment",
        "count",
        "locked",
        "status",
        "html",
        "created",
    ]
) | st.text(max_size=8)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 2, max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=12,
)
# Text that exercises the Markdown renderer, the sanitizer and the name checks.
MARKUP = st.text(
    alphabet="<>&\"'`*_[]()!#-=>|~ \n\t\\:/.ajsvxcript0@\u202e\u200b\u0435", max_size=120
)
NAMES = st.sampled_from(["Ann", "Lisa West", "L1sa W\u0435st", "Moderator", "\u200b", ""]) | MARKUP
URLS = (
    st.none()
    | st.sampled_from(["https://ann.example", "javascript:alert(1)", "http://[", "http://a:x"])
    | st.text(max_size=40)
)
EMAILS = (
    st.none() | st.sampled_from(["ann@example.com", "a@b", "@", "a@@b.c"]) | st.text(max_size=30)
)

VALID: dict[type[Any], dict[str, Any]] = {
    NewComment: {
        "site": "news",
        "thread": "fuzz",
        "author": {"name": "Ann", "email": "ann@example.com", "url": "https://a.example"},
        "body": "Hello *there*",
        "parent": None,
    },
    EditComment: {"body": "Changed"},
    ModerationRequest: {"action": "remove", "reason": "spam"},
    ThreadModeration: {"site": "news", "thread": "fuzz", "action": "lock"},
}
KINDS = list(VALID)


@st.composite
def mutated(draw: st.DrawFn, valid: Any) -> Any:
    """A valid payload with values replaced, keys dropped or added, at any depth."""
    if isinstance(valid, dict):
        out: dict[str, Any] = {}
        for key, value in valid.items():
            choice = draw(st.sampled_from(["keep", "keep", "mutate", "replace", "drop"]))
            if choice == "keep":
                out[key] = value
            elif choice == "mutate":
                out[key] = draw(mutated(value))
            elif choice == "replace":
                out[key] = draw(JSON)
        if draw(st.booleans()):
            out[draw(KEYS)] = draw(JSON)
        return out
    if isinstance(valid, str):
        return draw(st.just(valid) | MARKUP | st.text(max_size=20))
    return draw(JSON)


@st.composite
def byte_edits(draw: st.DrawFn, data: bytes) -> bytes:
    """Bytes with a few flipped, inserted or deleted (breaking JSON, UTF-8, or neither)."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, len(out)))
        byte = draw(st.integers(0, 255))
        operation = draw(st.sampled_from(["flip", "insert", "delete"]))
        if operation == "insert" or not out:
            out.insert(where, byte)
        elif operation == "flip":
            out[min(where, len(out) - 1)] = byte
        else:
            del out[min(where, len(out) - 1)]
    return bytes(out)


def encode(value: Any) -> bytes:
    return msgspec.json.encode(value)


def payloads(valid: Any) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, arbitrary JSON, mutated valid payloads, and byte-edited ones."""
    deep = st.integers(1, 3000).map(lambda n: b'{"site":' + b"[" * n + b"]" * n + b"}")
    return st.one_of(
        st.binary(max_size=120),
        JSON.map(encode),
        mutated(valid).map(encode),
        mutated(valid).map(encode).flatmap(byte_edits),
        deep,
    )


def is_json(data: bytes) -> bool:
    try:
        msgspec.json.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return False
    return True


# -- the decoders, directly ---------------------------------------------------------------

NEW_COMMENT_FIELDS = {"site", "thread", "parent", "author.name", "author.email", "author.url"}
_ID = re.compile(r"[A-Za-z0-9._:\-]+")
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def check_decoded(data: bytes, kind: type[Any]) -> Any:
    """decode(data, kind): a `kind`, or a RequestError that is 400 exactly when the bytes are
    not JSON and 422 naming a field when they are; its error body always encodes."""
    err: RequestError | None = None
    try:
        value = decode(data, kind)
    except RequestError as exc:
        err = exc
    if err is not None:
        assert err.status in (400, 422)
        assert (err.status == 400) == (not is_json(data)), (err.status, data[:80])
        body = msgspec.json.decode(error_body(err))
        assert body["error"] == ("malformed" if err.status == 400 else "invalid")
        assert isinstance(body["message"], str) and body["message"]
        if err.status == 422:
            assert len(err.fields) == 1
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in err.fields.items())
        else:
            assert err.fields == {}
        return None
    assert isinstance(value, kind)
    return value


def check_valid_comment(new: NewComment) -> None:
    """validate_comment: a CleanComment meeting every limit, or a 422 naming the bad fields."""
    err: RequestError | None = None
    try:
        clean = validate_comment(new)
    except RequestError as exc:
        err = exc
    if err is not None:
        assert err.status == 422
        assert err.fields and set(err.fields) <= NEW_COMMENT_FIELDS | {"body"}
        assert all(isinstance(m, str) and m for m in err.fields.values())
        return
    assert isinstance(clean, CleanComment)
    assert _ID.fullmatch(clean.site) and _ID.fullmatch(clean.thread)
    assert clean.parent is None or _ID.fullmatch(clean.parent)
    assert 0 < len(clean.name) <= NAME_MAX and clean_name(clean.name) == clean.name
    assert 0 < len(clean.body) <= BODY_MAX and not _CONTROLS.search(clean.body)
    assert clean.email is None or clean.email == clean.email.lower()
    assert clean.url is None or clean.url.lower().startswith(("http://", "https://"))
    # What post does next with the clean values must not raise either.
    assert isinstance(render(clean.body), str)
    assert isinstance(impersonates(clean.name, ["Lisa West", *RESERVED_NAMES]), bool)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_request_decoder_gives_a_value_or_a_documented_error(
    kind: type[Any], data: st.DataObject
) -> None:
    """For every request type, any bytes decode to that type or to RequestError(400|422);
    a decoded NewComment validates to a CleanComment or RequestError(422)."""
    raw = data.draw(payloads(VALID[kind]))
    value = check_decoded(raw, kind)
    if isinstance(value, NewComment):
        check_valid_comment(value)


@settings(max_examples=300, deadline=None)
@given(
    site=st.text(max_size=10),
    thread=st.text(max_size=10),
    parent=st.none() | st.text(max_size=70),
    name=NAMES,
    email=EMAILS,
    url=URLS,
    body=MARKUP | st.text(max_size=300),
    notify=st.booleans(),
)
def test_comment_validation_gives_a_clean_comment_or_a_422(
    site: str,
    thread: str,
    parent: str | None,
    name: str,
    email: str | None,
    url: str | None,
    body: str,
    notify: bool,
) -> None:
    """Well-typed but arbitrary field values validate, render and are name-checked without
    any exception other than a 422."""
    new = NewComment(
        site=site,
        thread=thread,
        parent=parent,
        body=body,
        author=NewAuthor(name=name, email=email, url=url, notify=notify),
    )
    check_valid_comment(new)


SAMPLE_COMMENT = {
    "id": "c1",
    "parent": None,
    "status": "visible",
    "author": {"name": "Ann", "url": None},
    "html": "<p>Hi</p>",
    "created": "2026-11-28T10:00:00Z",
    "edited": None,
    "pinned": False,
}
VALID_FRAMES: list[dict[str, Any]] = [
    {"type": "hello", "site": "news", "thread": "t", "seq": 3, "locked": False, "version": 1},
    {"type": "comment.created", "seq": 4, "comment": SAMPLE_COMMENT},
    {"type": "comment.edited", "seq": 5, "comment": SAMPLE_COMMENT},
    {"type": "comment.removed", "seq": 6, "id": "c1"},
    {"type": "thread.locked", "seq": 7},
    {"type": "presence", "count": 2},
    {"type": "resync", "seq": 7, "reason": "pruned"},
    {"type": "error", "code": "invalid", "message": "no"},
]


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_frame_decoder_gives_a_frame_or_a_decode_error(data: st.DataObject) -> None:
    """events.decode_frame on any bytes or text is a frame (which re-encodes to the same
    frame) or msgspec.DecodeError / ValidationError, never another exception."""
    valid = data.draw(st.sampled_from(VALID_FRAMES))
    raw = data.draw(payloads(valid))
    as_text = data.draw(st.booleans())
    message: bytes | str = raw
    if as_text:
        message = raw.decode("utf-8", errors="replace")
    try:
        frame = events.decode_frame(message)
    except msgspec.DecodeError:  # ValidationError is a subclass
        return
    assert isinstance(frame, events.Frame)
    assert events.decode_frame(events.encode(frame)) == frame


def test_valid_frames_decode_and_deep_or_broken_ones_are_decode_errors() -> None:
    """The sample frames are valid; invalid UTF-8 and extreme nesting (even in a field the
    decoder skips) are DecodeErrors, as for any other malformed frame."""
    for valid in VALID_FRAMES:
        assert isinstance(events.decode_frame(encode(valid)), events.Frame)
    deep = b"[" * 100_000
    for bad in (
        b'{"type":"hello\xff"}',
        b'{"type":"presence","count":1,"x":' + deep + b"]" * 100_000 + b"}",
        b'{"type":"presence","count":1,"x":' + deep,
    ):
        with pytest.raises(msgspec.DecodeError):
            events.decode_frame(bad)
        # The hub reads a seq off bus messages this way: an int or a DecodeError, nothing else.
        with contextlib.suppress(msgspec.DecodeError):
            assert isinstance(events.seq_of(bad), int)


# -- a real server ------------------------------------------------------------------------

HTTP_MAX = 2048
WS_MAX = 4096
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PARENT = "$parent"  # replaced with a real comment's id


@pytest.fixture
async def fuzz_settings(settings: Settings) -> Settings:
    # Small limits, so fuzzed inputs reach the 413 and 1009 paths cheaply.
    return settings.replace(demo=False, http_max_bytes=HTTP_MAX, ws_max_bytes=WS_MAX)


class Target:
    """One server for a whole hypothesis run, with what the examples refer to."""

    def __init__(self, running: Running, tokens: Tokens, http: httpx.AsyncClient) -> None:
        self.running = running
        self.tokens = tokens
        self.http = http
        self.parent = ""

    async def prepare(self) -> None:
        answer = await self.http.post("/api/v1/comments", json=VALID[NewComment])
        assert answer.status_code == 201
        self.parent = answer.json()["comment"]["id"]
        locked = await self.http.post(
            "/api/v1/threads/moderation",
            json={"site": "news", "thread": "locked", "action": "lock"},
            headers={"Authorization": f"Bearer {self.tokens.news}"},
        )
        assert locked.status_code == 200

    async def still_answers(self) -> None:
        health = await self.http.get("/healthz")
        assert health.status_code == 200
        answer = await self.http.post("/api/v1/comments", json=VALID[NewComment])
        assert answer.status_code == 201, answer.text


@pytest.fixture
async def target(fuzz_settings: Settings) -> AsyncIterator[Target]:
    tokens = await provision(fuzz_settings)
    async with (
        serve(fuzz_settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        found = Target(running, tokens, http)
        await found.prepare()
        yield found
        await found.still_answers()


HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "Idempotency-Key": st.sampled_from(["k1", "k2", "x" * 201]) | HEADER_TEXT,
        "Content-Type": st.sampled_from(["application/json", "text/plain", "multipart/form-data"])
        | HEADER_TEXT,
        "Authorization": st.sampled_from(["Bearer $news", "Bearer $other", "Bearer", "Basic x"])
        | HEADER_TEXT,
        "Origin": st.sampled_from(
            ["https://news.example", "null", "http://[", "https://evil.example"]
        )
        | HEADER_TEXT,
    },
).map(lambda h: {k: v.strip() for k, v in h.items()})
# Biased towards plausible posts, so that many get past decoding and validation to the
# origin, token, name, lock, parent and rendering paths (and some all the way to 201).


def mostly(common: list[Any], rare: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """One of `common` three times in four, else something from `rare`."""
    return st.integers(0, 3).flatmap(lambda n: rare if n == 0 else st.sampled_from(common))


POSTS = st.fixed_dictionaries(
    {
        "site": mostly(["news", "news", "other", "nope"], st.text(max_size=5)),
        "thread": mostly(["fuzz", "fuzz", "locked"], st.text(max_size=5)),
        "author": st.fixed_dictionaries(
            {"name": mostly(["Ann", "Bob", "Lisa West", "Moderator"], NAMES)},
            optional={
                "email": mostly(["ann@example.com", None], EMAILS),
                "url": mostly(["https://ann.example/", None], URLS),
                "notify": st.booleans(),
            },
        ),
        "body": mostly(
            ["Hello", "*Hi* [x](https://x.example)"],
            MARKUP | st.text(max_size=200) | st.characters().map(lambda c: c * 3000),
        ),
    },
    optional={"parent": mostly([None, PARENT], st.text(max_size=70))},
)
POST_BODIES = st.one_of(
    POSTS.map(encode),
    POSTS.map(encode),
    POSTS.map(encode),
    POSTS.map(encode).flatmap(byte_edits),
    mutated(VALID[NewComment]).map(encode),
    st.binary(max_size=200),
    JSON.map(encode),
    st.binary(min_size=HTTP_MAX + 1, max_size=HTTP_MAX + 100),
)
POST_STATUSES = {201, 400, 404, 409, 413, 422, 429}


def error_shape(answer: httpx.Response) -> None:
    """A refusal is JSON: `{error, message, fields?}`."""
    assert answer.headers["content-type"].startswith("application/json"), answer.headers
    body = msgspec.json.decode(answer.content)
    assert isinstance(body, dict) and isinstance(body.get("error"), str), body
    assert isinstance(body.get("message"), str), body
    assert set(body) <= {"error", "message", "fields"}, body


@FUZZ
@given(body=POST_BODIES, headers=st.just({}) | HEADERS)
async def test_fuzzed_posts_get_a_documented_answer_never_a_500(
    target: Target, body: bytes, headers: dict[str, str]
) -> None:
    """POST /api/v1/comments with fuzzed bodies and headers answers 201 or a JSON refusal
    (400, 404, 409, 413, 422, 429; 401 with an Authorization header, 403 with an Origin)."""
    body = body.replace(PARENT.encode(), target.parent.encode())
    for name, value in headers.items():
        value = value.replace("$news", target.tokens.news).replace("$other", target.tokens.other)
        headers[name] = value
    answer = await target.http.post("/api/v1/comments", content=body, headers=headers)
    allowed = set(POST_STATUSES)
    if "Authorization" in headers:
        allowed.add(401)
    if "Origin" in headers:
        allowed.add(403)
    assert answer.status_code in allowed, (answer.status_code, answer.text[:300])
    event(f"status {answer.status_code}")
    if answer.status_code == 201:
        created = answer.json()
        assert set(created) == {"comment", "edit_token"}
    else:
        error_shape(answer)


@FUZZ
@given(
    site=st.sampled_from(["news", "other", "nope"]) | st.text(max_size=8),
    threads=st.lists(st.sampled_from(["fuzz", "locked"]) | st.text(max_size=8), max_size=3),
    authorization=st.none() | st.sampled_from(["Bearer $news", "Bearer $other"]) | HEADER_TEXT,
)
async def test_fuzzed_reads_get_a_documented_answer_never_a_500(
    target: Target, site: str, threads: list[str], authorization: str | None
) -> None:
    """The snapshot and counts with fuzzed parameters answer 200 or a JSON refusal."""
    headers = {}
    if authorization is not None:
        headers["Authorization"] = (
            authorization.strip()
            .replace("$news", target.tokens.news)
            .replace("$other", target.tokens.other)
        )
    snapshot = await target.http.get(
        "/api/v1/threads",
        params={"site": site, "thread": threads[0] if threads else ""},
        headers=headers,
    )
    assert snapshot.status_code in {200, 401, 403, 404, 422}, snapshot.text[:300]
    counts = await target.http.get("/api/v1/counts", params={"site": site, "thread": threads})
    assert counts.status_code in {200, 404, 422}, counts.text[:300]
    for answer in (snapshot, counts):
        if answer.status_code != 200:
            error_shape(answer)


@FUZZ
@given(
    site=st.sampled_from(["news", "nope"]) | st.text(max_size=8),
    thread=st.sampled_from(["fuzz"]) | st.text(max_size=8),
    since=st.none()
    | st.sampled_from(["0", "1", "\u00b2", "\u0663", "-1", "1e3", "9" * 19, " 1"])
    | st.text(max_size=8),
)
async def test_fuzzed_socket_parameters_get_hello_or_a_policy_close(
    target: Target, site: str, thread: str, since: str | None
) -> None:
    """WS /ws/v1/threads with fuzzed site, thread and since: hello, or an error frame and
    close 1008; never a failed handshake (500) or an internal-error close (1011)."""
    query: dict[str, str] = {"site": site, "thread": thread}
    if since is not None:
        query["since"] = since
    url = f"ws://127.0.0.1:{target.running.port}/ws/v1/threads?{urlencode(query)}"
    try:
        async with asyncio.timeout(WAIT):
            ws = await connect(url, open_timeout=WAIT, close_timeout=2)
    except InvalidStatus as exc:
        raise AssertionError(f"handshake refused: {exc.response.status_code}") from None
    try:
        async with asyncio.timeout(WAIT):
            first = events.decode_frame(await ws.recv())
            event(type(first).__name__)
            if isinstance(first, events.Hello):
                return
            assert isinstance(first, events.Error), first
            closed: ConnectionClosed | None = None
            try:
                await ws.recv()
            except ConnectionClosed as exc:
                closed = exc
            assert closed is not None, "an error frame must be followed by a close"
            assert closed.rcvd is not None and closed.rcvd.code == 1008, closed
    finally:
        async with asyncio.timeout(WAIT):
            await ws.close()


Message = tuple[str, Any]
MESSAGES = st.lists(
    st.one_of(
        st.tuples(st.just("text"), st.text(max_size=200)),
        st.tuples(st.just("text"), JSON.map(lambda v: encode(v).decode())),
        st.tuples(st.just("binary"), st.binary(max_size=200)),
        st.tuples(st.just("raw text"), st.binary(min_size=1, max_size=40)),
        st.tuples(st.just("fragments"), st.lists(st.text(max_size=40), min_size=1, max_size=4)),
        st.tuples(st.just("ping"), st.binary(max_size=125)),
        st.tuples(st.just("too big"), st.integers(WS_MAX + 1, WS_MAX + 2000)),
    ),
    max_size=5,
)


def expected_closes(messages: list[Message]) -> set[int]:
    """The close codes the server may answer the bad messages with; none if all are fine.

    Usually the first bad message's, but a message too big is refused while the frames are
    parsed, before the invalid UTF-8 of an earlier text frame that arrived with it is seen.
    """
    codes = set()
    for kind, value in messages:
        if kind == "too big":
            codes.add(1009)
        if kind == "raw text":
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                codes.add(1007)
    return codes


async def send(ws: ClientConnection, n: int, kind: str, value: Any) -> None:
    if kind in ("text", "binary"):
        await ws.send(value)
    elif kind == "raw text":
        await ws.send(value, text=True)  # the bytes as a text frame, valid UTF-8 or not
    elif kind == "fragments":
        await ws.send(iter(value))
    elif kind == "ping":
        await ws.ping(bytes([n]) + value[:124])  # the library wants distinct pings
    else:
        await ws.send(b"x" * value)


@pytest.fixture
async def quiet(target: Target) -> AsyncIterator[Reader]:
    """A reader of the fuzzed thread that sends nothing."""
    async with asyncio.timeout(WAIT):
        ws = await connect(target.running.ws("news", "fuzz"), open_timeout=WAIT, close_timeout=2)
    try:
        reader = Reader(ws)
        await reader.expect(events.Hello)
        yield reader
    finally:
        async with asyncio.timeout(WAIT):
            await ws.close()


@FUZZ
@given(messages=MESSAGES)
async def test_fuzzed_client_frames_never_crash_the_socket_or_its_neighbours(
    target: Target, quiet: Reader, messages: list[Message]
) -> None:
    """Whatever a reader sends (text, binary, invalid UTF-8, fragments, pings, oversized
    messages), its socket stays open and live or closes with the documented code (1007, 1009),
    and a quiet reader of the same thread keeps receiving every event."""
    async with asyncio.timeout(WAIT):
        ws = await connect(target.running.ws("news", "fuzz"), open_timeout=WAIT, close_timeout=2)
    fuzzed = Reader(ws)
    try:
        await fuzzed.expect(events.Hello)
        closed: ConnectionClosed | None = None
        try:
            async with asyncio.timeout(WAIT):
                for n, (kind, value) in enumerate(messages):
                    await send(ws, n, kind, value)
        except ConnectionClosed as exc:
            closed = exc
        answer = await target.http.post("/api/v1/comments", json=VALID[NewComment])
        assert answer.status_code == 201, answer.text
        posted = answer.json()["comment"]["id"]
        (created,) = await quiet.events(1)
        assert isinstance(created, events.CommentCreated) and created.comment.id == posted
        wanted = expected_closes(messages)
        event(f"expected close {sorted(wanted)}")
        if not wanted:
            # Open and live: it gets the new comment like any reader.
            assert closed is None, closed
            (created,) = await fuzzed.events(1)
            assert isinstance(created, events.CommentCreated) and created.comment.id == posted
            return
        if closed is None:
            try:
                async with asyncio.timeout(WAIT):
                    while True:  # the new comment may come before the close
                        await ws.recv()
            except ConnectionClosed as exc:
                closed = exc
        assert closed.rcvd is not None, closed
        assert closed.rcvd.code in wanted, closed
        assert closed.rcvd.code in {1000, 1003, 1007, 1008, 1009}
    finally:
        async with asyncio.timeout(WAIT):
            await ws.close()
