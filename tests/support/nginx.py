"""The shipped deploy/nginx.conf, run by the real nginx in front of test servers, over TLS.

    async with proxy(tmp_path, upstreams=[8001, 8002]) as nginx:
        nginx.url            # https://127.0.0.1:PORT, trusted by nginx.ssl (an SSLContext)

The config is the very file operators install. Only what must differ on a test machine is
replaced: the listening address (a free loopback port instead of 443), the upstream ports and
the certificate paths (a throwaway CA from trustme). Each replacement must match exactly once,
so a change to the shipped file that the harness no longer understands fails loudly instead of
testing something else. The http {} block around it is the minimum nginx needs, with its
temporary files and logs in the test's folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import ssl
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import trustme

from tests.support.redis_server import free_port
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "deploy" / "nginx.conf"
STARTUP_TIMEOUT = 10.0
_SEARCH_PATH = "/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin"

LISTEN = "listen 443 ssl http2;"
CERTIFICATE = "ssl_certificate     /etc/ssl/comments.example.com/fullchain.pem;"
KEY = "ssl_certificate_key /etc/ssl/comments.example.com/privkey.pem;"
UPSTREAMS = (
    "server 127.0.0.1:8001 max_fails=1 fail_timeout=5s;",
    "server 127.0.0.1:8002 max_fails=1 fail_timeout=5s;",
)

# What nginx needs around an http-level include: no daemon (the test owns the process), its
# files in the test's folder, enough connections for the tests' hundreds of sockets.
MAIN = """\
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/livethread.conf;
}}
"""


class NginxError(RuntimeError):
    """nginx is missing, refused the config, or did not start."""


def find_nginx() -> str:
    """The nginx executable; `make test` installs Debian's nginx when it is missing."""
    found = shutil.which("nginx") or shutil.which("nginx", path=_SEARCH_PATH)
    if found is None:
        raise NginxError("nginx not found: run `make system-deps` (make test does)")
    return found


def _replace_once(text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise NginxError(f"deploy/nginx.conf no longer has exactly one {old!r}")
    return text.replace(old, new)


@dataclass(frozen=True)
class Certificates:
    """A throwaway CA and the server certificate it issued for 127.0.0.1 and localhost."""

    chain: Path
    key: Path
    ssl: ssl.SSLContext


def certificates(folder: Path) -> Certificates:
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    chain = folder / "fullchain.pem"
    key = folder / "privkey.pem"
    issued.cert_chain_pems[0].write_to_path(str(chain))
    for extra in issued.cert_chain_pems[1:]:
        extra.write_to_path(str(chain), append=True)
    issued.private_key_pem.write_to_path(str(key))
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return Certificates(chain=chain, key=key, ssl=context)


def adapted(
    folder: Path, certs: Certificates, listen: str | None = None, upstreams: list[int] | None = None
) -> Path:
    """The shipped config with the test's certificates (and, if given, the listening address and
    upstream ports), wrapped in a main config; returns the main config's path."""
    text = SHIPPED.read_text()
    text = _replace_once(text, CERTIFICATE, f"ssl_certificate     {certs.chain};")
    text = _replace_once(text, KEY, f"ssl_certificate_key {certs.key};")
    if listen is not None:
        text = _replace_once(text, LISTEN, f"listen {listen} ssl http2;")
    if upstreams is not None:
        if len(upstreams) != len(UPSTREAMS):
            raise NginxError(f"the shipped config has {len(UPSTREAMS)} upstream servers")
        for line, port in zip(UPSTREAMS, upstreams, strict=True):
            text = _replace_once(text, line, line.replace(line.split()[1], f"127.0.0.1:{port}"))
    (folder / "livethread.conf").write_text(text)
    main = folder / "nginx.conf"
    main.write_text(MAIN.format(folder=folder))
    return main


def check(folder: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on the shipped config (with test certificates): its exit status and output."""
    folder.mkdir(parents=True, exist_ok=True)
    main = adapted(folder, certificates(folder))
    return subprocess.run(
        [find_nginx(), "-t", "-p", f"{folder}/", "-e", str(folder / "error.log"), "-c", str(main)],
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT,
        check=False,
    )


@dataclass(frozen=True)
class Proxy:
    """A running nginx with the shipped config."""

    port: int
    ssl: ssl.SSLContext
    folder: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"wss://127.0.0.1:{self.port}"

    def log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


async def _accepting(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def _prepare(folder: Path, upstreams: list[int]) -> tuple[Certificates, int, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    certs = certificates(folder)
    port = free_port()
    return certs, port, adapted(folder, certs, listen=f"127.0.0.1:{port}", upstreams=upstreams)


@asynccontextmanager
async def proxy(folder: Path, upstreams: list[int]) -> AsyncIterator[Proxy]:
    """nginx with the shipped config on a free loopback port, proxying to `upstreams`."""
    certs, port, main = _prepare(folder, upstreams)
    process = await asyncio.create_subprocess_exec(
        find_nginx(),
        "-p",
        f"{folder}/",
        "-e",
        str(folder / "error.log"),
        "-c",
        str(main),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    running = Proxy(port=port, ssl=certs.ssl, folder=folder)

    async def ready() -> bool:
        # nginx says nothing when it listens: a connection accepted is the signal.
        if process.returncode is not None:
            raise NginxError(f"nginx exited {process.returncode}: {running.log()}")
        return await _accepting(port)

    try:
        await eventually(ready, within=STARTUP_TIMEOUT)
        yield running
    finally:
        if process.returncode is None:
            # SIGTERM: nginx's fast shutdown (SIGQUIT would wait for open websockets).
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
        async with asyncio.timeout(STARTUP_TIMEOUT):
            await process.wait()
