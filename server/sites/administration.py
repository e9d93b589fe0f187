"""Running a site, written once for the command line (`site`, `moderator`, `rules`) and the
admin page (server/web/admin.py): what an origin is, how a site's settings change, how a
moderator's token is made, replaced and revoked, and how a change to the rules is checked.

Every function takes the storage ports it needs and raises a ValueError subclass with a message
a person can act on; the callers word nothing of their own about validity.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import SplitResult, urlsplit

import msgspec

from server.model import Moderator, ModeratorRole, Site
from server.moderation.ports import RuleBook
from server.moderation.rules import Rules, check
from server.sites.ports import Moderators, Sites
from server.tokens import new_token, token_hash

EXAMPLE = "https://news.example.com"
DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?"
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
# What turns a rate, a classifier URL or key off.
OFF = "off"


class OriginError(ValueError):
    """A value given as an origin is not one; the message names the option and the shape."""


class NoSuchSite(ValueError):
    """The site named does not exist."""


class NoSuchModerator(ValueError):
    """The site has no moderator of that name."""


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
    scheme = parts.scheme.lower()
    suffix = "" if port is None or port == DEFAULT_PORTS[scheme] else f":{port}"
    return f"{scheme}://{host}{suffix}".lower()


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


def origins(values: Iterable[str], option: str) -> list[str]:
    """The values as origins, in order, without repeats; OriginError for the first that is not."""
    found: list[str] = []
    for value in values:
        normal = origin(value, option)
        if normal not in found:
            found.append(normal)
    return found


def removable(value: str, listed: Iterable[str]) -> str | None:
    """The entry of `listed` that `value` names: as written (so an entry stored before origins
    were checked can still be removed), or as an origin."""
    entries = list(listed)
    if value in entries:
        return value
    try:
        normal = origin(value, "--remove-origin")
    except OriginError:
        return None
    return normal if normal in entries else None


def changed_site(
    current: Site,
    *,
    replaced: list[str] | None = None,
    added: Iterable[str] = (),
    removed: Iterable[str] = (),
    premoderate: bool | None = None,
    option: str = "--remove-origin",
) -> Site:
    """`current` with its origins replaced (already checked), then `added` (checked) appended
    and `removed` taken out, and pre-moderation set unless None; OriginError naming `option`
    for a removal that names none of its origins. Nothing is stored."""
    listed = list(current.origins if replaced is None else replaced)
    listed += [o for o in added if o not in listed]
    for value in removed:
        gone = removable(value, listed)
        if gone is None:
            shown = ", ".join(listed) or "none"
            raise OriginError(
                f"{option} {value!r} is not one of {current.name}'s origins ({shown})"
            )
        listed.remove(gone)
    moderated = current.premoderate if premoderate is None else premoderate
    return msgspec.structs.replace(current, origins=tuple(listed), premoderate=moderated)


class SiteExists(ValueError):
    """A site of that name is there already (`add` never replaces one)."""


async def add_site(sites: Sites, moderators: Moderators, site: Site, admin: str) -> str:
    """Create a site with `admin` as its first admin; their new token (kept nowhere in clear).
    SiteExists if the name is taken; the name must have passed `validate_ids`."""
    if await sites.get(site.name) is not None:
        raise SiteExists(f"a site {site.name!r} exists already")
    await sites.put(site)
    token = new_token()
    await moderators.put(Moderator(name=admin, site=site.name, role="admin"), token_hash(token))
    return token


async def add_moderator(
    sites: Sites, moderators: Moderators, site: str, name: str, role: ModeratorRole
) -> str:
    """Create a moderator (or replace their token and role) and return the new token, which
    nothing keeps in clear; NoSuchSite if the site does not exist."""
    if await sites.get(site) is None:
        raise NoSuchSite(f"no site {site!r}; add it first")
    token = new_token()
    await moderators.put(Moderator(name=name, site=site, role=role), token_hash(token))
    return token


async def rotate_moderator(moderators: Moderators, site: str, name: str) -> str:
    """Give an existing moderator a new token (their role stays; the old token stops working)
    and return it; NoSuchModerator if the site has none of that name."""
    found = [m for m in await moderators.of_site(site) if m.name == name]
    if not found:
        raise NoSuchModerator(
            f"{site!r} has no moderator {name!r} (`livethread moderator add` makes one)"
        )
    token = new_token()
    await moderators.put(found[0], token_hash(token))
    return token


async def revoke_moderator(moderators: Moderators, site: str, name: str) -> None:
    """Delete a moderator and so their token; NoSuchModerator if there was none."""
    if not await moderators.remove(site, name):
        raise NoSuchModerator(f"{site!r} has no moderator {name!r}")


def off(value: str | None) -> str | None:
    """A rate, URL or key as given, or None where it says `off` (any case)."""
    return None if value is None or value.strip().lower() == OFF else value.strip()


async def site_rules(sites: Sites, rules: RuleBook, site: str) -> Rules:
    """A site's rules, or the defaults if it never set any; NoSuchSite if it does not exist."""
    if await sites.get(site) is None:
        raise NoSuchSite(f"no site {site!r}; add it first")
    return await rules.get(site) or Rules()


def changed_rules(current: Rules, changes: dict[str, object]) -> Rules:
    """`current` with `changes` (field name to value), checked: RulesError says what is wrong.
    Where a classifier URL points is the caller's to check (destinations.check_now)."""
    return check(msgspec.structs.replace(current, **changes))
