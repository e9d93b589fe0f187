"""Single sign-on (issue 16): a publisher signs a token for its reader; livethread checks it and
the reader posts, edits and deletes as their account. Real server on a free port, real tokens
(HS256, RS256 with a public key, ES256 from a JWKS served by a local server)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server import events
from server.accounts.ports import SignIn
from server.settings import Settings
from server.web.app import store_for
from tests.support.clients import WAIT, Tokens, comment_json, decode_json, reader
from tests.support.local_http import served
from tests.support.server import Running, serve

SECRET = "s" * 40
OTHER_SECRET = "o" * 40
THREAD = "article-1"
SNAPSHOT = f"/api/v1/threads?site=news&thread={THREAD}"


def claims(**changes: Any) -> dict[str, Any]:
    """A valid token's claims for site "news", with `changes` (None removes a claim)."""
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "reader-42",
        "name": "Ann Reader",
        "email": "Ann@Example.com",
        "picture": "https://news.example/avatars/42.png",
        "aud": "news",
        "iat": now,
        "exp": now + 600,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def hs256(secret: str = SECRET, **changes: Any) -> str:
    return jwt.encode(claims(**changes), secret, algorithm="HS256")


def signed(token: str) -> dict[str, str]:
    return {"X-Account-Token": token}


def new_post(body: str = "Signed in", **author: str) -> dict[str, object]:
    """A post as the widget sends it for a signed-in reader: no name at all."""
    data = comment_json(body, thread=THREAD)
    data["author"] = dict(author)
    return data


async def set_sign_in(settings: Settings, sign_in: SignIn) -> None:
    store = store_for(settings)
    await store.open()
    try:
        await store.sign_ins.put(sign_in)
    finally:
        await store.close()


@asynccontextmanager
async def running(
    settings: Settings, sign_in: SignIn
) -> AsyncIterator[tuple[Running, httpx.AsyncClient]]:
    """The server, with `sign_in` set for its site "news", and a client of its API."""
    await set_sign_in(settings, sign_in)
    async with (
        serve(settings) as server,
        httpx.AsyncClient(base_url=server.http, timeout=WAIT) as http,
    ):
        yield server, http


def hs_site(**changes: Any) -> SignIn:
    return SignIn(site="news", audience="news", secret=SECRET, **changes)


async def count(http: httpx.AsyncClient) -> int:
    answer = await http.get(SNAPSHOT)
    assert answer.status_code == 200
    value = decode_json(answer.content)["count"]
    assert isinstance(value, int)
    return value


async def test_a_signed_in_reader_posts_under_their_account(
    settings: Settings, tokens: Tokens
) -> None:
    """An HS256 token lets a reader post with no name: the comment carries the account's name,
    avatar and public key (never the account id or email), the store keeps id and email."""
    async with running(settings, hs_site()) as (_, http):
        answer = await http.post("/api/v1/comments", json=new_post(), headers=signed(hs256()))
        assert answer.status_code == 201, answer.text
        author = decode_json(answer.content)["comment"]["author"]  # type: ignore[index]
        assert author["name"] == "Ann Reader"
        assert author["avatar"] == "https://news.example/avatars/42.png"
        assert isinstance(author["key"], str) and len(author["key"]) == 16
        assert "reader-42" not in answer.text and "example.com" not in answer.text.lower()
        me = await http.get("/api/v1/account?site=news", headers=signed(hs256()))
        assert me.status_code == 200, me.text
        assert decode_json(me.content) == {
            "site": "news",
            "policy": "both",
            "name": "Ann Reader",
            "key": author["key"],
            "avatar": "https://news.example/avatars/42.png",
            "roles": [],
        }
        cid = decode_json(answer.content)["comment"]["id"]  # type: ignore[index]
    store = store_for(settings)
    await store.open()
    try:
        record = await store.comments.get(str(cid))
        account = await store.accounts.get("news", "reader-42")
    finally:
        await store.close()
    assert record is not None and record.account == "reader-42"
    assert record.author_email == "ann@example.com" and record.edit_token_hash is not None
    assert account is not None and account.name == "Ann Reader"


def rsa_pem() -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key, pem.decode()


async def test_an_rs256_token_verifies_with_the_sites_public_key(
    settings: Settings, tokens: Tokens
) -> None:
    """A site with an RS256 public key takes tokens its private key signed."""
    key, pem = rsa_pem()
    async with running(settings, SignIn(site="news", audience="news", public_key=pem)) as (_, http):
        token = jwt.encode(claims(), key, algorithm="RS256")
        answer = await http.post("/api/v1/comments", json=new_post(), headers=signed(token))
        assert answer.status_code == 201, answer.text
        # The old confusion: an HS256 token keyed with the public key's text is refused.
        forged = hmac_signed(claims(), pem.encode())
        refused = await http.post("/api/v1/comments", json=new_post(), headers=signed(forged))
        assert refused.status_code == 401
        assert "signed with RS256 or ES256, not HS256" in refused.text
        assert await count(http) == 1


