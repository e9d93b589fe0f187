"""The server's gates against stored XSS, one payload at a time: body, name and website.

Rendered HTML is checked as parsed HTML (tags, attribute names and values), not as a string:
the payloads' text legitimately survives as escaped text, e.g. `&lt;img onerror=…&gt;`.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

import pytest

from server.render import (
    ALLOWED_SCHEMES,
    ALLOWED_TAGS,
    LINK_REL,
    clean_name,
    clean_url,
    render,
    sanitize,
)
from tests.security.payloads import BODIES, NAMES, URLS

# Never in a comment, whatever the input.
FORBIDDEN_TAGS = frozenset(
    {
        "script",
        "iframe",
        "svg",
        "math",
        "style",
        "img",
        "form",
        "object",
        "embed",
        "base",
        "meta",
        "link",
    }
)
EVENT_HANDLER = re.compile(r"^on\w+$", re.IGNORECASE)
# What a browser ignores inside a URL scheme ("java\tscript:" is javascript:).
_URL_NOISE = re.compile(r"[\x00-\x20\x7f]+")
ACTIVE_SCHEME = re.compile(r"^(?:javascript|vbscript|data):", re.IGNORECASE)
# A tag that opens or closes in the raw string (escaped `&lt;script` is text, not a tag).
RAW_TAG = re.compile(r"<\s*/?\s*(" + "|".join(sorted(FORBIDDEN_TAGS)) + r")\b", re.IGNORECASE)

# Website addresses that would run script or hide where they lead, beyond the shared corpus.
HOSTILE_URLS: tuple[str, ...] = (
    "javascript:alert(document.domain)",
    " javascript:window.__pwned=1",
    "jAvAsCrIpT:window.__pwned=1",
    "java\tscript:window.__pwned=1",
    "java\u200bscript:window.__pwned=1",
    "javascript://example.com/%0Awindow.__pwned=1",
    "javascript:https://example.com",
    "data:text/html;base64,PHNjcmlwdD53aW5kb3cuX19wd25lZD0xPC9zY3JpcHQ+",
    "//evil.example/",
    "https://trusted.example@evil.example/",
)

# Markdown link shapes beyond the shared corpus: encoded schemes, references, autolinks, titles.
LINK_BODIES: tuple[str, ...] = (
    "[a](<javascript:window.__pwned=1>)",
    "[a](java%0ascript:window.__pwned=1)",
    "[a](&#106;avascript:window.__pwned=1)",
    "[a](javascript&colon;window.__pwned=1)",
    "[a](&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112"
    "&#0000116&#0000058window.__pwned=1)",
    "[a][r]\n\n[r]: javascript:window.__pwned=1",
    "<javascript:window.__pwned=1>",
    "[a](vbscript:window.__pwned=1)",
    "[a](file:///etc/passwd)",
    "[a](//evil.example)",
    "[a](/relative)",
    "![a](data:image/png;base64,AAAA)",
    '[a](https://x.example"onclick="window.__pwned=1)',
    '[a](https://ok.example "title onmouseover=window.__pwned=1")',
    "[a](https://ok.example 'x' lang=en)",
)

# Bare addresses (linkified): hostile text around, inside and in front of real web addresses.
BARE_LINK_BODIES: tuple[str, ...] = (
    "javascript:window.__pwned=1//https://x.example",
    'https://x.example/"onmouseover="window.__pwned=1',
    "https://x.example/'><script>window.__pwned=1</script>",
    "www.example.com/<img src=x onerror=window.__pwned=1>",
    "https://x.example/javascript:window.__pwned=1",
    "https://user:pass@x.example/ and https://x.example:99999/",
    "data:text/html,https://x.example",
    "http://[::1]/ http://0x7f.1/ https://xn--e1afmkfd.xn--p1ai/",
    "https://x.example/\u202e/gnp.exe www.\u0435xample.com",
    "<https://x.example>https://y.example[z](https://z.example)www.example.com",
)

# Harmless Markdown that must come out as markup: proves the checks see real tags and links.
BENIGN = "**b** _i_ `c` [l](https://x.example) <https://y.example> [m](mailto:a@b.example)"


class Markup(HTMLParser):
    """Every tag, attribute, comment and declaration in an HTML fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.other: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_comment(self, data: str) -> None:
        self.other.append(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self.other.append(f"<!{decl}>")

    def handle_pi(self, data: str) -> None:
        self.other.append(f"<?{data}>")

    def unknown_decl(self, data: str) -> None:
        self.other.append(f"<![{data}]>")


def parse(html: str) -> Markup:
    markup = Markup()
    markup.feed(html)
    markup.close()
    return markup


def problems(html: str) -> list[str]:
    """What in `html` could run, load or clobber something; empty when it is inert."""
    found: list[str] = []
    found.extend(f"raw tag {match.group(0)!r}" for match in RAW_TAG.finditer(html))
    markup = parse(html)
    found.extend(markup.other)
    for tag, attrs in markup.tags:
        if tag in FORBIDDEN_TAGS:
            found.append(f"forbidden tag <{tag}>")
        if tag not in ALLOWED_TAGS:
            found.append(f"tag <{tag}> outside the allowlist")
        for name, value in attrs:
            if EVENT_HANDLER.match(name):
                found.append(f"event handler {name} on <{tag}>")
            if (tag, name) not in {("a", "href"), ("a", "rel")}:
                found.append(f"attribute {name} on <{tag}>")
            plain = _URL_NOISE.sub("", value or "")
            if ACTIVE_SCHEME.match(plain):
                found.append(f"{name}={value!r} on <{tag}>")
            if tag == "a" and name == "href":
                scheme = plain.partition(":")[0].lower() if ":" in plain else ""
                if scheme not in ALLOWED_SCHEMES:
                    found.append(f"link to {value!r}")
            if tag == "a" and name == "rel" and value != LINK_REL:
                found.append(f"rel={value!r}")
    return found


def label(payload: str) -> str:
    """A readable, shell- and `-k`-friendly test id for a payload."""
    return re.sub(r"[^A-Za-z0-9]+", "_", payload).strip("_")[:48] or "blank"


def ids(payloads: tuple[str, ...]) -> list[str]:
    return [f"{index:02d}-{label(payload)}" for index, payload in enumerate(payloads)]


def test_the_checks_see_real_markup() -> None:
    """The parsed-HTML checks flag live markup and pass the renderer's allowed Markdown."""
    html = render(BENIGN)
    assert [tag for tag, _ in parse(html).tags] == ["p", "strong", "em", "code", "a", "a", "a"]
    assert problems(html) == []
    assert problems('<img src=x onerror="x()">') != []
    assert problems('<a href="java\tscript:x()">x</a>') != []
    assert problems('<a href="https://ok.example" onclick="x()">x</a>') != []
    assert problems("<!--x--><p>x</p>") != []


@pytest.mark.parametrize("payload", BODIES, ids=ids(BODIES))
def test_rendered_body_is_inert(payload: str) -> None:
    """render() turns the payload into allowlisted tags with no handler or active URL."""
    assert problems(render(payload)) == []


@pytest.mark.parametrize("payload", LINK_BODIES, ids=ids(LINK_BODIES))
def test_markdown_link_is_inert_and_stable(payload: str) -> None:
    """A Markdown link comes out with only an http(s)/mailto href and rel, or no href at all."""
    html = render(payload)
    assert problems(html) == []
    assert sanitize(html) == html


def test_bare_addresses_become_real_links() -> None:
    """Bare http(s) and www. addresses come out as `<a>` with an http(s) href and the rel."""
    markup = parse(render("see https://x.example/a and www.example.com"))
    assert markup.tags == [
        ("p", []),
        ("a", [("href", "https://x.example/a"), ("rel", LINK_REL)]),
        ("a", [("href", "http://www.example.com"), ("rel", LINK_REL)]),
    ]


@pytest.mark.parametrize("payload", BARE_LINK_BODIES, ids=ids(BARE_LINK_BODIES))
def test_bare_address_is_inert_and_stable(payload: str) -> None:
    """A linkified address keeps only an http(s) href and rel; render() output is a fixed point."""
    html = render(payload)
    assert problems(html) == []
    assert sanitize(html) == html


@pytest.mark.parametrize("payload", BODIES, ids=ids(BODIES))
def test_rendered_body_is_a_fixed_point(payload: str) -> None:
    """Cleaning render() output again with sanitize() changes nothing."""
    html = render(payload)
    assert sanitize(html) == html


@pytest.mark.parametrize("payload", BODIES, ids=ids(BODIES))
def test_sanitizer_alone_stops_raw_payload(payload: str) -> None:
    """Even if Markdown passed raw HTML through, sanitize() output is inert and stable."""
    html = sanitize(payload)
    assert problems(html) == []
    assert sanitize(html) == html


@pytest.mark.parametrize("name", NAMES, ids=ids(NAMES))
def test_name_loses_invisible_characters(name: str) -> None:
    """clean_name() drops bidi controls and zero-width characters and is idempotent."""
    cleaned = clean_name(name)
    assert cleaned
    assert [ch for ch in cleaned if unicodedata.category(ch) in {"Cc", "Cf", "Cs"}] == []
    assert clean_name(cleaned) == cleaned


def test_bidi_and_zero_width_names_read_as_their_letters() -> None:
    """A right-to-left override and zero-width joiners leave only the visible letters."""
    assert clean_name("\u202eevil\u202c") == "evil"
    assert clean_name("zero\u200bwidth\u2060name") == "zerowidthname"


@pytest.mark.parametrize("url", URLS + HOSTILE_URLS, ids=ids(URLS + HOSTILE_URLS))
def test_hostile_website_is_refused(url: str) -> None:
    """clean_url() refuses script, data and scheme-relative or disguised addresses."""
    with pytest.raises(ValueError, match=r"\S"):
        clean_url(url)


def test_plain_website_is_kept() -> None:
    """clean_url() keeps an ordinary https address as typed (so the checks above are real)."""
    assert clean_url(" https://example.com/a?b=c ") == "https://example.com/a?b=c"
