"""Separate network hosts on one machine: Linux network namespaces joined by veth pairs.

    reason = unusable()                 # None when namespaces can be made here (root, `ip`)
    with hosts(3) as net:
        net.gateway                     # the root namespace's address on the hosts' subnet
        net.hosts[0].address            # a host's address, reachable from the root namespace
        net.hosts[0].prefix             # ("ip", "netns", "exec", NAME): run a command there
        net.hosts[0].cut()              # its link down: the host drops off the network

Each host is a namespace with `lo` up and an `eth0` whose peer sits in the root namespace,
enslaved to a bridge that holds the gateway address; so the root namespace (where the tests,
PostgreSQL and Redis run) reaches every host and every host reaches the gateway. Each network
takes its own 10.213.X.0/24, X chosen under a lock among the subnets no interface uses yet,
so parallel runs never share addresses. Names carry the pid (namespaces
`livethread-PID-N-hI`, links `ltPIDbN` and `ltPIDrNxI`); everything is removed on exit, even
on failure, and leftovers of a crashed earlier run (a pid no longer alive) are removed first.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

PREFIX = "livethread"
MOST_HOSTS = 50
_NETWORK = "10.213"
_COMMAND_TIMEOUT = 10.0
_LOCK = Path(tempfile.gettempdir()) / "livethread-netns.lock"
_OURS_NAMESPACE = re.compile(rf"^{PREFIX}-(\d+)-")
_OURS_LINK = re.compile(r"^lt(\d+)[br]\d")
_SUBNET_IN_USE = re.compile(rf"inet {re.escape(_NETWORK)}\.(\d+)\.")
_serial = itertools.count()


class NetnsError(RuntimeError):
    """A namespace, link or address could not be made or removed."""


@dataclass(frozen=True)
class Host:
    """One network namespace: a machine of its own on the test's subnet."""

    name: str
    address: str
    # The veth end in the root namespace: cutting it takes the host off the network.
    link: str

    @property
    def prefix(self) -> tuple[str, ...]:
        """The command prefix that runs a program inside this host."""
        return ("ip", "netns", "exec", self.name)

    def cut(self) -> None:
        """Take the host off the network (its link down), as a lost machine or cable would."""
        ip("link", "set", self.link, "down")


@dataclass(frozen=True)
class Network:
    """Hosts on one /24, bridged to the root namespace, which holds `gateway`."""

    hosts: list[Host]
    gateway: str
    subnet: str
    bridge: str


def unusable() -> str | None:
    """None when network namespaces can be made here; else why not (not root, no `ip`, or
    the kernel or the container refuses them). Tries the real thing: a one-host network."""
    if os.geteuid() != 0:
        return "not root: `ip netns add` needs CAP_SYS_ADMIN"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    try:
        with hosts(1):
            return None
    except NetnsError as exc:
        return str(exc)


@contextmanager
def hosts(count: int) -> Iterator[Network]:
    """`count` hosts on a fresh subnet, removed when the block ends (even on failure)."""
    if not 1 <= count <= MOST_HOSTS:
        raise ValueError(f"between 1 and {MOST_HOSTS} hosts, not {count}")
    remove_leftovers()
    # Link names have at most 15 characters: a pid of up to 7 digits, a serial and an index of
    # up to 2 each fit. The serial wraps; 100 networks of one process are never up at once.
    pid, serial = os.getpid(), next(_serial) % 100
    bridge = f"lt{pid}b{serial}"
    spaces = [f"{PREFIX}-{pid}-{serial}-h{i}" for i in range(count)]
    devices = [f"lt{pid}r{serial}x{i}" for i in range(count)] + [bridge]
    made: list[Host] = []
    try:
        # The lock makes choosing a free subnet and taking it one step across processes: once
        # the bridge holds the gateway address, the next run's scan sees the subnet in use.
        with _locked():
            third = _free_subnet()
            gateway = f"{_NETWORK}.{third}.1"
            ip("link", "add", bridge, "type", "bridge")
            ip("addr", "add", f"{gateway}/24", "dev", bridge)
            ip("link", "set", bridge, "up")
        for index in range(count):
            made.append(_host(pid, serial, index, bridge, f"{_NETWORK}.{third}.{10 + index}"))
        subnet = f"{_NETWORK}.{third}.0/24"
        yield Network(hosts=made, gateway=gateway, subnet=subnet, bridge=bridge)
    except BaseException as failure:
        # The failure is the news: a cleanup error is added to it, never raised over it.
        try:
            _remove(spaces, devices)
        except NetnsError as exc:
            failure.add_note(str(exc))
        raise
    _remove(spaces, devices)


