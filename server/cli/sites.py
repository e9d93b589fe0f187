"""`livethread site add|set|show NAME`: a site's origins and pre-moderation.

`add` creates a site and refuses a name that exists: replacing the whole site would drop its
origins, and every embed of it with them. `set` changes only the options given. Every origin is
checked before anything is written, so a command with one bad value changes nothing; each
command prints the site as it now is.
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import sys
from urllib.parse import SplitResult, urlsplit

import msgspec

from server.cli.command import Commands, subcommand, with_store
from server.model import Site
from server.settings import Settings
from server.storage import Storage
from server.validation import validate_ids
from server.web.guard import normal_origin

EXAMPLE = "https://news.example.com"
DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?"
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")


class OriginError(ValueError):
    """A value given as an origin is not one; the message names the option and the shape."""


def register(commands: Commands) -> None:
    """Add `site add`, `site set` and `site show` to the command line."""
    site = commands.add_parser("site", help="manage sites").add_subparsers(required=True)
    add = subcommand(site, "add", "create a site (an existing one: use `site set`)", _add, "name")
    add.add_argument(
        "--origin",
        action="append",
        default=[],
        metavar="URL",
        help=f"an origin whose pages may embed the thread, e.g. {EXAMPLE} (repeatable)",
    )
    add.add_argument("--premoderate", action="store_true", help="hold comments for approval")
    put = subcommand(site, "set", "change some of a site's settings", _set, "name")
    put.add_argument(
        "--origin",
        action="append",
        metavar="URL",
        help="the site's origins: replaces the whole list (repeatable)",
    )
    put.add_argument(
        "--add-origin", action="append", default=[], metavar="URL", help="add one (repeatable)"
    )
    put.add_argument(
        "--remove-origin",
        action="append",
        default=[],
        metavar="URL",
        help="remove one (repeatable)",
    )
    put.add_argument(
        "--premoderate",
        action=argparse.BooleanOptionalAction,
        help="hold comments for approval, or (--no-premoderate) publish them at once",
    )
    subcommand(site, "show", "print a site's origins and pre-moderation", _show, "name")


def origin(value: str, option: str = "--origin") -> str:
    """`value` as browsers send it in `Origin`: `scheme://host[:port]`, lower-case, no default
    port (a browser never sends one, so a stored `:443` would never match), a non-ASCII host in
    its IDNA form. Anything else, e.g. a bare host or a URL with a path, is an OriginError."""
    raw = value.strip()
    problem = _problem(raw)
    if problem is not None:
        raise OriginError(
            f"{option} {value!r} {problem}: an origin is scheme://host[:port], http or https, "
            f"with nothing after it (e.g. {option} {EXAMPLE})"
        )
    parts = urlsplit(raw)
    host = _host(parts)
    assert host is not None  # _problem has checked it
    port = parts.port
    suffix = "" if port is None or port == DEFAULT_PORTS[parts.scheme.lower()] else f":{port}"
    normal = normal_origin(f"{parts.scheme}://{host}{suffix}")
    assert normal is not None
    return normal


def _problem(raw: str) -> str | None:
    """Why `raw` is not an origin, or None if it is one."""
    if "://" not in raw:
        return "has no scheme"
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        return "has a port that is not a number from 1 to 65535"
    if parts.scheme.lower() not in DEFAULT_PORTS:
        return f"has the scheme {parts.scheme!r}, not http or https"
    if "@" in parts.netloc:
        return "has user info (user@)"
    if parts.path not in ("", "/"):
        return f"has a path ({parts.path})"
    if "?" in raw or "#" in raw:
        return "has a query or fragment"
    if port == 0 or parts.netloc.endswith(":"):
        return "has a port that is not a number from 1 to 65535"
    if _host(parts) is None:
        return "has no valid host name or IP address"
    return None


def _host(parts: SplitResult) -> str | None:
    """The URL's host as browsers write it in Origin, or None if it is not a valid one."""
    host = parts.hostname
    if not host:
        return None
    if parts.netloc.split("@")[-1].startswith("["):
        try:
            return f"[{ipaddress.IPv6Address(host)}]"
        except ValueError:
            return None
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    return host if _HOST_NAME.fullmatch(host) else None


def _describe(site: Site) -> str:
    origins = ", ".join(site.origins) or "none (only livethread's own pages can post or go live)"
    moderation = "on (comments wait for a moderator)" if site.premoderate else "off"
    return f"  origins: {origins}\n  premoderation: {moderation}\n"


def _error(message: str) -> int:
    print(f"livethread: error: {message}", file=sys.stderr)
    return 2


def _origins(values: list[str], option: str) -> list[str]:
    """The values as origins, in order, without repeats; OriginError for the first that is not."""
    found: list[str] = []
    for value in values:
        normal = origin(value, option)
        if normal not in found:
            found.append(normal)
    return found


def _add(args: argparse.Namespace, settings: Settings) -> int:
    validate_ids(args.name, "-")
    try:
        origins = _origins(args.origin, "--origin")
    except OriginError as exc:
        return _error(str(exc))

    async def work(store: Storage) -> int:
        if await store.sites.get(args.name) is not None:
            return _error(
                f"site {args.name!r} exists; change it with `livethread site set {args.name} …` "
                f"(add does not replace a site: see it with `livethread site show {args.name}`)"
            )
        site = Site(name=args.name, origins=tuple(origins), premoderate=args.premoderate)
        await store.sites.put(site)
        print(f"site {site.name} added\n{_describe(site)}", end="")
        return 0

    return with_store(settings, work)


def _set(args: argparse.Namespace, settings: Settings) -> int:
    try:
        replaced = None if args.origin is None else _origins(args.origin, "--origin")
        added = _origins(args.add_origin, "--add-origin")
    except OriginError as exc:
        return _error(str(exc))

    async def work(store: Storage) -> int:
        current = await store.sites.get(args.name)
        if current is None:
            return _error(f"no site {args.name!r}; add it with `livethread site add {args.name}`")
        origins = list(current.origins if replaced is None else replaced)
        origins += [o for o in added if o not in origins]
        for value in args.remove_origin:
            gone = _removable(value, origins)
            if gone is None:
                listed = ", ".join(origins) or "none"
                return _error(
                    f"--remove-origin {value!r} is not one of {args.name}'s origins ({listed})"
                )
            origins.remove(gone)
        premoderate = current.premoderate if args.premoderate is None else args.premoderate
        site = msgspec.structs.replace(current, origins=tuple(origins), premoderate=premoderate)
        if site == current:
            print(f"site {site.name} unchanged\n{_describe(site)}", end="")
            return 0
        await store.sites.put(site)
        print(f"site {site.name} changed\n{_describe(site)}", end="")
        return 0

    return with_store(settings, work)


def _removable(value: str, origins: list[str]) -> str | None:
    """The entry of `origins` that `value` names: as written (so an entry stored before origins
    were checked can still be removed), or as an origin."""
    if value in origins:
        return value
    try:
        normal = origin(value, "--remove-origin")
    except OriginError:
        return None
    return normal if normal in origins else None


def _show(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Storage) -> int:
        site = await store.sites.get(args.name)
        if site is None:
            return _error(f"no site {args.name!r}; add it with `livethread site add {args.name}`")
        print(f"site {site.name}\n{_describe(site)}", end="")
        return 0

    return with_store(settings, work)
