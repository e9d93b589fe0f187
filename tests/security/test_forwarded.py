"""X-Forwarded-For and X-Forwarded-Proto (issue 13 item 9, server/web/forwarded.py): believed only
from the trusted proxies, walked from the right, and only well-formed addresses and http(s)
schemes taken; bad LIVETHREAD_FORWARDED_ALLOW_IPS values refused at start."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from server.settings import Settings, SettingsError
from server.web.forwarded import ForwardedHeaders, parse_address
from tests.support.clients import WAIT, Tokens, comment_json
from tests.support.server import serve

CLIENT = "203.0.113.7"
PROXY = "127.0.0.1"


class Seen:
    """An ASGI app that keeps the scope it was called with."""

    def __init__(self) -> None:
        self.scope: dict[str, Any] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scope = scope


async def _resolve(
    trusted: str,
    peer: str | None,
    *headers: tuple[str, str],
    kind: str = "http",
) -> tuple[str | None, str]:
    """The (client host, scheme) the app sees behind the middleware."""
    app = Seen()
    scope: dict[str, Any] = {
        "type": kind,
        "scheme": "http" if kind == "http" else "ws",
        "client": None if peer is None else (peer, 50000),
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers],
    }

    async def receive() -> Any:
        raise AssertionError("not read")

    async def send(message: Any) -> None:
        raise AssertionError("not sent")

    await ForwardedHeaders(app, trusted=trusted)(scope, receive, send)
    client = app.scope["client"]
    return (None if client is None else client[0]), app.scope["scheme"]


def _xff(value: str) -> tuple[str, str]:
    return ("X-Forwarded-For", value)


async def test_a_trusted_proxy_names_the_client() -> None:
    """From the trusted proxy, X-Forwarded-For's address is the client."""
    assert await _resolve(PROXY, PROXY, _xff(CLIENT)) == (CLIENT, "http")


async def test_an_untrusted_peer_cannot_forge_its_address_or_scheme() -> None:
    """A peer outside the trusted networks keeps its own address and scheme, whatever it says."""
    forged = await _resolve("10.0.0.0/8", PROXY, _xff(CLIENT), ("X-Forwarded-Proto", "https"))
    assert forged == (PROXY, "http")
    assert await _resolve("", PROXY, _xff(CLIENT)) == (PROXY, "http")


@pytest.mark.parametrize(
    "junk",
    [
        "unknown",
        "",
        " ",
        "_hidden",
        "1.2.3",
        "999.1.1.1",
        "<script>alert(1)</script>",
        f"{CLIENT} extra",
        f"{CLIENT}:port",
        "::g",
        "[2001:db8::7",
        "[2001:db8::7]x",
        "fe80::1%eth0",
        "example.com",
        "\u0661.\u0662.\u0663.\u0664",  # Arabic-Indic digits
    ],
)
async def test_a_junk_entry_leaves_the_direct_peer(junk: str) -> None:
    """An entry that is not an IP address is never the client: the direct peer stands, also
    when the junk sits behind a good address or in front of trusted hops."""
    assert await _resolve(PROXY, PROXY, _xff(junk)) == (PROXY, "http")
    assert await _resolve(PROXY, PROXY, _xff(f"{CLIENT}, {junk}")) == (PROXY, "http")
    trusted = f"{PROXY},10.0.0.0/8"
    assert await _resolve(trusted, PROXY, _xff(f"{junk}, 10.0.0.2")) == (PROXY, "http")


@pytest.mark.parametrize(
    ("entry", "client"),
    [
        (f"{CLIENT}:4711", CLIENT),
        ("2001:DB8::7", "2001:db8::7"),
        ("[2001:db8::7]", "2001:db8::7"),
        ("[2001:db8::7]:443", "2001:db8::7"),
        ("::ffff:203.0.113.7", CLIENT),
        (f" {CLIENT} ", CLIENT),
    ],
)
async def test_ports_brackets_and_ipv6_forms_are_read(entry: str, client: str) -> None:
    """An optional port and brackets are stripped, IPv6 is canonical, IPv4-mapped is IPv4."""
    assert await _resolve(PROXY, PROXY, _xff(entry)) == (client, "http")


async def test_ipv6_proxies_are_trusted_by_address_and_network() -> None:
    """IPv6 peers are matched against IPv6 addresses and networks in the setting."""
    assert await _resolve("::1", "::1", _xff(CLIENT)) == (CLIENT, "http")
    assert await _resolve("fd00::/8", "fd00::5", _xff("2001:db8::9")) == ("2001:db8::9", "http")
    assert await _resolve("fd00::/8", "fe80::5", _xff(CLIENT)) == ("fe80::5", "http")


@pytest.mark.parametrize(
    ("chain", "client"),
    [
        # A client's own forged entry sits to the left of the address the first proxy saw.
        (f"198.51.100.66, {CLIENT}, 10.0.0.2", CLIENT),
        (f"{CLIENT}, 10.0.0.2, 10.0.0.3", CLIENT),
        ("10.0.0.2, 10.0.0.3", "10.0.0.2"),  # every hop trusted: the leftmost
        (f"{CLIENT},10.0.0.2", CLIENT),
    ],
)
async def test_a_chain_is_walked_from_the_right_past_trusted_hops(chain: str, client: str) -> None:
    """The first address from the right that is not a trusted proxy is the client."""
    assert await _resolve(f"{PROXY},10.0.0.0/8", PROXY, _xff(chain)) == (client, "http")


