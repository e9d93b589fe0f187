"""The URL of a Redis Cluster, for the cluster bus and the shared buckets:
`redis+cluster://[[user]:password@]host:port[,host:port...]`, or `rediss+cluster://…` over TLS
with redis-py's TLS options in the query string (`tls_options`). The parsers raise a
ValueError naming what is wrong, which the server shows as the `--redis` setting's problem.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import parse_qsl, unquote

SCHEME = "redis+cluster"
TLS_SCHEME = "rediss+cluster"

# The values of the TLS options a `rediss+cluster://` URL may set (redis-py's names and values,
# as for `rediss://`): checked here, so a typo stops the server at start, not every connection.
_CERT_REQS = ("required", "optional", "none")
_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def cluster_nodes(url: str) -> list[tuple[str, int]]:
    """The seed nodes of a `redis+cluster://[[user]:password@]host:port[,host:port...]` URL
    (`rediss+cluster://` for TLS, then with a query string of TLS options: `tls_options`).

    Raises ValueError naming what is wrong. IPv6 hosts go in brackets (`[::1]:7000`).
    """
    _, rest, _ = _split(url)
    hosts, _, path = rest.partition("/")
    if path.strip("0"):
        raise ValueError(f"a Redis Cluster has only database 0; remove /{path} from the URL")
    hosts = hosts.rpartition("@")[2]  # user info: see credentials()
    if not hosts:
        raise ValueError("the Redis Cluster URL names no node: give host:port[,host:port...]")
    return list(dict.fromkeys(_host_port(item.strip()) for item in hosts.split(",")))


TLS_FILES = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile")


def tls_options(url: str) -> dict[str, Any]:
    """redis-py's TLS keyword arguments (`ssl_ca_certs`...) from a `rediss+cluster://` URL's
    query string: never empty then (`ssl_cert_reqs` defaults to "required"); empty for
    `redis+cluster://`, which is plain TCP. Raises ValueError naming an unknown or bad option."""
    scheme, _, query = _split(url)
    if scheme != TLS_SCHEME:
        return {}
    options: dict[str, Any] = {"ssl_cert_reqs": "required"}
    seen: set[str] = set()
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in seen:
            raise ValueError(f"the Redis Cluster URL gives {name} twice")
        seen.add(name)
        if name in TLS_FILES:
            if not value:
                raise ValueError(f"the Redis Cluster URL's {name} needs a file path")
            options[name] = value
        elif name == "ssl_cert_reqs":
            if value.lower() not in _CERT_REQS:
                raise ValueError(f"ssl_cert_reqs must be one of {', '.join(_CERT_REQS)}")
            options[name] = value.lower()
        elif name == "ssl_check_hostname":
            if value.lower() not in _BOOLEANS:
                raise ValueError("ssl_check_hostname must be true or false")
            options[name] = _BOOLEANS[value.lower()]
        else:
            raise ValueError(
                f"unknown option {name!r} in the Redis Cluster URL (it takes ssl_ca_certs, "
                "ssl_certfile, ssl_keyfile, ssl_cert_reqs, ssl_check_hostname)"
            )
    check_tls_files(url)
    return options


def check_tls_files(url: str) -> None:
    """Raise ValueError naming a TLS file (`ssl_ca_certs`...) that a Redis URL of any scheme
    gives and that cannot be read: refused at start, not found later as a bus that never
    connects."""
    for name, value in parse_qsl(url.partition("?")[2].partition("#")[0]):
        if name in TLS_FILES and not os.access(value, os.R_OK):
            raise ValueError(f"{name}={value}: no such file, or it cannot be read")


def _split(url: str) -> tuple[str, str, str]:
    """(scheme in lower case, what follows `://` up to the query, the query) of a cluster URL."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in (SCHEME, TLS_SCHEME):
        raise ValueError(
            f"a Redis Cluster URL starts with {SCHEME}:// (or {TLS_SCHEME}:// for TLS), "
            f"not {url.split(':')[0]!r}"
        )
    if "#" in rest:
        raise ValueError("a Redis Cluster URL takes no fragment")
    rest, question, query = rest.partition("?")
    if question and scheme == SCHEME:
        raise ValueError(
            f"a {SCHEME}:// URL takes no query string (TLS options need {TLS_SCHEME}://)"
        )
    return scheme, rest, query


def _host_port(item: str) -> tuple[str, int]:
    if not item:
        raise ValueError("the Redis Cluster URL has an empty node between commas")
    host, colon, port_text = item.rpartition(":")
    if not colon:
        raise ValueError(f"node {item!r} has no port: write host:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host or "[" in host:
        raise ValueError(f"node {item!r}: write an IPv6 node as [address]:port")
    if not host:
        raise ValueError(f"node {item!r} has no host")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"node {item!r}: the port must be a number from 1 to 65535")
    return host, int(port_text)


def credentials(url: str) -> tuple[str | None, str | None]:
    """(username, password) from the URL's user info, each None if absent."""
    authority = re.split(r"[/?#]", url.partition("://")[2], maxsplit=1)[0]
    userinfo, at, _ = authority.rpartition("@")
    if not at:
        return None, None
    user, colon, password = userinfo.partition(":")
    return (unquote(user) or None), (unquote(password) if colon else None)
