"""Turning what readers type into what other readers see: comment bodies, names and websites.

Bodies go through two independent gates. markdown-it renders a small Markdown subset with raw
HTML off, so user markup is escaped rather than interpreted; nh3 then cleans the result against
an allowlist, so even a renderer bug cannot put a script, an image or an event handler on the
page. The allowlist is a fixed point: cleaning `render()` output again changes nothing, so HTML
stored today compares equal to HTML rendered tomorrow.
"""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt

URL_MAX = 300

ALLOWED_TAGS = frozenset({"p", "br", "ul", "ol", "li", "em", "strong", "a", "blockquote", "code"})
ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener"


class _WebAddresses:
    """linkify-it narrowed to the addresses the automod "links" rule counts (server/rules.py):
    `http://…`, `https://…` and `www.…`. Bare host names ("setup.py", "example.com"), e-mail
    addresses and other schemes stay text, so what a reader sees as a link is what the rule
    counts as one."""

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
        return bool(self._inner.pretest(text))

    def test(self, text: str) -> bool:
        return bool(self._inner.test(text))

    def match(self, text: str) -> list[Any]:
        return [found for found in self._inner.match(text) or () if self._web(found)]

    def match_at_start(self, text: str) -> Any:
        found = self._inner.match_at_start(text)
        return found if found is not None and self._web(found) else None


# "zero" enables nothing but paragraphs, so every construct readers may use is opted into
# here and anything else (headings, images, tables, code blocks, raw HTML) stays plain text.
# Bare web addresses become links (linkify, narrowed above); nh3 then treats them like any
# other link (allowed schemes only, rel added).
_MARKDOWN = (
    MarkdownIt("zero", {"breaks": True, "html": False, "linkify": True, "typographer": False})
    .enable(["blockquote", "list"])
    .enable(["newline", "escape", "backticks", "emphasis", "link", "autolink", "entity"])
    .enable(["linkify"])
)
_MARKDOWN.linkify = _WebAddresses(_MARKDOWN.linkify)

_CLEANER = nh3.Cleaner(
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
    return _CLEANER.clean(html)


def render(source: str) -> str:
    """Render a comment body (Markdown subset) to safe HTML."""
    return sanitize(_MARKDOWN.render(source)).strip()


# Format characters (bidi overrides and isolates, LRM/RLM/ALM, zero-width space/joiners, word
# joiner, BOM, soft hyphen, tag characters) are invisible in a name and only good for spoofing
# or reordering the text around it; control characters and lone surrogates never belong there.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


def clean_name(raw: str) -> str:
    """A display name as shown: NFC, no invisible or control characters, single spaces, trimmed."""
    kept = []
    for ch in raw:
        # Tabs and newlines are controls too, but they separate words: keep them as spaces.
        if ch.isspace():
            kept.append(" ")
        elif unicodedata.category(ch) not in _DROPPED_CATEGORIES:
            kept.append(ch)
    # Normalising after removal means a dropped character cannot leave an uncomposed pair.
    return " ".join(unicodedata.normalize("NFC", "".join(kept)).split())


def clean_url(raw: str) -> str | None:
    """An author's website: None when blank, else an absolute http(s) URL with a host.

    Raises ValueError with a reader-facing message when the address is not acceptable.
    """
    url = raw.strip()
    if not url:
        return None
    if len(url) > URL_MAX:
        raise ValueError(f"Your website address is too long ({URL_MAX} characters at most)")
    if any(ch.isspace() or unicodedata.category(ch) in _DROPPED_CATEGORIES for ch in url):
        raise ValueError("A website address cannot contain spaces or invisible characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 -- evaluated only to reject malformed ports
    except ValueError:
        raise ValueError("Please enter a valid website address") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise ValueError("Please enter a website address starting with http:// or https://")
    # "https://trusted.example@evil.example" reads as the first host but opens the second.
    if parts.username is not None or parts.password is not None:
        raise ValueError("A website address cannot contain a user name or password")
    return url
