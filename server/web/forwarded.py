"""Who the client is behind a reverse proxy: `X-Forwarded-For` and `X-Forwarded-Proto`, believed
only from the proxies `LIVETHREAD_FORWARDED_ALLOW_IPS` names.

The client address is what rate limits and socket limits count, so only a trusted proxy may
change it, and only to a well-formed address. X-Forwarded-For is read from the right (each proxy
appends the peer it saw): trusted hops are skipped, the first address that is not a trusted
proxy is the client. An entry that is not an IP address ("unknown", "_hidden", "1.2.3",
"<script>") ends the walk and the direct peer stays the client: past junk nothing is known.
If every entry is a trusted proxy the leftmost is the client. X-Forwarded-Proto may only say
http or https (ws or wss), and only sets the scheme of the request's own kind.

This replaces uvicorn's ProxyHeadersMiddleware, which took any text as the client's "address".
"""

from __future__ import annotations

import ipaddress

from starlette.types import ASGIApp, Receive, Scope, Send

from server.settings import Network, proxy_networks

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# The scheme a forwarded proto gives a request of each kind.
_SCHEMES = {
    "http": {"http": "http", "ws": "http", "https": "https", "wss": "https"},
    "websocket": {"http": "ws", "ws": "ws", "https": "wss", "wss": "wss"},
}


def parse_address(entry: str) -> Address | None:
    """An X-Forwarded-For entry as an address: IPv4 or IPv6, an optional port stripped
    ("1.2.3.4:80", "[2001:db8::1]:443", "[2001:db8::1]"); None for anything else. An
    IPv4-mapped IPv6 address is the IPv4 address, so one client has one form."""
    text = entry.strip()
    if text.startswith("["):
        inner, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not _is_port(rest)):
            return None
        text = inner
    elif text.count(":") == 1:  # IPv4 with a port; a bare IPv6 address has two or more
        text, _, port = text.partition(":")
        if not port.isdigit():
            return None
    # Zone ids ("fe80::1%eth0") name an interface of the sender, not a client.
    if "%" in text:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_port(text: str) -> bool:
    return text.startswith(":") and text[1:].isascii() and text[1:].isdigit()


# Direct peers whose verdict is remembered (trusted or not): a request or a new socket need not
# parse its peer's address again. Cleared when full, so a scan of many addresses stays bounded.
PEERS_REMEMBERED = 4096


class TrustedProxies:
    """The peers whose forwarding headers are believed."""

    def __init__(self, setting: str) -> None:
        self._networks: tuple[Network, ...] | None = proxy_networks(setting)
        self._peers: dict[str, bool] = {}

    def trusts_peer(self, host: str) -> bool:
        """`trusts` for the direct peer's address as the server gives it."""
        verdict = self._peers.get(host)
        if verdict is None:
            if len(self._peers) >= PEERS_REMEMBERED:
                self._peers.clear()
            verdict = self._peers[host] = self.trusts(parse_address(host))
        return verdict

    def trusts(self, address: Address | None) -> bool:
        if self._networks is None:
            return True
        return address is not None and any(address in network for network in self._networks)

    def client(self, forwarded_for: str) -> Address | None:
        """The client's address in a trusted peer's X-Forwarded-For; None when the direct
        peer stands (a junk entry, or an empty header)."""
        found = None
        for entry in reversed(forwarded_for.split(",")):
            address = parse_address(entry)
            if address is None:
                return None
            found = address
            if not self.trusts(address):
                break
        return found


class ForwardedHeaders:
    """ASGI middleware: resolves `client` and `scheme` of http and websocket scopes from a
    trusted proxy's X-Forwarded-For and X-Forwarded-Proto."""

    def __init__(self, app: ASGIApp, trusted: str) -> None:
        self.app = app
        self.proxies = TrustedProxies(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in _SCHEMES:
            scope = self.resolve(scope)
        await self.app(scope, receive, send)

    def resolve(self, scope: Scope) -> Scope:
        """The scope as the proxy's client made it (unchanged unless the peer is trusted)."""
        client = scope.get("client")
        trusted = self.proxies.trusts_peer(str(client[0])) if client else self.proxies.trusts(None)
        if not trusted:
            return scope
        forwarded_for: list[str] = []
        proto = None
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                forwarded_for.append(value.decode("latin-1"))
            elif name == b"x-forwarded-proto":
                proto = value.decode("latin-1")
        resolved = dict(scope)
        if forwarded_for:
            address = self.proxies.client(",".join(forwarded_for))
            if address is not None:
                resolved["client"] = (str(address), 0)
        if proto is not None:
            # Several proxies may each have added one: the nearest (rightmost) is ours.
            scheme = _SCHEMES[scope["type"]].get(proto.rsplit(",", 1)[-1].strip().lower())
            if scheme is not None:
                resolved["scheme"] = scheme
        return resolved
