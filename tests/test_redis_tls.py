"""Redis over TLS: `rediss://` (one server) and `rediss+cluster://` (Redis Cluster), for the bus
and the shared rate-limit buckets, end to end on real redis-servers that speak TLS only
(`--port 0`), with a certificate from a throwaway CA. A client that is not given the CA is
refused, within its timeout; the cluster URL's TLS options are checked when it is parsed.
"""

from __future__ import annotations

import asyncio
import gc
import re
import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from server import channels
from server.adapters.redis_buckets import RedisBuckets
from server.adapters.redis_bus import RedisBus
from server.adapters.redis_cluster_bus import RedisClusterBus
from server.adapters.redis_cluster_nodes import cluster_nodes, credentials, tls_options
from server.composition import buckets_for, bus_for
from server.limits import BucketsUnavailable, Fallback, Rate
from server.model import ThreadKey
from server.settings import Settings, SettingsError
from tests.support.redis_cluster import RedisCluster
from tests.support.redis_server import HOST, RedisServer, TlsFiles

WAIT = 15.0  # the bound on every wait, in seconds
# A TLS connection that redis-py closes finishes its TLS shutdown in the event loop's own time:
# when a test's loop ends first (pytest-asyncio closes one per test), the socket is collected
# later, unclosed, and Python warns in whichever test is running then (seen once in a loaded
# full run, never alone). That warning says nothing about the code under test here.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
)


@pytest.fixture(autouse=True)
def collected() -> Iterator[None]:
    """Collect each test's closed connections before it ends, while the filter above applies,
    rather than in some later module's test."""
    yield
    gc.collect()


TIMEOUT = 1.0  # the adapters' own timeout
CHANNEL = channels.thread(ThreadKey("news", "article-1"))
SLOW = Rate(1, 60.0)  # one token a minute: a second take is refused
READABLE = __file__  # any file that exists stands for a certificate the parser only checks


