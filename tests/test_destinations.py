"""Webhook and classifier URLs reach public addresses only (SSRF), unless the opt-in allows it."""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server import destinations
from server.moderation.rules import Rules
from server.settings import Settings
from tests import test_webhooks
from tests.support.clients import WAIT, Tokens, decode_json
from tests.support.command import livethread
from tests.support.local_http import served
from tests.support.moderation import set_rules
from tests.support.parts import Parts
from tests.support.server import serve
from tests.test_automod_classifier import classifying, post_judged
from tests.test_webhooks import _post, receiving
from workers.webhooks.worker import Webhooks, new_webhook

OPT_IN = {"LIVETHREAD_ALLOW_PRIVATE_HOOKS": "1"}


# The webhooks tests' store, bus and use-cases (site "news").
parts = test_webhooks.parts


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "non-global"),
        ("93.184.216.34", None),
        ("2606:4700::1111", None),
    ],
)
def test_each_kind_of_non_public_address_is_named(address: str, kind: str | None) -> None:
    """Loopback, private, link-local, multicast, unspecified and other non-global addresses
    are told apart from public ones (IPv4-mapped IPv6 included)."""
    assert destinations.not_public(ipaddress.ip_address(address)) == kind


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert livethread("migrate", "--database", url).returncode == 0
    assert livethread("site", "add", "news", "--database", url).returncode == 0
    return url


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1:9/in", "loopback"),
        ("http://localhost:9/in", "loopback"),
        ("http://[::1]/in", "loopback"),
        ("https://10.0.0.7/in", "private"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://0.0.0.0:8000/", "unspecified"),
        ("http://2130706433/", "loopback"),
    ],
)
def test_webhooks_add_refuses_a_private_url_unless_allowed(
    database: str, url: str, kind: str
) -> None:
    """`webhooks add` exits 2 naming the address, its kind and the opt-in; with the opt-in the
    same URL is added."""
    refused = livethread("webhooks", "add", "news", url, "--database", database)
    assert refused.returncode == 2, refused.stdout
    assert f"which is {kind}" in refused.stderr
    assert "LIVETHREAD_ALLOW_PRIVATE_HOOKS=1" in refused.stderr
    assert livethread("webhooks", "list", "news", "--database", database).stdout == (
        "no webhooks for news\n"
    )
    allowed = livethread("webhooks", "add", "news", url, "--database", database, env=OPT_IN)
    assert allowed.returncode == 0, allowed.stderr


def test_rules_set_refuses_a_private_classifier_url_unless_allowed(database: str) -> None:
    """`rules set --classifier-url` exits 2 for a private address and stores nothing; with the
    opt-in it is set; a public address is set without it."""
    url = "http://192.168.1.20/check"
    refused = livethread("rules", "set", "news", "--classifier-url", url, "--database", database)
    assert refused.returncode == 2
    assert "--classifier-url's host 192.168.1.20" in refused.stderr
    assert "which is private" in refused.stderr
    shown = livethread("rules", "show", "news", "--database", database)
    assert '"classifier_url": null' in shown.stdout
    allowed = livethread(
        "rules", "set", "news", "--classifier-url", url, "--database", database, env=OPT_IN
    )
    assert allowed.returncode == 0, allowed.stderr
    public = livethread(
        "rules", "set", "news", "--classifier-url", "https://93.184.216.34/check",
        "--database", database,
    )  # fmt: skip
    assert public.returncode == 0, public.stderr


async def test_a_delivery_to_a_private_address_is_parked_unsent(parts: Parts) -> None:
    """A webhook whose host resolves to loopback at delivery time (as after a DNS change) is
    parked on its first attempt with the reason, and the receiver gets no request."""
    store, _, comments = parts
    async with receiving() as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        hook = new_webhook("news", f"http://localhost:{port}/in")
        await store.webhooks.put(hook)
        receiver.secrets["in"] = hook.secret
        hooks = Webhooks(store.webhooks, store.deliveries, store.cursors)
        try:
            await _post(comments, "for the inside only")
            (entry,) = await store.log.after(0, 10)
            await hooks.handle(entry)
            assert await hooks.deliver_due() == 0
        finally:
            await hooks.aclose()
        assert receiver.arrivals == []
    (parked,) = await store.deliveries.in_status("parked")
    assert parked.attempts == 1
    assert parked.last_error is not None
    assert parked.last_error.startswith("not sent: the webhook URL's host localhost")
    assert "which is loopback" in parked.last_error
    assert "LIVETHREAD_ALLOW_PRIVATE_HOOKS=1" in parked.last_error


async def test_the_opt_in_delivers_to_the_checked_address_with_the_urls_host(
    parts: Parts,
) -> None:
    """With private addresses allowed, a delivery goes to the address the name resolved to,
    still carrying the URL's host name in `Host`."""
    store, _, comments = parts
    hosts: list[str] = []
    arrived = asyncio.Event()

    async def record(request: Request) -> Response:
        hosts.append(request.headers["host"])
        arrived.set()
        return JSONResponse({})

    async with served(Starlette(routes=[Route("/in", record, methods=["POST"])])) as url:
        port = url.rsplit(":", 1)[1]
        await store.webhooks.put(new_webhook("news", f"http://localhost:{port}/in"))
        hooks = Webhooks(store.webhooks, store.deliveries, store.cursors, allow_private=True)
        try:
            await _post(comments, "hello")
            (entry,) = await store.log.after(0, 10)
            await hooks.handle(entry)
            assert await hooks.deliver_due() == 1
            async with asyncio.timeout(WAIT):
                await arrived.wait()
        finally:
            await hooks.aclose()
    assert hosts == [f"localhost:{port}"]


async def test_a_classifier_on_a_private_address_is_not_asked(
    settings: Settings, tokens: Tokens
) -> None:
    """Without the opt-in, the automod worker sends nothing to a loopback classifier: the
    comment stays published and the worker goes on with the log."""
    strict = settings.replace(allow_private_hooks=False)
    async with classifying() as classifier:
        await set_rules(strict, "news", Rules(classifier_url=f"{classifier.url}/json"))
        async with (
            serve(strict) as running,
            httpx.AsyncClient(base_url=running.http, timeout=WAIT) as http,
        ):
            await post_judged(running, http, "A casino ad")
            snapshot = decode_json(
                (await http.get("/api/v1/threads?site=news&thread=article-1")).content
            )
            assert snapshot["count"] == 1
        assert classifier.asked == []
