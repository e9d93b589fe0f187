"""A private, throwaway PostgreSQL cluster for tests: never the machine's shared one on 5432.

    with PostgresServer() as server:
        storage = postgres_storage(server.url)
        ...
        server.stop()   # an outage: clients see their connections drop
        server.start()  # back, on the same port, with the same data

`initdb` and `pg_ctl` run in a temporary folder, the server listens on a free loopback port
(and a socket in that folder), and everything goes away on exit. PostgreSQL refuses to run as
root, so under root the cluster belongs to the `postgres` system user (the commands run through
`runuser`). Durability stays on (fsync, synchronous_commit): the tests prove acknowledged posts
survive. The log's tail is quoted when the server fails to start.

A failover:

    with PostgresServer() as primary, PostgresServer.standby_of(primary) as standby:
        url = hosts_url(primary.database(), [primary, standby])  # both, read-write wanted
        ...
        primary.kill()      # the primary dies
        standby.promote()   # the standby takes writes, with every synchronously committed row

`standby_of` copies the running primary with `pg_basebackup -R` (streaming replication through
a replication slot) and, when synchronous, makes the primary's commits wait for the standby's
flush, so what the primary acknowledged is on the standby when it is promoted.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from tests.support.redis_server import HOST, free_port

USER = "livethread"
DATABASE = "livethread"
_SEARCH = ("/usr/local/bin", "/usr/lib/postgresql/*/bin")
# Between two looks at a state PostgreSQL announces to no client (a standby's sync_state).
_POLL = 0.05


class PostgresServerError(RuntimeError):
    """The cluster could not be found, made, started or stopped."""


def find_binary(name: str) -> str:
    """A PostgreSQL program (`initdb`, `pg_ctl`, `postgres`), from PATH or Debian's folders."""
    found = shutil.which(name)
    if found is not None:
        return found
    for pattern in _SEARCH:
        for folder in sorted(glob.glob(pattern), reverse=True):
            candidate = Path(folder) / name
            if candidate.exists():
                return str(candidate)
    raise PostgresServerError(f"{name} not found on PATH nor in /usr/lib/postgresql/*/bin")


