"""The shipped nginx config, loaded by the real nginx, with livethread behind it over TLS."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from server import events
from server.web.pages import STATIC
from tests.support.clients import WAIT, Reader, comment_json
from tests.support.deployment import Deployment, deployment
from tests.support.nginx import check

READERS = 150
NEWS = "https://news.example"


def _client(nginx: Deployment) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=nginx.proxy.url, verify=nginx.proxy.ssl, timeout=WAIT)


def test_shipped_config_passes_nginx_t(tmp_path: Path) -> None:
    """`nginx -t` accepts deploy/nginx.conf as shipped (only its certificate paths replaced)."""
    result = check(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


async def _read_from(address: str, nginx: Deployment, **headers: str) -> Reader:
    url = f"{nginx.proxy.ws}/ws/v1/threads?site=news&thread=article-1"
    async with asyncio.timeout(WAIT):
        ws = await connect(
            url,
            ssl=nginx.proxy.ssl,
            local_addr=(address, 0),
            additional_headers=headers,
            open_timeout=WAIT,
            close_timeout=2,
        )
    return Reader(ws)


async def test_readers_from_many_addresses_all_connect(tmp_path: Path) -> None:
    """150 readers from 150 loopback addresses all get `hello` through nginx, although livethread
    allows 3 sockets per address: it sees each reader's own address, not nginx's."""
    env = {"LIVETHREAD_SOCKETS_PER_ADDRESS": "3", "LIVETHREAD_CONNECT_RATE_ADDRESS": "3/60"}
    async with deployment(tmp_path, env) as nginx:
        readers = await asyncio.gather(
            *(_read_from(f"127.0.0.{2 + i}", nginx) for i in range(READERS))
        )
        try:
            hellos = await asyncio.gather(*(r.expect(events.Hello) for r in readers))
            assert len(hellos) == READERS
        finally:
            await asyncio.gather(*(r.ws.close() for r in readers))


async def test_forged_forwarded_for_does_not_change_the_address(tmp_path: Path) -> None:
    """A reader sending its own X-Forwarded-For through nginx is still counted by its real
    address: with one socket allowed per address and process (two processes), the third of
    three sockets from one address is refused with 4029, although each claimed another."""
    env = {"LIVETHREAD_SOCKETS_PER_ADDRESS": "1"}
    async with deployment(tmp_path, env) as nginx:
        readers = [
            await _read_from("127.0.0.200", nginx, **{"X-Forwarded-For": f"6.6.6.{i}"})
            for i in range(3)
        ]
        try:
            first = [await reader.frame() for reader in readers]
            refused = [
                r for r, f in zip(readers, first, strict=True) if isinstance(f, events.Error)
            ]
            assert sum(isinstance(f, events.Hello) for f in first) <= 2, first
            assert refused, first
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(refused[0].ws.recv(), WAIT)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4029
        finally:
            await asyncio.gather(*(r.ws.close() for r in readers))


async def _preflight_and_post(client: httpx.AsyncClient, body: str) -> httpx.Response:
    """What a browser on a publisher's page sends for one comment: a CORS preflight, the post."""
    preflight = await client.options(
        "/api/v1/comments",
        headers={
            "Origin": NEWS,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,idempotency-key",
        },
    )
    assert preflight.status_code == 200, preflight.text
    return await client.post(
        "/api/v1/comments", json=comment_json(body, name="Ann"), headers={"Origin": NEWS}
    )


async def test_proxy_refusal_is_json_with_cors(tmp_path: Path) -> None:
    """nginx's post limit (burst 5) counts posts, not their preflights: six quick posts are
    stored, the seventh gets nginx's 429 in livethread's error shape with the CORS and
    Retry-After headers a publisher's page needs to show it."""
    # livethread's own limit above nginx's, so the refusal is nginx's.
    env = {"LIVETHREAD_POST_RATE_ADDRESS": "100/60", "LIVETHREAD_POST_RATE_THREAD": "100/60"}
    async with deployment(tmp_path, env) as nginx, _client(nginx) as client:
        for n in range(6):
            answer = await _preflight_and_post(client, f"Post number {n}")
            assert answer.status_code == 201, answer.text
        refused = await _preflight_and_post(client, "One too many")
        assert refused.status_code == 429
        assert refused.headers["access-control-allow-origin"] == "*"
        assert refused.headers["retry-after"].isdigit()
        assert refused.headers["content-type"].startswith("application/json")
        body = refused.json()
        assert body["error"] == "rate_limited" and "wait" in body["message"]


async def test_start_page_names_the_public_script_url(tmp_path: Path) -> None:
    """The start page, reached through nginx, tells publishers the script's https URL on the
    proxy's host and port (nginx passes the Host the browser sent, and the scheme)."""
    async with deployment(tmp_path) as nginx, _client(nginx) as client:
        page = await client.get("/")
        assert page.status_code == 200
        assert f'src="{nginx.proxy.url}/embed.js"' in page.text, page.text


async def test_widget_script_is_compressed_and_cached(tmp_path: Path) -> None:
    """Through nginx, /embed.js comes brotli- or gzip-compressed as the client accepts, with an
    ETag that answers 304; the versioned URL the moderator page loads is cached as immutable."""
    raw = (STATIC / "embed.js").read_bytes()
    async with deployment(tmp_path) as nginx, _client(nginx) as client:
        br = await client.get("/embed.js", headers={"Accept-Encoding": "gzip, br"})
        assert br.headers["content-encoding"] == "br"
        # httpx decodes the body; what crossed the wire was the compressed form.
        assert br.content == raw and br.num_bytes_downloaded < len(raw) / 2
        assert "max-age" in br.headers["cache-control"]
        again = await client.get(
            "/embed.js",
            headers={"Accept-Encoding": "gzip, br", "If-None-Match": br.headers["etag"]},
        )
        assert again.status_code == 304 and not again.content

        gz = await client.get("/embed.js", headers={"Accept-Encoding": "gzip"})
        assert gz.headers["content-encoding"] == "gzip"
        assert gz.content == raw and gz.num_bytes_downloaded < len(raw) / 2

        plain = await client.get("/embed.js", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.content == raw

        page = await client.get("/moderate?site=news&thread=article-1")
        found = re.search(r'<script src="(/embed\.[0-9a-f]+\.js)"', page.text)
        assert found, page.text
        versioned = await client.get(found.group(1), headers={"Accept-Encoding": "br"})
        assert versioned.status_code == 200
        assert "immutable" in versioned.headers["cache-control"]
        assert versioned.content == raw
        stale = await client.get("/embed.000000000000.js")
        assert stale.status_code == 302 and stale.headers["location"] == found.group(1)