def hmac_signed(payload: dict[str, Any], secret: bytes) -> str:
    """An HS256 JWT made by hand: PyJWT itself refuses to use a public key as an HMAC secret."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = part(json.dumps(payload).encode())
    signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{part(signature)}"


class Jwks:
    """A publisher's JWKS endpoint: its keys can be rotated; counts the fetches."""

    def __init__(self) -> None:
        self.keys: dict[str, ec.EllipticCurvePrivateKey] = {}
        self.fetches = 0
        self.app = Starlette(routes=[Route("/jwks.json", self.document)])

    def add(self, kid: str) -> ec.EllipticCurvePrivateKey:
        self.keys[kid] = ec.generate_private_key(ec.SECP256R1())
        return self.keys[kid]

    async def document(self, request: Request) -> JSONResponse:
        self.fetches += 1
        keys = []
        for kid, key in self.keys.items():
            jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
            keys.append({**jwk, "kid": kid, "alg": "ES256", "use": "sig"})
        return JSONResponse({"keys": keys})


def es256(key: ec.EllipticCurvePrivateKey, kid: str, **changes: Any) -> str:
    return jwt.encode(claims(**changes), key, algorithm="ES256", headers={"kid": kid})


async def test_es256_tokens_verify_with_a_jwks_and_follow_a_key_rotation(
    settings: Settings, tokens: Tokens
) -> None:
    """Keys come from the publisher's JWKS, fetched once and kept; a token signed with a new
    key (rotation) fetches it again; a made-up key id is refused without a fetch per token."""
    jwks = Jwks()
    first = jwks.add("2026-01")
    async with served(jwks.app) as base:
        sign_in = SignIn(site="news", audience="news", jwks_url=f"{base}/jwks.json")
        async with running(settings, sign_in) as (_, http):
            for n in range(3):
                token = es256(first, "2026-01")
                answer = await http.post(
                    "/api/v1/comments", json=new_post(f"post {n}"), headers=signed(token)
                )
                assert answer.status_code == 201, answer.text
            assert jwks.fetches == 1
            second = jwks.add("2026-02")
            answer = await http.post(
                "/api/v1/comments",
                json=new_post("rotated"),
                headers=signed(es256(second, "2026-02")),
            )
            assert answer.status_code == 201, answer.text
            assert jwks.fetches == 2
            stranger = ec.generate_private_key(ec.SECP256R1())
            for _ in range(3):
                refused = await http.post(
                    "/api/v1/comments",
                    json=new_post("forged"),
                    headers=signed(es256(stranger, "made-up")),
                )
                assert refused.status_code == 401
                assert "not among the site's keys" in refused.text
            assert jwks.fetches == 2  # within the refetch interval: no fetch per forged token
            assert await count(http) == 4


def _none_token() -> str:
    return jwt.encode(claims(), None, algorithm="none")  # type: ignore[arg-type]


def _tampered() -> str:
    head, body, signature = hs256().split(".")
    other = hs256(name="Lisa West").split(".")[1]
    assert other != body
    return f"{head}.{other}.{signature}"


REFUSALS = [
    pytest.param(lambda: hs256(exp=int(time.time()) - 120), "has expired", id="expired"),
    pytest.param(lambda: hs256(nbf=int(time.time()) + 600), "not valid yet", id="not-yet-valid"),
    pytest.param(lambda: hs256(aud="elsewhere"), "for another site", id="wrong-audience"),
    pytest.param(
        lambda: hs256(OTHER_SECRET, aud="other"), "signature does not match", id="wrong-site"
    ),
    pytest.param(lambda: hs256(OTHER_SECRET), "signature does not match", id="wrong-key"),
    pytest.param(_none_token, "algorithm 'none' is not accepted", id="alg-none"),
    pytest.param(_tampered, "signature does not match", id="tampered"),
    pytest.param(lambda: hs256(sub=None), "lacks the 'sub' claim", id="no-sub"),
    pytest.param(lambda: hs256(exp=None), "lacks the 'exp' claim", id="no-exp"),
    pytest.param(lambda: hs256(name=None), "lacks the 'name' claim", id="no-name"),
    pytest.param(lambda: "not.a.jwt", "not a readable JWT", id="garbage"),
]


