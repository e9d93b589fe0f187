"""Turning what readers type into what other readers see: comment bodies, names and websites.

Bodies go through two independent gates. markdown-it renders a small Markdown subset with raw
HTML off, so user markup is escaped rather than interpreted; nh3 then cleans the result against
an allowlist, so even a renderer bug cannot put a script, an image or an event handler on the
page. The allowlist is a fixed point: cleaning `render()` output again changes nothing, so HTML
stored today compares equal to HTML rendered tomorrow.

markdown-it and nh3 load at the first body rendered or cleaned (`markdown()`, `_cleaner()`), not
at import: a process that only serves readers never needs them, and names and websites need
neither.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

from server.language.text import Text
from server.names import invisible

if TYPE_CHECKING:
    import nh3
    from markdown_it import MarkdownIt

URL_MAX = 300

ALLOWED_TAGS = frozenset({"p", "br", "ul", "ol", "li", "em", "strong", "a", "blockquote", "code"})
ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener"


class _WebAddresses:
    """linkify-it narrowed to the addresses the automod "links" rule counts
    (server/moderation/rules.py): `http://…`, `https://…` and `www.…`. Bare host names ("setup.py",
    "example.com"), e-mail addresses and other schemes stay text, so what a reader sees as a link is
    what the rule counts as one."""

    # Beyond linkify-it's own list (com, org, net, … and every two-letter country code): the
    # newer endings readers' `www.` addresses often have. `https://` addresses need none.
    TLDS = ("app", "blog", "cloud", "dev", "media", "news", "online", "page", "site", "tech")

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        inner.tlds(list(self.TLDS), True)

    @staticmethod
    def _web(found: Any) -> bool:
        schema = str(found.schema or "").lower()
        return schema in ("http:", "https:") or (
            not schema and str(found.raw)[:4].lower() == "www."
        )

    def pretest(self, text: str) -> bool:
        # Every address kept here starts "http" or "www." in some case (`_web`; no character
        # but those letters matches them case-insensitively), so a text with neither holds
        # none. linkify-it's own pretest, one large regex, was most of a comment's rendering.
        lowered = text.lower()
        if "http" not in lowered and "www." not in lowered:
            return False
        return bool(self._inner.pretest(text))

    def test(self, text: str) -> bool:
        return bool(self._inner.test(text))

    def match(self, text: str) -> list[Any]:
        return [found for found in self._inner.match(text) or () if self._web(found)]

    def match_at_start(self, text: str) -> Any:
        found = self._inner.match_at_start(text)
        return found if found is not None and self._web(found) else None


@cache
def markdown() -> MarkdownIt:
    """The comment renderer, built at its first use."""
    from markdown_it import MarkdownIt

    # "zero" enables nothing but paragraphs, so every construct readers may use is opted into
    # here and anything else (headings, images, tables, code blocks, raw HTML) stays plain text.
    # Bare web addresses become links (linkify, narrowed above); nh3 then treats them like any
    # other link (allowed schemes only, rel added).
    built = (
        MarkdownIt("zero", {"breaks": True, "html": False, "linkify": True, "typographer": False})
        .enable(["blockquote", "list"])
        .enable(["newline", "escape", "backticks", "emphasis", "link", "autolink", "entity"])
        .enable(["linkify"])
    )
    built.linkify = _WebAddresses(built.linkify)
    return built


@cache
def _cleaner() -> nh3.Cleaner:
    import nh3

    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        # "*": no attribute on every tag. Without it nh3 keeps its default `title` and `lang`
        # everywhere, so a Markdown link title reached the page.
        attributes={"a": {"href"}, "*": set()},
        url_schemes=set(ALLOWED_SCHEMES),
        link_rel=LINK_REL,
        # A relative link would resolve against whichever publisher page embeds the thread.
        url_relative="deny",
        strip_comments=True,
    )


def sanitize(html: str) -> str:
    """Clean an HTML fragment against the comment allowlist."""
    return _cleaner().clean(html)


def render(source: str) -> str:
    """Render a comment body (Markdown subset) to safe HTML."""
    plain = _plain(source)
    html = markdown().render(source) if plain is None else plain
    return sanitize(html).strip()


# What a plain body may hold: printable ASCII, newlines, letters and digits of any script and a
# few common typographic marks; no control, format or whitespace character but space and
# newline (markdown-it and nh3 each treat some of those specially).
_TYPOGRAPHY = "\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u20ac\u00a3\u00ab\u00bb\u00bf\u00a1\u00b0"
_PLAIN_TEXT = re.compile(rf"(?:[\x20-\x7e\n]|[^\W_\x00-\x7f]|[{_TYPOGRAPHY}])*")
# What makes it Markdown: escapes, code, emphasis, links, autolinks, entities, and a web address
# (`_WebAddresses`); a line opening a list (`*` and `>`, a quote's, are markup above already).
_MARKUP = re.compile(r"[\\`*_\[\]<>&]|http|www\.", re.IGNORECASE)
_BLOCK_START = re.compile(r"^ *(?:[-+]|[0-9]+[.)])", re.MULTILINE)


def _plain(source: str) -> str | None:
    """A body with no Markdown in it as markdown-it would render it (paragraphs at blank lines,
    a line break at each newline, lines trimmed), without running the parser: most comments are
    plain prose, and parsing them was most of a post's rendering. None: not plain, parse it.
    (tests/test_render.py holds the two renderings equal over generated bodies.)"""
    if _MARKUP.search(source) or _BLOCK_START.search(source) or not _PLAIN_TEXT.fullmatch(source):
        return None
    paragraphs: list[list[str]] = [[]]
    for line in source.split("\n"):
        text = line.strip(" ")
        if text:
            paragraphs[-1].append(text)
        elif paragraphs[-1]:
            paragraphs.append([])
    return "\n".join("<p>" + "<br>\n".join(lines) + "</p>" for lines in paragraphs if lines)


def clean_name(raw: str) -> str:
    """A display name as shown: NFC, no invisible or control characters, single spaces, trimmed.

    Dropped, not refused (see server.names.invisible): format characters (bidi overrides and
    isolates, LRM/RLM/ALM, zero-width space and joiners, word joiner, BOM, soft hyphen, tag
    characters), which are only good for spoofing or reordering the text around them; every
    other character that shows nothing or a blank (default-ignorables such as variation
    selectors, and the Hangul fillers U+115F, U+1160, U+3164, U+FFA0); controls and lone
    surrogates. So "Lisa West" with a filler after it is "Lisa West", and meets the
    impersonation check as that.
    """
    kept = []
    for ch in raw:
        # Tabs and newlines are controls too, but they separate words: keep them as spaces.
        if ch.isspace():
            kept.append(" ")
        elif not invisible(ch):
            kept.append(ch)
    # Normalising after removal means a dropped character cannot leave an uncomposed pair.
    return " ".join(unicodedata.normalize("NFC", "".join(kept)).split())


def clean_url(raw: str) -> str | None:
    """An author's website: None when blank, else an absolute http(s) URL with a host, in a
    normal form that is safe raw in JSON, HTML attributes and mails: scheme and host lower-case,
    the host in its ASCII (IDNA) form, the default port dropped, and every character that a URL
    may not hold raw percent-encoded (non-ASCII, quotes, angle brackets, backslashes, a stray %).

    Raises ValueError with a reader-facing message (a `Text`: args[0]) when the address is not
    acceptable.
    """
    url = raw.strip()
    if not url:
        return None
    if len(url) > URL_MAX:
        raise ValueError(TOO_LONG)
    if any(ch.isspace() or invisible(ch) for ch in url):
        raise ValueError(Text("url.spaces"))
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise ValueError(NOT_A_URL) from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not host:
        raise ValueError(Text("url.scheme"))
    # "https://trusted.example@evil.example" reads as the first host but opens the second.
    if parts.username is not None or parts.password is not None:
        raise ValueError(Text("url.credentials"))
    netloc = _host(host)
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    normal = urlunsplit(
        (
            scheme,
            netloc,
            _escape(parts.path, ""),
            _escape(parts.query, "?/"),
            _escape(parts.fragment, "?/"),
        )
    )
    if len(normal) > URL_MAX:
        raise ValueError(TOO_LONG)
    return normal


TOO_LONG = Text("url.too_long", max=URL_MAX)
NOT_A_URL = Text("url.invalid")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# What RFC 3986 lets a path hold raw (unreserved, sub-delims, ":" and "@", "/" between
# segments, "%" of an escape), less the apostrophe: it is a sub-delim, but it ends a
# single-quoted HTML attribute, and %27 means the same to every web server.
_PATH_SAFE = "-._~!$&()*+,;=:@/%"
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ASCII_HOST = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?")


def _escape(part: str, extra_safe: str) -> str:
    """A path, query or fragment with what it may not hold raw percent-encoded (as UTF-8)."""
    return quote(_STRAY_PERCENT.sub("%25", part), safe=_PATH_SAFE + extra_safe)


def _host(host: str) -> str:
    """The host as a URL carries it: an IP literal, or lower-case ASCII (IDNA for the rest)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return f"[{address.compressed}]" if address.version == 6 else address.compressed
    if not host.isascii():
        # Here only: idna's tables are most of a megabyte, and most hosts are ASCII.
        import idna

        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            raise ValueError(NOT_A_URL) from None
    host = host.lower()
    if not _ASCII_HOST.fullmatch(host):
        raise ValueError(NOT_A_URL)
    return host
