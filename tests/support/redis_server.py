"""A private, throwaway redis-server for tests: never the shared one on 6379.

    with RedisServer() as server:
        client = redis.asyncio.Redis.from_url(server.url)
        ...
        server.stop()   # an outage: clients see the connection drop
        server.start()  # back, on the same port

A synchronous context manager, so sync fixtures, async tests and tests that spawn other processes
can all use it; each call blocks for at most `startup_timeout` (typically a few milliseconds).
The server listens on 127.0.0.1 only (unless `extra_args` binds more addresses, which `url_on`
names), keeps no data on disk (`--save "" --appendonly no`) and works in its own temporary
directory, removed on exit along with the log (whose tail is quoted when the server fails to
start).

`RedisServer(tls=TlsFiles.create(folder))` serves TLS only (`--port 0`, `--tls-port`), with a
certificate from a throwaway CA (trustme) for 127.0.0.1; its `url` is then `rediss://…` naming
the CA file (`ssl_ca_certs`), and clients need not present a certificate of their own.
"""

from __future__ import annotations

import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

import trustme

HOST = "127.0.0.1"
_SEARCH_PATH = "/usr/local/bin:/usr/bin:/usr/sbin:/usr/local/sbin"


class RedisServerError(RuntimeError):
    """The server could not be found, started or stopped."""


def find_redis_server() -> str:
    """The redis-server executable, from PATH or the usual system directories."""
    found = shutil.which("redis-server") or shutil.which("redis-server", path=_SEARCH_PATH)
    if found is None:
        raise RedisServerError("redis-server not found on PATH nor in /usr/bin, /usr/sbin")
    return found


def free_port() -> int:
    """A loopback port free right now (another process may still take it: callers retry)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class TlsFiles:
    """A throwaway CA's certificate, and a certificate (with its key) it issued for 127.0.0.1."""

    ca: Path
    cert: Path
    key: Path

    @classmethod
    def create(cls, folder: Path) -> TlsFiles:
        """New files in `folder` (which the caller removes)."""
        ca = trustme.CA()
        issued = ca.issue_cert(HOST, "localhost")
        files = cls(ca=folder / "ca.pem", cert=folder / "redis.pem", key=folder / "redis.key")
        ca.cert_pem.write_to_path(str(files.ca))
        issued.cert_chain_pems[0].write_to_path(str(files.cert))
        for extra in issued.cert_chain_pems[1:]:
            extra.write_to_path(str(files.cert), append=True)
        issued.private_key_pem.write_to_path(str(files.key))
        return files

    @property
    def query(self) -> str:
        """The URL query string giving redis-py the CA (`ssl_ca_certs`)."""
        return f"ssl_ca_certs={quote(str(self.ca), safe='')}"

    def server_args(self, port: int) -> tuple[str, ...]:
        """redis-server's arguments to serve TLS only, on `port`."""
        return (
            "--port", "0",
            "--tls-port", str(port),
            "--tls-cert-file", str(self.cert),
            "--tls-key-file", str(self.key),
            "--tls-ca-cert-file", str(self.ca),
            "--tls-auth-clients", "no",
        )  # fmt: skip

    def context(self) -> ssl.SSLContext:
        """A client context trusting the CA."""
        return ssl.create_default_context(cafile=str(self.ca))


