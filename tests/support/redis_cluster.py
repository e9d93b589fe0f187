"""A private, throwaway Redis Cluster for tests: six redis-servers (three masters, three
replicas) on free loopback ports, never the shared Redis on 6379.

    with RedisCluster() as cluster:
        bus = RedisClusterBus(cluster.url)
        ...
        port = cluster.owner(b"livethread:{thread:site:t}")   # the master serving that key's slot
        new = cluster.failover(port)   # CLUSTER FAILOVER on one of its replicas; its new port
        cluster.kill(port)             # SIGKILL (its replica takes over after the node timeout)
        cluster.restart(port)          # back, on the same port, as the node it was

A synchronous context manager, like `RedisServer` (each node is one, in its own temporary
directory holding its cluster config file); every wait is bounded by `timeout`. Async tests call
the blocking methods through `asyncio.to_thread` when the loop must keep running meanwhile.

`RedisCluster(tls=TlsFiles.create(folder))` speaks TLS only, to clients and between nodes
(`--tls-cluster`, `--tls-replication`); its `url` is then `rediss+cluster://…?ssl_ca_certs=…`.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from types import TracebackType

import redis
from redis.crc import key_slot

from tests.support.redis_server import HOST, RedisServer, RedisServerError, TlsFiles, free_port

_SEARCH_PATH = "/usr/local/bin:/usr/bin:/usr/sbin:/usr/local/sbin"
# How long a master may be unreachable before its replica takes over: short, so tests that kill
# a master do not wait long, yet well above the scheduling hiccups of a busy test machine.
NODE_TIMEOUT_MS = 1000


class RedisCluster:
    """Six cluster-enabled redis-servers joined by `redis-cli --cluster create`."""

    def __init__(
        self,
        *,
        nodes: int = 6,
        replicas: int = 1,
        timeout: float = 30.0,
        tls: TlsFiles | None = None,
    ) -> None:
        self.tls = tls
        self._timeout = timeout
        self._replicas = replicas
        self._nodes = nodes
        self._servers: list[RedisServer] = []

    @property
    def ports(self) -> list[int]:
        return [server.port for server in self._servers]

    @property
    def url(self) -> str:
        nodes = ",".join(f"{HOST}:{port}" for port in self.ports)
        if self.tls is not None:
            return f"rediss+cluster://{nodes}?{self.tls.query}"
        return f"redis+cluster://{nodes}"

    def start(self) -> None:
        """Start every node and create the cluster; returns once it is ok."""
        while len(self._servers) < self._nodes:
            self._servers.append(_start_node(tls=self.tls))
        cli = shutil.which("redis-cli") or shutil.which("redis-cli", path=_SEARCH_PATH)
        if cli is None:
            raise RedisServerError("redis-cli not found on PATH nor in /usr/bin, /usr/sbin")
        tls = () if self.tls is None else ("--tls", "--cacert", str(self.tls.ca))
        command = [
            cli, *tls, "--cluster", "create",
            *(f"{HOST}:{p}" for p in self.ports),
            "--cluster-replicas", str(self._replicas),
            "--cluster-yes",
        ]  # fmt: skip
        created = subprocess.run(
            command,
            capture_output=True,
            timeout=self._timeout,
            check=False,
        )
        if created.returncode != 0:
            raise RedisServerError(
                f"redis-cli --cluster create failed:\n{created.stdout.decode(errors='replace')}"
                f"{created.stderr.decode(errors='replace')}"
            )
        self.wait_ok()

    def close(self) -> None:
        for server in self._servers:
            server.close()

    def __enter__(self) -> RedisCluster:
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

    # -- looking at it -------------------------------------------------------------------------

    def client(self, port: int) -> redis.Redis:
        """A plain client to one node (close it after use)."""
        return redis.Redis(
            host=HOST,
            port=port,
            socket_timeout=2.0,
            socket_connect_timeout=2.0,
            ssl=self.tls is not None,
            ssl_ca_certs=None if self.tls is None else str(self.tls.ca),
        )

    def running(self) -> list[int]:
        return [server.port for server in self._servers if server.running]

    def masters(self) -> list[int]:
        """The ports of the masters serving slots, as a running node sees them."""
        return sorted(set(self._slot_map().values()))

    def owner(self, key: bytes | str) -> int:
        """The port of the master serving `key`'s slot (a channel's name works the same way)."""
        raw = key.encode() if isinstance(key, str) else key
        return self._slot_map()[key_slot(raw)]

    def replicas_of(self, master_port: int) -> list[int]:
        with self.client(master_port) as master:
            info = master.info("replication")
        return sorted(
            int(value["port"])
            for name, value in info.items()
            if name.startswith("slave") and isinstance(value, dict)
        )

    def wait_ok(self) -> None:
        """Until every running node says cluster_state:ok and they agree on the slots' masters."""

        def settled() -> bool:
            maps = []
            for port in self.running():
                with self.client(port) as node:
                    if node.execute_command("CLUSTER INFO").get("cluster_state") != "ok":
                        return False
                    maps.append(self._slots_of(node))
            return all(m == maps[0] and len(m) == 16384 for m in maps)

        self._wait(settled, "the cluster to be ok")

    # -- breaking it ---------------------------------------------------------------------------

    def failover(self, master_port: int) -> int:
        """CLUSTER FAILOVER on a replica of `master_port`; once it is master and the cluster
        agrees, its port."""
        replicas = self.replicas_of(master_port)
        if not replicas:
            raise RedisServerError(f"node {master_port} has no replica to fail over to")
        replica = replicas[0]

        def synced() -> bool:
            with self.client(replica) as node:
                return bool(node.info("replication").get("master_link_status") == "up")

        self._wait(synced, f"replica {replica} to be in sync")
        with self.client(replica) as node:
            node.execute_command("CLUSTER FAILOVER")

        def promoted() -> bool:
            with self.client(replica) as node:
                return bool(node.info("replication").get("role") == "master")

        self._wait(promoted, f"replica {replica} to become master")
        self.wait_ok()
        if master_port in self.masters() or replica not in self.masters():
            raise RedisServerError(f"failover of {master_port} to {replica} did not take")
        return replica

    def migrate(self, key: bytes | str, to_port: int) -> None:
        """Move `key`'s slot (holding no keys) to the master on `to_port`, as resharding does;
        returns once the cluster agrees."""
        self.open_migration(key, to_port)
        self.finish_migration(key, to_port)

    def open_migration(self, key: bytes | str, to_port: int) -> None:
        """The first half of `migrate`: `key`'s slot is IMPORTING on `to_port` and MIGRATING on
        its owner, the state a resharding tool holds while it moves the keys."""
        raw = key.encode() if isinstance(key, str) else key
        slot, source = key_slot(raw), self.owner(raw)
        with self.client(source) as src, self.client(to_port) as dst:
            src_id, dst_id = (
                src.execute_command("CLUSTER MYID"),
                dst.execute_command("CLUSTER MYID"),
            )
            dst.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", src_id)
            src.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", dst_id)

    def finish_migration(self, key: bytes | str, to_port: int) -> None:
        """The second half of `migrate`: every master gives `key`'s open slot to `to_port`."""
        raw = key.encode() if isinstance(key, str) else key
        slot, source = key_slot(raw), self.owner(raw)
        with self.client(source) as src, self.client(to_port) as dst:
            dst_id = dst.execute_command("CLUSTER MYID")
            for node in (dst, src):  # the new owner first, as redis-cli does
                node.execute_command("CLUSTER SETSLOT", slot, "NODE", dst_id)
        for port in set(self.masters()) - {source, to_port}:
            with self.client(port) as other:
                other.execute_command("CLUSTER SETSLOT", slot, "NODE", dst_id)
        self.wait_ok()
        if self.owner(raw) != to_port:
            raise RedisServerError(f"slot {slot} did not move to {to_port}")

    def kill(self, port: int, *, graceful: bool = False) -> None:
        """SIGKILL one node (a crash), or SIGTERM it with `graceful`; `restart` brings it back."""
        self._server(port).stop(graceful=graceful)

    def restart(self, *ports: int) -> None:
        """Start stopped nodes again (each rejoins as the node it was, from its config file);
        returns once the cluster is ok."""
        for port in ports:
            self._server(port).start()
        self.wait_ok()

    # -- internals -----------------------------------------------------------------------------

    def _server(self, port: int) -> RedisServer:
        for server in self._servers:
            if server.port == port:
                return server
        raise RedisServerError(f"no node of this cluster on port {port}")

    def _slot_map(self) -> dict[int, int]:
        for port in self.running():
            try:
                with self.client(port) as node:
                    return self._slots_of(node)
            except redis.RedisError:
                continue
        raise RedisServerError("no node of the cluster answers")

    @staticmethod
    def _slots_of(node: redis.Redis) -> dict[int, int]:
        """slot -> port of its master, as `node` sees it."""
        slots: dict[int, int] = {}
        reply = node.execute_command("CLUSTER SLOTS")  # type: ignore[no-untyped-call]
        for first, last, master, *_ in reply:
            for slot in range(int(first), int(last) + 1):
                slots[slot] = int(master[1])
        return slots

    def _wait(self, check: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + self._timeout
        # Polling: a cluster announces none of these states to a third party.
        while time.monotonic() < deadline:
            try:
                if check():
                    return
            except redis.RedisError:
                pass
            time.sleep(0.05)
        raise RedisServerError(f"timed out after {self._timeout}s waiting for {what}")


def _start_node(attempts: int = 5, tls: TlsFiles | None = None) -> RedisServer:
    """One started cluster node. Its cluster bus port is chosen too (by default it would be the
    port + 10000, past 65535 for high ports, or taken); a collision on either means new ports."""
    for _ in range(attempts):
        args: tuple[str, ...] = (
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-port", str(free_port()),
            "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
            # A killed node's replica takes over at once, however stale its data.
            "--cluster-replica-validity-factor", "0",
        )  # fmt: skip
        if tls is not None:
            args += ("--tls-cluster", "yes", "--tls-replication", "yes")
        server = RedisServer(port=free_port(), extra_args=args, tls=tls)
        try:
            server.start()
        except RedisServerError:
            server.close()
            continue
        return server
    raise RedisServerError(f"no cluster node started in {attempts} attempts")