class Inbox:
    """A listener keeping what it receives, for a test to await."""

    def __init__(self) -> None:
        self.messages: asyncio.Queue[bytes] = asyncio.Queue()

    def deliver(self, payload: bytes) -> None:
        self.messages.put_nowait(payload)

    def resumed(self) -> None:
        pass

    async def next(self) -> bytes:
        async with asyncio.timeout(WAIT):
            return await self.messages.get()


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return TlsFiles.create(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def server(tls: TlsFiles) -> Iterator[RedisServer]:
    with RedisServer(tls=tls) as private:
        yield private


@pytest.fixture(scope="module")
def cluster(tls: TlsFiles) -> Iterator[RedisCluster]:
    with RedisCluster(tls=tls) as private:
        yield private


def without_ca(url: str) -> str:
    """The URL with its CA file replaced by a demand that the server's certificate be trusted."""
    base, _, _ = url.partition("?")
    return f"{base}?ssl_cert_reqs=required"


def prefix() -> str:
    return f"test-{uuid.uuid4().hex}:"


# -- the bus ------------------------------------------------------------------------------------


async def test_the_bus_publishes_and_receives_over_rediss(server: RedisServer) -> None:
    """A RedisBus publishes over rediss:// and a second one, subscribed over rediss:// (its own
    raw connection), receives the message."""
    assert server.url.startswith("rediss://")
    name, inbox = prefix(), Inbox()
    async with AsyncExitStack() as stack:
        publisher, subscriber = (RedisBus(server.url, name, timeout=TIMEOUT) for _ in range(2))
        for bus in (publisher, subscriber):
            stack.push_async_callback(bus.close)
            await bus.start()
        assert subscriber.connected
        await subscriber.subscribe(CHANNEL, inbox)
        assert subscriber.connected
        assert await publisher.publish(CHANNEL, b"over tls")
        assert await inbox.next() == b"over tls"


async def test_the_cluster_bus_publishes_and_receives_over_rediss_cluster(
    cluster: RedisCluster,
) -> None:
    """A RedisClusterBus publishes over rediss+cluster:// and a second one, subscribed on the
    channel's master over TLS, receives the message."""
    assert cluster.url.startswith("rediss+cluster://")
    name, inbox = prefix(), Inbox()
    async with AsyncExitStack() as stack:
        publisher, subscriber = (
            RedisClusterBus(cluster.url, name, timeout=TIMEOUT, backoff=(0.05, 0.5))
            for _ in range(2)
        )
        for bus in (publisher, subscriber):
            stack.push_async_callback(bus.close)
            await bus.start()
            assert bus.connected
        await subscriber.subscribe(CHANNEL, inbox)
        assert subscriber.connected
        for number in range(3):
            assert await publisher.publish(CHANNEL, str(number).encode())
        assert [await inbox.next() for _ in range(3)] == [b"0", b"1", b"2"]


# -- the buckets --------------------------------------------------------------------------------


async def test_buckets_on_one_server_take_tokens_over_tls(server: RedisServer) -> None:
    """RedisBuckets.on_server over rediss:// takes a token, then refuses the next (the bucket
    lives in the TLS server)."""
    buckets = RedisBuckets.on_server(server.url, prefix(), timeout=TIMEOUT)
    try:
        assert await buckets.take("ip:1", SLOW) == 0
        assert await buckets.take("ip:1", SLOW) > 0
    finally:
        await buckets.aclose()


async def test_buckets_on_a_cluster_take_tokens_over_tls(cluster: RedisCluster) -> None:
    """RedisBuckets.on_cluster over rediss+cluster:// takes a token, then refuses the next."""
    buckets = RedisBuckets.on_cluster(cluster.url, prefix(), timeout=TIMEOUT)
    try:
        assert await buckets.take("ip:1", SLOW) == 0
        assert await buckets.take("ip:1", SLOW) > 0
    finally:
        await buckets.aclose()


async def test_composition_picks_the_cluster_adapters_for_rediss_cluster(
    cluster: RedisCluster,
) -> None:
    """`--redis REDISS+CLUSTER://…` (any case) gives the cluster bus and shared buckets, which
    work over TLS."""
    url = "REDISS+CLUSTER://" + cluster.url.partition("://")[2]
    settings = Settings(redis=url, bus_prefix=prefix())
    bus, buckets = bus_for(settings), buckets_for(settings)
    assert isinstance(bus, RedisClusterBus)
    assert isinstance(buckets, Fallback)
    try:
        await bus.start()
        assert bus.connected
        assert await buckets.take("ip:1", SLOW) == 0
        assert buckets.shared  # the take went to Redis, not to the per-process fallback
    finally:
        await bus.close()
        await buckets.aclose()


@pytest.mark.parametrize(
    "url",
    [
        "rediss+cluster://a:7000?ssl_ca_certs=/nowhere/ca.pem",
        "rediss://a:6379/0?ssl_ca_certs=/nowhere/ca.pem",
    ],
)
def test_a_tls_file_that_cannot_be_read_stops_the_server(url: str) -> None:
    """A CA file that is not there is refused at start, naming the setting and the file."""
    with pytest.raises(SettingsError, match=r"^--redis / LIVETHREAD_REDIS: ssl_ca_certs=/nowhere"):
        bus_for(Settings(redis=url))


def test_composition_names_the_setting_with_a_bad_tls_option() -> None:
    """A bad TLS option in a rediss+cluster:// URL stops the server, naming --redis."""
    settings = Settings(redis="rediss+cluster://a:7000?ssl_verify=yes")
    for choose in (bus_for, buckets_for):
        with pytest.raises(SettingsError, match=r"^--redis / LIVETHREAD_REDIS: .*ssl_verify"):
            choose(settings)


# -- a client without the CA --------------------------------------------------------------------


async def test_a_client_without_the_ca_is_refused_by_one_server(server: RedisServer) -> None:
    """Without the CA (certificates required) the bus stays disconnected, publish answers
    False and the buckets raise, each within its timeout: refused, never hung."""
    url = without_ca(server.url)
    await refused(
        RedisBus(url, prefix(), timeout=TIMEOUT),
        RedisBuckets.on_server(url, prefix(), timeout=TIMEOUT),
    )


async def test_a_client_without_the_ca_is_refused_by_a_cluster(cluster: RedisCluster) -> None:
    """The same on a cluster: no slot map, publish False, the buckets raise, within bounds."""
    url = without_ca(cluster.url)
    await refused(
        RedisClusterBus(url, prefix(), timeout=TIMEOUT, backoff=(0.05, 0.5)),
        RedisBuckets.on_cluster(url, prefix(), timeout=TIMEOUT),
    )


async def refused(bus: RedisBus | RedisClusterBus, buckets: RedisBuckets | None = None) -> None:
    """The bus never connects nor publishes, and the buckets (if any) raise, all within WAIT."""
    try:
        async with asyncio.timeout(WAIT):
            await bus.start()
            assert not bus.connected
            assert not await bus.publish(CHANNEL, b"refused")
            if buckets is not None:
                with pytest.raises(BucketsUnavailable):
                    await buckets.take("ip:1", SLOW)
        assert not bus.connected
    finally:
        await bus.close()
        if buckets is not None:
            await buckets.aclose()


async def test_a_plain_cluster_url_does_not_reach_a_tls_cluster(cluster: RedisCluster) -> None:
    """redis+cluster:// to TLS-only nodes is plain TCP, which they refuse: TLS is not optional."""
    url = "redis+cluster://" + cluster.url.partition("://")[2].partition("?")[0]
    await refused(RedisClusterBus(url, prefix(), timeout=TIMEOUT, backoff=(0.05, 0.5)))


# -- the URL ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("redis+cluster://a:7000", {}),
        ("rediss+cluster://a:7000", {"ssl_cert_reqs": "required"}),
        ("RediSS+Cluster://a:7000/0?", {"ssl_cert_reqs": "required"}),
        (
            f"rediss+cluster://a:7000,b:7001/?ssl_ca_certs={quote(READABLE, safe='')}"
            "&ssl_cert_reqs=Optional",
            {"ssl_ca_certs": READABLE, "ssl_cert_reqs": "optional"},
        ),
        (
            f"rediss+cluster://u:p@a:7000?ssl_certfile={READABLE}&ssl_keyfile={READABLE}"
            "&ssl_cert_reqs=none&ssl_check_hostname=false",
            {
                "ssl_certfile": READABLE,
                "ssl_keyfile": READABLE,
                "ssl_cert_reqs": "none",
                "ssl_check_hostname": False,
            },
        ),
        (
            "rediss+cluster://a:7000?ssl_check_hostname=TRUE",
            {"ssl_cert_reqs": "required", "ssl_check_hostname": True},
        ),
    ],
)
def test_tls_options_come_from_the_query_string(url: str, options: dict[str, Any]) -> None:
    """The query string gives redis-py's TLS keyword arguments; none for redis+cluster://."""
    assert tls_options(url) == options


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis+cluster://a:7000?ssl_ca_certs=ca.pem", "no query string"),
        ("rediss://a:7000", "starts with redis+cluster:// (or rediss+cluster:// for TLS)"),
        ("rediss+cluster://a:7000?timeout=1", "unknown option 'timeout'"),
        ("rediss+cluster://a:7000?ssl_ca_certs=a.pem&ssl_ca_certs=b.pem", "ssl_ca_certs twice"),
        ("rediss+cluster://a:7000?ssl_ca_certs=", "ssl_ca_certs needs a file path"),
        ("rediss+cluster://a:7000?ssl_keyfile", "ssl_keyfile needs a file path"),
        ("rediss+cluster://a:7000?ssl_cert_reqs=always", "one of required, optional, none"),
        ("rediss+cluster://a:7000?ssl_check_hostname=maybe", "true or false"),
        ("rediss+cluster://a:7000#ssl_ca_certs=ca.pem", "no fragment"),
    ],
)
def test_tls_options_name_what_is_wrong(url: str, problem: str) -> None:
    """A bad query string is refused by the parser, naming the option."""
    with pytest.raises(ValueError, match=re.escape(problem)):
        tls_options(url)


def test_a_tls_cluster_url_names_its_nodes_and_credentials(tmp_path: Path) -> None:
    """The query string is not part of the nodes or the password (even with an @ in a path)."""
    (tmp_path / "ca@home.pem").write_text("")
    url = f"rediss+cluster://me:pw@a:7000,[::1]:7001/0?ssl_ca_certs={tmp_path}/ca%40home.pem"
    assert cluster_nodes(url) == [("a", 7000), ("::1", 7001)]
    assert credentials(url) == ("me", "pw")
    assert credentials("rediss+cluster://a:7000?ssl_ca_certs=me@home.pem") == (None, None)
    assert tls_options(url)["ssl_ca_certs"] == f"{tmp_path}/ca@home.pem"


async def test_a_plain_url_does_not_reach_a_tls_server(server: RedisServer) -> None:
    """redis:// to the TLS-only server is plain TCP, which it refuses: publish answers False."""
    await refused(RedisBus(f"redis://{HOST}:{server.port}/0", prefix(), timeout=TIMEOUT))