def remove_leftovers() -> None:
    """Remove the namespaces and links of earlier runs whose process is gone (a crash)."""
    _remove(
        [name for name in namespaces() if _dead(_OURS_NAMESPACE, name)],
        [name for name in links() if _dead(_OURS_LINK, name)],
    )


def _host(pid: int, serial: int, index: int, bridge: str, address: str) -> Host:
    name = f"{PREFIX}-{pid}-{serial}-h{index}"
    link = f"lt{pid}r{serial}x{index}"
    ip("netns", "add", name)
    # The peer is made inside the namespace, so it can have the usual name there.
    ip("link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", name)
    ip("link", "set", link, "master", bridge)
    ip("link", "set", link, "up")
    inside = ("-n", name)
    ip(*inside, "addr", "add", f"{address}/24", "dev", "eth0")
    ip(*inside, "link", "set", "eth0", "up")
    ip(*inside, "link", "set", "lo", "up")
    return Host(name=name, address=address, link=link)


def _remove(spaces: list[str], devices: list[str]) -> None:
    """Remove what exists of these, trying every step; one error naming all that failed."""
    failed: list[str] = []
    # Links first: deleting a veth end deletes its peer at once, whereas a namespace's
    # devices go some time after `ip netns del` returns.
    existing = set(links())
    for link in devices:
        if link in existing:
            _attempt(failed, "link", "del", link)
    present = set(namespaces())
    for name in spaces:
        if name not in present:
            continue
        # A process left running inside (a server a crashed run started) would keep the
        # namespace alive after `ip netns del`: stop it first, by its pid.
        for pid in _pids(name):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _attempt(failed, "netns", "del", name)
    if failed:
        raise NetnsError("cleanup failed:\n" + "\n".join(failed))


def _attempt(failed: list[str], *args: str) -> None:
    """`ip ARGS…`, its error added to `failed`; a thing already gone is no error."""
    try:
        ip(*args)
    except NetnsError as exc:
        if "Cannot find device" not in str(exc) and "No such file" not in str(exc):
            failed.append(str(exc))


def _free_subnet() -> int:
    """The lowest X whose 10.213.X.0/24 no interface here uses."""
    used = {int(x) for x in _SUBNET_IN_USE.findall(ip("-o", "-4", "addr", "show"))}
    for third in range(1, 255):
        if third not in used:
            return third
    raise NetnsError(f"every {_NETWORK}.X.0/24 is in use")


def _dead(pattern: re.Pattern[str], name: str) -> bool:
    """Whether `name` is one of ours and the process that made it is gone."""
    found = pattern.match(name)
    if found is None:
        return False
    try:
        os.kill(int(found.group(1)), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return False


def namespaces() -> list[str]:
    # `ip netns list` prints "NAME" or "NAME (id: N)".
    return [line.split()[0] for line in ip("netns", "list").splitlines() if line.strip()]


def links() -> list[str]:
    # `ip -o link` prints "N: NAME@PEER: <FLAGS> …"; the name ends at "@" or ":".
    return [
        re.split(r"[@:]", line.split(": ", 1)[1], maxsplit=1)[0]
        for line in ip("-o", "link", "show").splitlines()
        if ": " in line
    ]


def _pids(namespace: str) -> list[int]:
    try:
        return [int(pid) for pid in ip("netns", "pids", namespace).split()]
    except NetnsError:
        return []


@contextmanager
def _locked() -> Iterator[None]:
    with _LOCK.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ip(*args: str) -> str:
    """Run `ip ARGS…`; its output, or NetnsError with what it said."""
    try:
        result = subprocess.run(
            ["ip", *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=_COMMAND_TIMEOUT,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NetnsError(f"ip {' '.join(args)}: {exc}") from exc
    if result.returncode != 0:
        raise NetnsError(
            f"ip {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}"
        )
    return result.stdout