class PostgresServer:
    """One PostgreSQL cluster on a loopback port that stays the same across stop()/start()."""

    def __init__(
        self,
        *,
        settings: dict[str, str] | None = None,
        startup_timeout: float = 30.0,
        attempts: int = 5,
    ) -> None:
        """`settings` go to the server as `-c name=value` (e.g. `max_connections`)."""
        self._settings = {"max_connections": "200", **(settings or {})}
        self._startup_timeout = startup_timeout
        self._attempts = attempts
        self._dir: Path | None = None
        self._port: int | None = None
        self._running = False
        self._made = 0
        # Set on a standby until it is promoted: the primary it was copied from.
        self._primary: PostgresServer | None = None
        self._standbys = 0
        # Under root the cluster is the postgres user's: initdb and the server refuse root.
        self._owner = "postgres" if os.geteuid() == 0 else None

    @property
    def port(self) -> int:
        if self._port is None:
            raise PostgresServerError("the server has not been started yet")
        return self._port

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@{HOST}:{self.port}/{DATABASE}"

    @property
    def data(self) -> Path:
        if self._dir is None:
            raise PostgresServerError("the cluster has not been made yet")
        return self._dir / "data"

    @property
    def running(self) -> bool:
        return self._running

    @property
    def standby(self) -> bool:
        """True while this cluster follows a primary (made by `standby_of`, not yet promoted)."""
        return self._primary is not None

    @classmethod
    def standby_of(
        cls,
        primary: PostgresServer,
        *,
        synchronous: bool = True,
        settings: dict[str, str] | None = None,
        startup_timeout: float = 30.0,
    ) -> PostgresServer:
        """A started streaming-replication standby of the running `primary` (read-only until
        `promote()`), on a port of its own.

        It is a `pg_basebackup -R` copy of the primary, following it through a replication slot
        (so the primary keeps the WAL it has not received). With `synchronous` the primary's
        commits wait until this standby has flushed them (`synchronous_standby_names` names it,
        `synchronous_commit=on`), and this returns once the primary reports it `sync`: from
        then on, a commit the primary acknowledged is on this standby. Close the standby before
        the primary, or the primary's commits wait for it (its slot, and the WAL the slot
        holds, stay on the primary until the primary is closed)."""
        if not primary.running or primary.standby:
            raise PostgresServerError("a standby needs a running primary")
        if primary.sql("SHOW wal_level") == "minimal":
            raise PostgresServerError("the primary's wal_level is minimal: it cannot stream")
        primary._standbys += 1
        name = f"standby_{primary.port}_{primary._standbys}"
        standby = cls(
            settings={
                # The walreceiver's application_name, which synchronous_standby_names matches.
                "cluster_name": name,
                # The primary's auto.conf (copied) may name a synchronous standby; once promoted,
                # this cluster has none, and its commits must not wait for one.
                "synchronous_standby_names": "''",
                **(settings or {}),
            },
            startup_timeout=startup_timeout,
        )
        standby._primary = primary
        try:
            standby.start()
            if synchronous:
                primary._synchronous_with(name)
        except BaseException:
            standby.close()
            raise
        return standby

    def promote(self) -> None:
        """Make this standby a primary (`pg_ctl promote`); returns once it takes writes."""
        if self._primary is None:
            raise PostgresServerError("only a standby can be promoted")
        self._run(
            find_binary("pg_ctl"), "-D", str(self.data), "-t", str(int(self._startup_timeout)),
            "-w", "promote",
        )  # fmt: skip
        if self.sql("SELECT pg_is_in_recovery()") != "f":
            raise PostgresServerError(f"the standby on port {self.port} is still in recovery")
        self._primary = None

    def sql(self, query: str, database: str = DATABASE) -> str:
        """One query through psql; its output, unaligned (`t`/`f` for booleans)."""
        return self._run(
            find_binary("psql"), "-h", HOST, "-p", str(self.port), "-U", USER, "-d", database,
            "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", query,
        ).stdout.strip()  # fmt: skip

    def start(self) -> None:
        """Make the cluster (the first time) and start it; wait until it takes connections."""
        if self._running:
            return
        if self._dir is None:
            self._make()
        retry_elsewhere = self._port is None
        for attempt in range(self._attempts if retry_elsewhere else 1):
            if self._port is None or (retry_elsewhere and attempt > 0):
                self._port = free_port()
            if self._launch():
                self._running = True
                # A standby has its primary's databases, and takes no writes.
                if retry_elsewhere and self._primary is None:
                    self._run(
                        find_binary("createdb"), "-h", HOST, "-p", str(self.port), "-U", USER,
                        DATABASE,
                    )  # fmt: skip
                return
        raise PostgresServerError(f"postgres did not start on port {self._port}:\n{self._log()}")

    def database(self) -> str:
        """A new, empty database in the cluster (one per test keeps tests apart); its URL."""
        self._made += 1
        name = f"{DATABASE}_{os.getpid()}_{self._made}"
        self._run(find_binary("createdb"), "-h", HOST, "-p", str(self.port), "-U", USER, name)
        return f"postgresql://{USER}@{HOST}:{self.port}/{name}"

    def stop(self, *, graceful: bool = True) -> None:
        """Stop the server: a fast shutdown, or with graceful=False an immediate one (a crash:
        the next start recovers from the WAL)."""
        if not self._running:
            return
        self._running = False
        mode = "fast" if graceful else "immediate"
        self._run(find_binary("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def kill(self) -> None:
        """SIGKILL the postmaster: its children notice and exit; the next start recovers."""
        pid = self._pid()
        self._running = False
        if pid is not None:
            os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        """Stop the cluster for good and remove its folder."""
        try:
            self.stop()
        finally:
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
                self._dir = None

    def __enter__(self) -> PostgresServer:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _make(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="livethread-postgres-"))
        if self._owner is not None:
            owner = pwd.getpwnam(self._owner)
            os.chown(self._dir, owner.pw_uid, owner.pw_gid)
        if self._primary is not None:
            self._copy(self._primary)
            return
        self._run(
            find_binary("initdb"), "-D", str(self.data), "-U", USER, "-A", "trust",
            "-E", "UTF8", "--locale", "C.UTF-8", "--no-sync",
        )  # fmt: skip

    def _copy(self, primary: PostgresServer) -> None:
        """The data folder as a standby's: a base backup of `primary` with the settings that
        make it follow (-R: standby.signal and primary_conninfo), through a new slot (-C)."""
        primary._allow_replication()
        assert self._dir is not None
        slot = f"slot_{os.path.basename(self._dir).replace('-', '_').lower()}"
        self._run(
            find_binary("pg_basebackup"), "-h", HOST, "-p", str(primary.port), "-U", USER,
            "-D", str(self.data), "-R", "-X", "stream", "-C", "-S", slot,
            "--checkpoint=fast", "--no-sync",
        )  # fmt: skip

    def _allow_replication(self) -> None:
        """A replication line for USER on loopback in pg_hba.conf (initdb's usually has one)."""
        hba = self.data / "pg_hba.conf"
        line = f"host replication {USER} {HOST}/32 trust"
        if line not in hba.read_text():
            with hba.open("a") as out:
                out.write(f"{line}\n")
            self.sql("SELECT pg_reload_conf()")

    def _synchronous_with(self, name: str) -> None:
        """Make this primary's commits wait for the standby `name`'s flush; return once the
        primary counts it as its synchronous standby."""
        self.sql(f"ALTER SYSTEM SET synchronous_standby_names = '\"{name}\"'")
        self.sql("ALTER SYSTEM SET synchronous_commit = 'on'")
        self.sql("SELECT pg_reload_conf()")
        query = f"SELECT sync_state FROM pg_stat_replication WHERE application_name = '{name}'"
        deadline = time.monotonic() + self._startup_timeout
        while self.sql(query) != "sync":
            if time.monotonic() > deadline:
                raise PostgresServerError(f"{name} did not become synchronous:\n{self._log()}")
            # Bounded by the deadline: the walsender's state is announced to no client.
            time.sleep(_POLL)

    def _launch(self) -> bool:
        """One start on the current port: True once it takes connections, False if it did
        not come up (the port taken, say)."""
        options = " ".join(
            [
                f"-p {self.port}",
                f"-c listen_addresses={HOST}",
                f"-k {self._dir}",
                *(f"-c {name}={value}" for name, value in self._settings.items()),
            ]
        )
        result = self._run(
            find_binary("pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self._logfile()), "-t", str(int(self._startup_timeout)), "-w", "start",
            check=False,
        )  # fmt: skip
        return result.returncode == 0

    def _pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def _logfile(self) -> Path:
        assert self._dir is not None
        return self._dir / "postgres.log"

    def _log(self, lines: int = 20) -> str:
        try:
            text = self._logfile().read_text(errors="replace")
        except (OSError, AssertionError):
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self._owner is not None:
            command = ["runuser", "-u", self._owner, "--", *command]
        result = subprocess.run(
            command,
            cwd=self._dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=self._startup_timeout + 30,
        )
        if check and result.returncode != 0:
            raise PostgresServerError(
                f"{' '.join(args[:2])} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}\n{self._log()}"
            )
        return result


def hosts_url(database_url: str, servers: Sequence[PostgresServer], **query: str) -> str:
    """`database_url` (a database in one of `servers`) naming every one of `servers`, in
    order, as libpq lists hosts (`postgresql://USER@H1:P1,H2:P2/NAME`), with `query` added;
    `target_session_attrs` is `read-write` unless given."""
    parts = urllib.parse.urlsplit(database_url)
    user = parts.netloc.rpartition("@")[0]
    hosts = ",".join(f"{HOST}:{server.port}" for server in servers)
    wanted = {"target_session_attrs": "read-write", **query}
    return urllib.parse.urlunsplit(
        (parts.scheme, f"{user}@{hosts}", parts.path, urllib.parse.urlencode(wanted), "")
    )