@pytest.mark.parametrize(("make", "says"), REFUSALS)
async def test_an_untrustworthy_token_is_refused_with_401_and_nothing_stored(
    settings: Settings, tokens: Tokens, make: Any, says: str
) -> None:
    """Each bad token answers 401 `unauthorized` saying which check failed; no comment is
    stored and no reader hears of one."""
    async with (
        running(settings, hs_site()) as (server, http),
        reader(server.ws("news", THREAD)) as live,
    ):
        answer = await http.post("/api/v1/comments", json=new_post(), headers=signed(make()))
        assert answer.status_code == 401, answer.text
        body = decode_json(answer.content)
        assert body["error"] == "unauthorized"
        assert says in str(body["message"])
        assert await count(http) == 0
        # A post after it is the first event the reader gets: the refused one made none.
        ok = await http.post("/api/v1/comments", json=comment_json("anon", thread=THREAD))
        assert ok.status_code == 201
        created = await live.expect(events.CommentCreated)
        assert created.seq == 1


async def test_a_site_for_accounts_only_refuses_anonymous_posts(
    settings: Settings, tokens: Tokens
) -> None:
    """With the policy "accounts", an anonymous post is 401 (a moderator's is not); a signed-in
    one goes through."""
    async with running(settings, hs_site(policy="accounts")) as (_, http):
        anonymous = await http.post("/api/v1/comments", json=comment_json(thread=THREAD))
        assert anonymous.status_code == 401
        assert "Sign in to comment" in anonymous.text
        moderator = await http.post(
            "/api/v1/comments",
            json=comment_json(name="Lisa West", thread=THREAD),
            headers={"Authorization": f"Bearer {tokens.news}"},
        )
        assert moderator.status_code == 201, moderator.text
        answer = await http.post("/api/v1/comments", json=new_post(), headers=signed(hs256()))
        assert answer.status_code == 201
        assert await count(http) == 2


async def test_an_anonymous_reader_cannot_take_a_signed_in_readers_name(
    settings: Settings, tokens: Tokens
) -> None:
    """Once Ann Reader has signed in, an anonymous "ann  READER" (a look-alike) is a 422 on
    the name; other names pass; a site without sign-in protects no account names."""
    async with running(settings, hs_site()) as (_, http):
        await http.post("/api/v1/comments", json=new_post(), headers=signed(hs256()))
        taken = await http.post(
            "/api/v1/comments", json=comment_json(name="ann  READER", thread=THREAD)
        )
        assert taken.status_code == 422, taken.text
        assert "author.name" in decode_json(taken.content)["fields"]  # type: ignore[operator]
        free = await http.post(
            "/api/v1/comments", json=comment_json(name="Ann Other", thread=THREAD)
        )
        assert free.status_code == 201


async def test_a_signed_in_reader_edits_and_deletes_their_own_comment_from_any_device(
    settings: Settings, tokens: Tokens
) -> None:
    """Another device (a fresh token, no edit token) reads the comment's source, edits and
    deletes it; another account's token and no token at all are 403 for each."""
    async with running(settings, hs_site()) as (_, http):
        answer = await http.post("/api/v1/comments", json=new_post(), headers=signed(hs256()))
        cid = decode_json(answer.content)["comment"]["id"]  # type: ignore[index]
        path = f"/api/v1/comments/{cid}"
        stranger = signed(hs256(sub="reader-7", name="Bo"))
        for headers in (stranger, {}):
            refused = await http.patch(path, json={"body": "not yours"}, headers=headers)
            assert refused.status_code == 403, refused.text
        later = signed(hs256(iat=int(time.time()) + 1))
        source = await http.get(f"{path}/source", headers=later)
        assert source.status_code == 200, source.text
        assert decode_json(source.content) == {"id": cid, "body": "Signed in"}
        for headers in (stranger, {}):
            assert (await http.get(f"{path}/source", headers=headers)).status_code == 403
        edited = await http.patch(path, json={"body": "Edited elsewhere"}, headers=later)
        assert edited.status_code == 200, edited.text
        assert "Edited elsewhere" in edited.text
        assert (await http.delete(path, headers=stranger)).status_code == 403
        deleted = await http.delete(path, headers=later)
        assert deleted.status_code == 200, deleted.text
        assert decode_json(deleted.content)["comment"]["status"] == "removed"  # type: ignore[index]


async def test_the_account_endpoint_without_a_token_gives_the_policy(
    settings: Settings, tokens: Tokens
) -> None:
    """`GET /api/v1/account` without a token names the policy only; a site without sign-in is
    "anonymous", and a token sent there is refused."""
    async with running(settings, hs_site(policy="accounts")) as (_, http):
        answer = await http.get("/api/v1/account?site=news")
        assert decode_json(answer.content)["policy"] == "accounts"
        other = await http.get("/api/v1/account?site=other")
        assert decode_json(other.content)["policy"] == "anonymous"
        refused = await http.get("/api/v1/account?site=other", headers=signed(hs256()))
        assert refused.status_code == 401
        assert "cannot sign in on this site" in refused.text
