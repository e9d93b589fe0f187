"""Where livethread sends requests of its own: webhook deliveries and the spam classifier.

A site's webhook or classifier URL is chosen by whoever configures the site, and the request
leaves from the server, inside its network. So that such a URL cannot reach what only the server
can reach (server-side request forgery: a cloud metadata endpoint, an admin port on loopback, a
database on the private network), both are refused unless they are http(s) and every address
their host resolves to is public. The check runs when the URL is set and again before every
request, since DNS can change (a name that resolved to a public address may later resolve to a
private one). The request is then sent to the very address that was checked, with the URL's host
name in `Host` and in TLS (SNI and certificate check), so a second lookup cannot swap it.

`LIVETHREAD_ALLOW_PRIVATE_HOOKS=1` turns the refusal off (the addresses are still resolved and
pinned): for receivers on the same host or network by design, and for tests.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# The setting that turns the refusal off, named in every refusal so operators find it.
OPT_IN = "LIVETHREAD_ALLOW_PRIVATE_HOOKS=1"


class Refused(ValueError):
    """A URL livethread will not send requests to; the message says why."""


@dataclass(frozen=True)
class Pinned:
    """A request's target: the URL with its host replaced by the checked address, and the host
    name to send as `Host` and to verify TLS against."""

    url: str
    host_header: str
    server_name: str


def not_public(address: Address) -> str | None:
    """What kind of non-public address this is, or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind, hit in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if hit:
            return kind
    # Shared (carrier-grade NAT), documentation and similar ranges are not private either.
    return None if address.is_global else "non-global"


def parse(url: str, what: str) -> SplitResult:
    """The URL's parts, or Refused when it is not http(s) with a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(f"{what} must be http:// or https:// with a host, not {url!r}")
    return parts


def check(parts: SplitResult, addresses: list[Address], what: str) -> None:
    """Refused if any address the host resolved to is not public."""
    for address in addresses:
        kind = not_public(address)
        if kind is not None:
            raise Refused(
                f"{what}'s host {parts.hostname} is (or resolves to) {address}, which is "
                f"{kind}: livethread sends requests to public addresses only "
                f"(set {OPT_IN} to allow it)"
            )


def check_now(url: str, *, allow_private: bool, what: str = "the URL") -> str | None:
    """Refuse a URL being configured (blocking: for the command line). Returns a warning when
    its host does not resolve now (it is accepted: every request checks it again)."""
    parts = parse(url, what)
    if allow_private:
        return None
    literal = _literal(parts)
    if literal is not None:
        check(parts, [literal], what)
        return None
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"{parts.hostname} does not resolve now ({exc}); it is checked before each request"
    check(parts, _addresses(infos), what)
    return None


async def pin(url: str, *, allow_private: bool, what: str = "the URL") -> Pinned:
    """Resolve the URL's host, refuse it unless public (or allowed), and pin the request to one
    of its addresses (the first IPv4 one, else the first). Raises Refused, or OSError when the
    host does not resolve."""
    parts = parse(url, what)
    address = _literal(parts)
    if address is None:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, port, type=socket.SOCK_STREAM
        )
        found = _addresses(infos)
        if not found:
            raise OSError(f"{parts.hostname} resolves to no address")
        if not allow_private:
            check(parts, found, what)
        # IPv4 first: a dual-stack name ("localhost") often has a receiver on IPv4 only, and
        # one pinned address gets no second try on another family.
        address = min(found, key=lambda a: a.version)
    elif not allow_private:
        check(parts, [address], what)
    hostname = parts.hostname or ""
    host = f"[{address}]" if address.version == 6 else str(address)
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    if parts.username is not None:
        # Kept, so httpx still turns user:password@ into Basic authorization.
        netloc = parts.netloc.rpartition("@")[0] + "@" + netloc
    named = parts.netloc.rpartition("@")[2]
    return Pinned(
        url=urlunsplit(parts._replace(netloc=netloc)), host_header=named, server_name=hostname
    )


def _literal(parts: SplitResult) -> Address | None:
    try:
        return ipaddress.ip_address((parts.hostname or "").split("%")[0])
    except ValueError:
        return None


def _addresses(infos: Sequence[tuple[Any, ...]]) -> list[Address]:
    found: list[Address] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if address not in found:
            found.append(address)
    return found