class RedisServer:
    """One redis-server process on a loopback port that stays the same across stop()/start()."""

    def __init__(
        self,
        *,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
        startup_timeout: float = 10.0,
        attempts: int = 5,
        tls: TlsFiles | None = None,
    ) -> None:
        """`port` None picks a free one (retrying on a collision); `extra_args` go to the server;
        `tls` makes it serve TLS only, on `port`."""
        self.tls = tls
        self._executable = find_redis_server()
        self._port = port
        self._fixed_port = port is not None
        self._extra_args = extra_args
        self._startup_timeout = startup_timeout
        self._attempts = attempts
        self._dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RedisServerError("the server has not been started yet")
        return self._port

    @property
    def url(self) -> str:
        return self.url_on(HOST)

    def url_on(self, address: str) -> str:
        """The URL by another of its addresses (one given with `extra_args=("--bind", …)`)."""
        if self.tls is not None:
            return f"rediss://{address}:{self.port}/0?{self.tls.query}"
        return f"redis://{address}:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the server and wait until it answers. Restarts reuse the first port."""
        if self.running:
            return
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="livethread-redis-"))
        # Only the very first start may move to another port: after that, clients hold the URL.
        retry_elsewhere = not self._fixed_port and self._port is None
        for attempt in range(self._attempts if retry_elsewhere else 1):
            if self._port is None or (retry_elsewhere and attempt > 0):
                self._port = free_port()
            if self._launch():
                return
        raise RedisServerError(f"redis-server did not start on port {self._port}:\n{self._log()}")

    def pause(self) -> None:
        """SIGSTOP the server: a hung Redis (connections stay open, nothing answers)."""
        if self._process is None:
            raise RedisServerError("the server is not running")
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT a paused server."""
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)

    def stop(self, *, graceful: bool = True) -> None:
        """Stop the server: SIGTERM (clean shutdown) or, with graceful=False, SIGKILL (a crash)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)  # a paused server handles no SIGTERM
            if graceful:
                process.terminate()
            else:
                process.kill()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def close(self) -> None:
        """Stop the server for good and remove its directory."""
        self.stop()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> RedisServer:
        try:
            self.start()
        except BaseException:
            self.close()  # __exit__ will not run: clean up the directory here
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _launch(self) -> bool:
        """One start on the current port: True once it answers, False if it exited early."""
        assert self._dir is not None
        listen = ("--port", str(self.port)) if self.tls is None else self.tls.server_args(self.port)
        args = [
            self._executable,
            *listen,
            "--bind", HOST,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self._dir),
            "--daemonize", "no",
            "--logfile", "",
            *self._extra_args,
        ]  # fmt: skip
        # Output to a file, not a pipe: nobody reads a pipe, and a full one would stall the server.
        with (self._dir / "redis.log").open("ab") as log:
            process = subprocess.Popen(
                args, cwd=self._dir, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        deadline = time.monotonic() + self._startup_timeout
        context = None if self.tls is None else self.tls.context()
        # Polling: a starting redis-server offers no readiness signal but answering.
        while time.monotonic() < deadline:
            if process.poll() is not None:  # e.g. "Address already in use"
                return False
            # Checking the pid: on a port collision the answer may come from someone else's server.
            if _server_pid(self.port, context) == process.pid:
                self._process = process
                return True
            # Polling with a deadline: redis-server gives its parent no readiness signal.
            time.sleep(0.01)
        process.kill()
        process.wait(timeout=5)
        raise RedisServerError(
            f"redis-server did not answer within {self._startup_timeout}s:\n{self._log()}"
        )

    def _log(self, lines: int = 20) -> str:
        if self._dir is None:
            return ""
        try:
            text = (self._dir / "redis.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _server_pid(port: int, context: ssl.SSLContext | None = None) -> int | None:
    """The pid of the redis-server answering on `port` (over TLS with `context`), or None if
    none answers (yet)."""
    try:
        with (
            socket.create_connection((HOST, port), timeout=0.5) as raw,
            raw if context is None else context.wrap_socket(raw, server_hostname=HOST) as conn,
        ):
            conn.sendall(b"INFO server\r\n")
            reply = b""
            while not _complete(reply):
                chunk = conn.recv(4096)
                if not chunk:
                    return None
                reply += chunk
    except OSError:
        return None
    for line in reply.decode(errors="replace").splitlines():
        if line.startswith("process_id:"):
            return int(line.partition(":")[2])
    return None


def _complete(reply: bytes) -> bool:
    """Whether `reply` holds a whole RESP bulk string (or an error, e.g. while loading)."""
    if reply.startswith(b"-"):
        return reply.endswith(b"\r\n")
    header, sep, body = reply.partition(b"\r\n")
    if not sep or not header.startswith(b"$"):
        return False
    return len(body) >= int(header[1:]) + 2