async def test_several_headers_form_one_chain() -> None:
    """Two X-Forwarded-For header lines read as one list, in order."""
    found = await _resolve(f"{PROXY},10.0.0.0/8", PROXY, _xff(CLIENT), _xff("10.0.0.2"))
    assert found == (CLIENT, "http")


async def test_star_trusts_every_peer() -> None:
    """ "*" believes any peer, including one with no address (a Unix socket)."""
    assert await _resolve("*", "198.51.100.1", _xff(CLIENT)) == (CLIENT, "http")
    assert await _resolve("*", None, _xff(CLIENT)) == (CLIENT, "http")
    assert await _resolve("*", None, _xff("junk")) == (None, "http")


@pytest.mark.parametrize(
    ("proto", "kind", "scheme"),
    [
        ("https", "http", "https"),
        ("HTTPS", "http", "https"),
        ("wss", "http", "https"),
        ("https", "websocket", "wss"),
        ("http", "websocket", "ws"),
        ("http, https", "http", "https"),
        ("javascript", "http", "http"),
        ("ftp", "websocket", "ws"),
        ("", "http", "http"),
        ("https junk", "http", "http"),
    ],
)
async def test_only_http_or_https_is_taken_as_the_scheme(
    proto: str, kind: str, scheme: str
) -> None:
    """X-Forwarded-Proto sets http/https (ws/wss for sockets); anything else is ignored."""
    found = await _resolve(PROXY, PROXY, ("X-Forwarded-Proto", proto), kind=kind)
    assert found[1] == scheme


async def test_other_scopes_pass_untouched() -> None:
    """Lifespan messages go through as they are."""
    app = Seen()
    scope = {"type": "lifespan"}

    async def receive() -> Any:
        raise AssertionError("not read")

    async def send(message: Any) -> None:
        raise AssertionError("not sent")

    await ForwardedHeaders(app, trusted="*")(scope, receive, send)
    assert app.scope is scope


def test_parse_address_answers_none_for_junk() -> None:
    """parse_address is the one gate: a value or None, never an exception."""
    assert parse_address("192.0.2.1") is not None
    for junk in ("", "a", "1.2.3.4:", ":80", "[]", "[::1]:", "1.2.3.4:99999999999999999999x"):
        assert parse_address(junk) is None


# -- the setting ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["127.0.0.1", "127.0.0.1, ::1", "10.0.0.0/8,fd00::/8", "*", ""])
def test_good_proxy_settings_pass(value: str) -> None:
    """Addresses, networks, "*" and nothing at all are accepted."""
    Settings(forwarded_allow_ips=value).check()


@pytest.mark.parametrize(
    "value",
    ["localhost", "10.0.0.1/8", "127.0.0.1;10.0.0.1", "300.1.1.1", "10.0.0.0/33", "127.0.0.1, x"],
)
def test_bad_proxy_settings_are_refused_at_start(value: str) -> None:
    """A name, a network with host bits, a wrong separator or a bad address stops the start
    with a message naming LIVETHREAD_FORWARDED_ALLOW_IPS and the bad entry."""
    with pytest.raises(SettingsError, match="LIVETHREAD_FORWARDED_ALLOW_IPS") as refused:
        Settings.from_environ({"LIVETHREAD_FORWARDED_ALLOW_IPS": value}).check()
    assert "is not an IP address or network" in str(refused.value)


# -- through a real server --------------------------------------------------------------------


@pytest.fixture
async def limited(settings: Settings, tokens: Tokens) -> Settings:
    """The test's settings with one post per minute per client address (the others high)."""
    return settings.replace(
        rate_limit=True,
        post_rate_address="1/60",
        post_rate_thread="100/60",
        post_rate_site="100/60",
    )


async def _post(http: httpx.AsyncClient, forwarded_for: str) -> int:
    answer = await http.post(
        "/api/v1/comments", json=comment_json(), headers={"X-Forwarded-For": forwarded_for}
    )
    return answer.status_code


async def test_a_real_server_counts_the_forwarded_client(limited: Settings) -> None:
    """Behind a trusted proxy (this test, from 127.0.0.1), each forwarded address has its own
    post limit; junk entries are all counted as the proxy itself."""
    async with (
        serve(limited.replace(forwarded_allow_ips=PROXY)) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        assert await _post(http, "203.0.113.1") == 201
        assert await _post(http, "203.0.113.1") == 429
        assert await _post(http, "203.0.113.2") == 201
        assert await _post(http, "unknown") == 201  # the proxy's own bucket
        assert await _post(http, "<junk>") == 429  # the same bucket: not a new address


async def test_a_real_server_ignores_an_untrusted_peers_headers(limited: Settings) -> None:
    """When 127.0.0.1 is not a trusted proxy, rotating X-Forwarded-For does not escape the
    per-address limit."""
    async with (
        serve(limited.replace(forwarded_allow_ips="10.0.0.0/8")) as running,
        httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
    ):
        assert await _post(http, "203.0.113.1") == 201
        assert await _post(http, "203.0.113.2") == 429
