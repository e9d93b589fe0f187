"""One frozen settings object. The only module that reads the environment.

Every setting has a `LIVETHREAD_*` variable; the command line overrides the environment by
building a Settings and passing it on (to uvicorn's worker processes through `to_environ()`).
`environment(env_file)` is what the command line reads: this process's environment, with an
env file's `LIVETHREAD_*` values over it (the file the systemd units read).
"""

from __future__ import annotations

import dataclasses
import io
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from server import faults
from server.limits import Rate

PREFIX = "LIVETHREAD_"
SMTP_TLS = ("none", "starttls", "tls")
LOG_FORMATS = ("text", "json")


class SettingsError(ValueError):
    """A setting has a value livethread cannot use; the message says which and why."""


# The database URLs livethread takes (besides `memory:`).
DATABASE_SCHEMES = ("sqlite:///", "postgresql://", "postgres://")


@dataclass(frozen=True, kw_only=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    database: str = "sqlite:///./livethread.db"
    redis: str | None = None
    demo: bool = False
    # Channel prefix on Redis, so several deployments (or test runs) can share one server.
    bus_prefix: str = "livethread:"
    # Largest websocket message accepted from a client (close 1009 above it).
    ws_max_bytes: int = 65536
    ws_ping_interval: float = 20.0
    ws_ping_timeout: float = 20.0
    # Frames queued for one socket before it counts as too slow and is closed with 4008.
    socket_inbox: int = 256
    # Bytes buffered unsent for one socket (frames written straight to its transport) before
    # it counts as too slow and is closed with 4008.
    socket_buffer_bytes: int = 262144
    # Most events replayed on reconnect; a client further behind is told to resync.
    backlog_limit: int = 1000
    # How often each server process reads the event log's tail to catch what the bus missed
    # (a crash between commit and publish, Redis down): the worst-case extra delay.
    tail_interval: float = 0.5
    # How often each process counts each thread's readers for "N reading now" and reports its
    # own to the others (server/threads/presence.py): the most a count lags.
    presence_interval: float = 2.0
    edit_window_seconds: float = 900.0
    # How long a post's answer is kept for retries with its Idempotency-Key; a key used again
    # after this long posts a new comment.
    idempotency_ttl_seconds: float = 86400.0
    # Largest HTTP request body accepted (413 above it).
    http_max_bytes: int = 65536
    log_level: str = "info"
    # "json": every log line (the access log's too) one JSON object, for log pipelines.
    log_format: str = "text"
    # Where the processes of one `serve --workers N` keep their metrics for /metrics
    # (prometheus-client's multiprocess mode, server/metrics.py); None: a fresh temporary
    # directory made by `serve` when N > 1. Emptied when serve starts: one serve's alone.
    metrics_dir: str | None = None
    # Seconds a client has to send a whole request head (request line and headers, a
    # websocket handshake too), and then its whole body: a slow or stalled sender holds a
    # descriptor and a parser each, so it gets a 408 (or, mid-response, a close).
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    # A too-slow reader's socket (closed with 4008) is given this long to take its close frame,
    # then dropped, unsent data and all: a peer that never reads would otherwise hold it forever.
    slow_close_timeout: float = 30.0
    # Longest graceful stop (SIGTERM): open requests finish and sockets get 1012 within it,
    # then whatever is left is cut. Below systemd's TimeoutStopSec (30 s in deploy/).
    shutdown_timeout: float = 10.0
    # Most transactions of one server process committed together by one COMMIT (one fsync):
    # those that queue behind the writer join the one in progress (SQLite: any thread's;
    # PostgreSQL: one thread's, server/adapters/postgres_group.py). 1: each on its own.
    group_commit: int = 32
    # uvicorn's access log writes every client address: off unless asked for (privacy).
    access_log: bool = False
    # The proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated
    # addresses or networks, "*" for any): the client address the limits and keyed hashes see.
    # Only the proxy in front (nginx on this host) may say who the client is.
    forwarded_allow_ips: str = "127.0.0.1"
    # Rate limits per client address (see server/web/guard.py), COUNT/SECONDS: shared by every
    # process on the bus's Redis when there is one (per process while it cannot answer), else
    # per process; open sockets are counted per process. LIVETHREAD_RATE_LIMIT=0: all off.
    rate_limit: bool = True
    post_rate_address: str = "5/60"
    post_rate_thread: str = "60/60"
    post_rate_site: str = "600/60"
    connect_rate_address: str = "60/60"
    # Reactions (likes) from one address: a reader liking down a long thread, not a script.
    react_rate_address: str = "120/60"
    sockets_per_address: int = 100
    # Background workers (workers/): run inside each server process unless turned off (then run
    # `livethread worker NAME…` as processes of their own). "all" or comma-separated names.
    run_workers: bool = True
    worker_names: str = "all"
    # A stopped worker's lease lapses after this long (a copy that died is replaced then).
    worker_lease_seconds: float = 30.0
    # How often a worker looks for new events when no bus message woke it.
    worker_poll_seconds: float = 5.0
    # Reply notifications (workers/notifications/worker.py): the SMTP server mails go out through.
    # smtp_tls: "none" (plain), "starttls" (upgrade after connecting) or "tls" (implicit TLS).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_tls: str = "none"
    smtp_user: str | None = None
    smtp_password: str | None = None
    mail_from: str = "livethread@localhost"
    # Where readers reach this server, for links in mails; None means http://HOST:PORT.
    public_url: str | None = None
    # Webhook and classifier URLs may point at loopback, private, link-local and other
    # non-public addresses (refused by default: server-side request forgery, see
    # server/destinations.py). For receivers on this host or network by design, and tests.
    allow_private_hooks: bool = False
    # Signs unsubscribe links; None means one generated once and kept in the database.
    secret: str | None = None
    # Reply-mail double opt-in (workers/notifications/confirmations.py): at most one
    # confirmation mail per address per this many seconds, and at most COUNT per SECONDS per
    # site.
    confirm_interval_seconds: float = 86400.0
    confirm_rate_site: str = "20/3600"
    # Seconds a write waits for another process's SQLite write lock before it fails (503).
    sqlite_busy_timeout: float = 5.0
    # PostgreSQL: connections per process, and the longest a statement (or the wait for a
    # pooled connection) may take before the request fails with 503.
    database_pool_size: int = 10
    statement_timeout: float = 5.0
    # How often an open moderation socket checks that its token still exists (a revoke made
    # without Redis, or whose bus message was lost, still closes it within this).
    moderator_recheck_seconds: float = 30.0
    # How long a comment keeps its client address (as a keyed hash) so a moderator can ban the
    # address it came from; also the longest an address ban lasts. Addresses are personal data
    # and change hands (SECURITY.md, "Addresses").
    address_retention_days: float = 14.0
    # Fault injection for reliability tests (see server/faults.py); never in production.
    fault: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from `LIVETHREAD_*` variables, then `overrides` (None means not given)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = env.get(PREFIX + field.name.upper())
            if raw is not None:
                values[field.name] = _parse(field.name, field.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        if self.workers < 1:
            raise SettingsError("--workers must be at least 1")
        if self.idempotency_ttl_seconds <= 0:
            raise SettingsError(f"{PREFIX}IDEMPOTENCY_TTL_SECONDS must be more than 0")
        for name in ("header_timeout", "body_timeout", "slow_close_timeout", "shutdown_timeout"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{PREFIX}{name.upper()} must be more than 0")
        if self.group_commit < 1:
            raise SettingsError(f"{PREFIX}GROUP_COMMIT must be at least 1")
        if self.workers > 1 and not self.redis:
            raise SettingsError(
                f"--workers {self.workers} needs --redis URL (or LIVETHREAD_REDIS): the "
                "in-process bus cannot carry events between server processes, so readers on "
                "one process would miss posts made through another. Pass e.g. "
                "--redis redis://127.0.0.1:6379/0, or run --workers 1."
            )
        try:
            proxy_networks(self.forwarded_allow_ips)
        except ValueError as exc:
            raise SettingsError(f"{PREFIX}FORWARDED_ALLOW_IPS: {exc}") from None
        for name in ("post_rate_address", "post_rate_thread", "post_rate_site"):
            _check_rate(name, getattr(self, name))
        _check_rate("connect_rate_address", self.connect_rate_address)
        _check_rate("react_rate_address", self.react_rate_address)
        _check_rate("confirm_rate_site", self.confirm_rate_site)
        if self.confirm_interval_seconds < Rate.parse(self.confirm_rate_site).seconds:
            # The site count reads each address's last confirmation mail only.
            raise SettingsError(
                f"{PREFIX}CONFIRM_INTERVAL_SECONDS must be at least the period of "
                f"{PREFIX}CONFIRM_RATE_SITE"
            )
        if self.sqlite_busy_timeout < 0 or self.moderator_recheck_seconds <= 0:
            raise SettingsError(
                f"{PREFIX}SQLITE_BUSY_TIMEOUT must be 0 or more, "
                f"{PREFIX}MODERATOR_RECHECK_SECONDS more than 0"
            )
        if self.presence_interval <= 0:
            raise SettingsError(f"{PREFIX}PRESENCE_INTERVAL must be more than 0")
        if self.address_retention_days <= 0:
            raise SettingsError(f"{PREFIX}ADDRESS_RETENTION_DAYS must be more than 0")
        if self.fault is not None and self.fault not in faults.KNOWN:
            raise SettingsError(f"unknown LIVETHREAD_FAULT {self.fault!r}")
        if self.log_format not in LOG_FORMATS:
            raise SettingsError(
                f"{PREFIX}LOG_FORMAT={self.log_format!r}: choose from {', '.join(LOG_FORMATS)}"
            )
        if self.smtp_tls not in SMTP_TLS:
            raise SettingsError(
                f"{PREFIX}SMTP_TLS={self.smtp_tls!r}: choose from {', '.join(SMTP_TLS)}"
            )
        if not self.database.startswith(DATABASE_SCHEMES) and self.database != "memory:":
            raise SettingsError(
                f"unsupported --database {self.database!r}: use sqlite:///PATH, "
                "postgresql://USER@HOST:PORT/NAME or memory:"
            )
        if self.database_pool_size < 1 or self.statement_timeout <= 0:
            raise SettingsError(
                f"{PREFIX}DATABASE_POOL_SIZE must be 1 or more, "
                f"{PREFIX}STATEMENT_TIMEOUT more than 0"
            )

    @property
    def base_url(self) -> str:
        """The public URL links in mails start with (no trailing slash)."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def to_environ(self) -> dict[str, str]:
        """These settings as `LIVETHREAD_*` variables, for child processes."""
        out: dict[str, str] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is None:
                continue
            out[PREFIX + field.name.upper()] = (
                ("1" if value else "0") if isinstance(value, bool) else str(value)
            )
        return out

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def proxy_networks(value: str) -> tuple[Network, ...] | None:
    """LIVETHREAD_FORWARDED_ALLOW_IPS read: the trusted networks (an address is a network of
    one), or None for "*" (any peer). Raises ValueError naming the first entry that is
    neither; a network with host bits set ("10.0.0.1/8") is refused as likely a typo."""
    entries = [entry.strip() for entry in value.split(",") if entry.strip()]
    if "*" in entries:
        return None
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry))
        except ValueError:
            raise ValueError(
                f"{entry!r} is not an IP address or network (e.g. 127.0.0.1, 10.0.0.0/8, ::1, *)"
            ) from None
    return tuple(networks)


def _check_rate(name: str, value: str) -> None:
    try:
        Rate.parse(value)
    except ValueError as exc:
        raise SettingsError(f"{PREFIX}{name.upper()}: {exc}") from None


def _parse(name: str, kind: Any, raw: str) -> Any:
    kind = str(kind)
    try:
        if kind == "bool":
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "str | None":
            return raw or None
        return raw
    except ValueError:
        raise SettingsError(f"{PREFIX}{name.upper()}={raw!r} is not a valid {kind}") from None


def environment(env_file: str | None = None) -> dict[str, str]:
    """The variables settings are read from: this process's environment, and over it the
    `LIVETHREAD_*` values of `env_file` (a systemd EnvironmentFile such as /etc/livethread.env),
    so an admin command sees the database the services use. A file that cannot be read is a
    SettingsError naming it: falling back to the defaults would act on the wrong database."""
    env = dict(os.environ)
    if env_file is None:
        return env
    try:
        text = Path(env_file).read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SettingsError(f"--env-file {env_file}: cannot read it ({reason})") from None
    # No interpolation: systemd does not expand $VARIABLES in an EnvironmentFile, so a password
    # with a `$` in it must reach us as the services get it.
    values = dotenv_values(stream=io.StringIO(text), interpolate=False)
    for key, value in values.items():
        # A line with no `=` has no value; systemd skips it too.
        if key.startswith(PREFIX) and value is not None:
            env[key] = value
    return env


def export(settings: Settings) -> None:
    """Put settings into this process's environment, where uvicorn's worker processes find them
    (prometheus-client's multiprocess mode too, which reads its directory from there)."""
    os.environ.update(settings.to_environ())
    if settings.metrics_dir is not None:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = settings.metrics_dir
