"""Comment rendering and the cleaning of names and websites (server/render.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import server
from server.moderation.rules import links
from server.render import _plain, clean_name, clean_url, markdown, render, sanitize

# The seed thread as the project ships it (server/data/, a copy of shared/seed/thread.json).
SEED = Path(server.__file__).parent / "data" / "thread.json"


def _seed_body(comment_id: str) -> str:
    data = json.loads(SEED.read_text(encoding="utf-8"))
    for comment in data["comments"]:
        if comment["id"] == comment_id:
            body = comment["body"]
            assert isinstance(body, str)
            return body
    raise LookupError(comment_id)


def test_seed_body_renders_paragraphs_and_list() -> None:
    """A real seed body keeps its blank-line paragraphs and turns "- " lines into one list."""
    html = render(_seed_body("c5"))
    assert html.startswith("<p>I feel two ways about this:</p>")
    assert html.count("<ul>") == 1
    assert "<li>We sent tanks first, prompting the US and Germany to send their own</li>" in html
    assert html.count("<li>") == 2
    assert html.count("<p>") == 6


def test_single_newline_becomes_line_break() -> None:
    """One newline inside a paragraph is a <br>, a blank line starts a new paragraph."""
    assert render("first line\nsecond line") == "<p>first line<br>\nsecond line</p>"
    assert render("one\n\ntwo") == "<p>one</p>\n<p>two</p>"


def test_supported_inline_and_block_markup() -> None:
    """Emphasis, strong, inline code, numbered lists and blockquotes are rendered."""
    assert render("*a* **b** `c<d>`") == (
        "<p><em>a</em> <strong>b</strong> <code>c&lt;d&gt;</code></p>"
    )
    assert render("1. one\n2. two") == "<ol>\n<li>one</li>\n<li>two</li>\n</ol>"
    assert render("> quoted") == "<blockquote>\n<p>quoted</p>\n</blockquote>"


def test_links_get_rel_attributes() -> None:
    """Links (inline and autolinks) keep their href and gain rel="nofollow ugc noopener"."""
    assert render("[nato](https://www.nato.int/)") == (
        '<p><a href="https://www.nato.int/" rel="nofollow ugc noopener">nato</a></p>'
    )
    assert 'rel="nofollow ugc noopener"' in render("<https://example.com/a>")
    assert 'href="mailto:a@example.com"' in render("[me](mailto:a@example.com)")


def test_bare_web_addresses_become_links() -> None:
    """A bare http(s) or www. address in the text is a link with the comment rel; punctuation
    that ends the sentence stays outside it."""
    assert render("See https://example.com/x.") == (
        '<p>See <a href="https://example.com/x" rel="nofollow ugc noopener">'
        "https://example.com/x</a>.</p>"
    )
    assert render("or www.example.com, too") == (
        '<p>or <a href="http://www.example.com" rel="nofollow ugc noopener">'
        "www.example.com</a>, too</p>"
    )
    assert render("(http://a.example/p?q=1&r=2)") == (
        '<p>(<a href="http://a.example/p?q=1&amp;r=2" rel="nofollow ugc noopener">'
        "http://a.example/p?q=1&amp;r=2</a>)</p>"
    )


@pytest.mark.parametrize(
    "source",
    [
        "run setup.py on example.com",
        "write to ann@example.com",
        "ftp://files.example/x",
        "//cdn.example/x.js",
        "`https://in.code.example/`",
        "http\\://escaped.example/",
    ],
)
def test_other_address_like_text_stays_text(source: str) -> None:
    """Bare host names, e-mail addresses, other schemes, code and escaped schemes make no link."""
    assert "<a" not in render(source)


def test_a_markdown_link_is_not_linked_twice() -> None:
    """An address that is already a Markdown link's text or target yields exactly one link."""
    assert render("[https://a.example](https://b.example)") == (
        '<p><a href="https://b.example" rel="nofollow ugc noopener">https://a.example</a></p>'
    )


@pytest.mark.parametrize(
    ("source", "count"),
    [
        ("https://a.example", 1),
        ("www.example.com and http://b.example/x?y=1", 2),
        ("[a](https://a.example) https://b.example <https://c.example> www.example.org", 4),
        ("www.example.dev, www.example.de and WWW.EXAMPLE.NET/x", 3),
        ("setup.py, ann@example.com and ftp://e.example", 0),
        ("*https://a.example/x* and **www.example.com**", 2),
    ],
)
def test_rendered_links_are_what_the_links_rule_counts(source: str, count: int) -> None:
    """Auto-moderation's "links" rule (rules.links, on the source) counts exactly the links the
    rendered comment shows, bare ones included."""
    assert render(source).count("<a ") == count
    assert links(source) == count


def test_the_links_rule_also_counts_what_is_not_shown_as_a_link() -> None:
    """An address in code, or a www. name with no known ending, is text, yet still counted:
    the rule errs towards review, never away from it."""
    for source in ("`https://a.example/`", "www.d.example"):
        assert "<a" not in render(source)
        assert links(source) == 1


@pytest.mark.parametrize(
    "source",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](vbscript:msgbox(1))",
        "<javascript:alert(1)>",
        "[x](/relative/path)",
    ],
)
def test_dangerous_and_relative_links_lose_their_href(source: str) -> None:
    """javascript:, data:, vbscript: and relative links never produce a usable href."""
    assert "href" not in render(source)


@pytest.mark.parametrize(
    ("source", "forbidden"),
    [
        ("<script>alert(1)</script>", "<script"),
        ('<img src="x" onerror="alert(1)">', "<img"),
        ('<iframe src="https://evil.example/"></iframe>', "<iframe"),
        ('<a href="javascript:alert(1)">x</a>', "<a "),
        ('<div onclick="x()">y</div>', "<div"),
        ("<style>body{display:none}</style>", "<style"),
        ("<!-- hidden -->", "<!--"),
    ],
)
def test_raw_html_never_survives_as_markup(source: str, forbidden: str) -> None:
    """Raw HTML in a body is shown as text, never interpreted as markup."""
    html = render(source)
    assert forbidden not in html
    assert html.startswith("<p>&lt;")


def test_image_markdown_makes_no_img() -> None:
    """Image syntax never yields an <img> (it degrades to a plain link)."""
    html = render("![x](http://a/b.png)")
    assert "<img" not in html


@pytest.mark.parametrize("source", ["# x", "## x", "x\n===", "x\n---"])
def test_headings_are_not_rendered(source: str) -> None:
    """ATX and setext headings stay text; no <h1>..<h6> appears."""
    assert "<h" not in render(source)


@pytest.mark.parametrize(
    "source", ["    indented code", "```\nfenced\n```", "| a | b |\n|---|---|\n| 1 | 2 |", "***"]
)
def test_disabled_blocks_produce_no_extra_tags(source: str) -> None:
    """Code blocks, tables and rules are off: only allowlisted tags appear."""
    html = render(source)
    for tag in ("<pre", "<table", "<hr", "<tr", "<td"):
        assert tag not in html


IDEMPOTENCY_CASES = [
    "plain",
    "a\nb\n\nc",
    "- one\n- two\n\n1. three",
    "> *quote* with **strong** and `code`",
    '[x](http://a.example/?q="1"&b=2)',
    "<script>alert('x')</script>",
    '<img src=x onerror="alert(1)">',
    "&amp; &lt; &#0; &quot; &nbsp; &copy;",
    "x\x00y \u202eevil\u202c",
    "[x](javascript:alert(1)) <http://a.example>",
    "***bold-italic*** _under_ __strong__",
    "> > nested\n> - list in quote\n>   continued",
    'bare https://a.example/p?q="1"&b=<2> and www.b.example/x_y_ too.',
    "*www.a.example* **https://b.example/** _http://c.example_",
    "javascript:alert(1)//https://a.example \"onmouseover=x\" www.b.example/'x'",
]


@pytest.mark.parametrize("source", IDEMPOTENCY_CASES)
def test_render_output_is_a_sanitizer_fixed_point(source: str) -> None:
    """Cleaning render() output again with the same policy changes nothing."""
    html = render(source)
    assert sanitize(html) == html


_MARKDOWN_BITS = st.sampled_from(
    [
        "a", "b", " ", "\n", "\n\n", "*", "**", "_", "`", "[", "]", "(", ")", "<", ">", "!",
        "&", "&amp;", '"', "'", "#", "- ", "1. ", "> ", "\\", "http://x.example/p?q=1&r=2",
        "javascript:", "mailto:a@b.example", "<script>", "<img src=x>", "\u202e", "\u00e9",
        "https://", "www.", "a.example", "/p_q", ".", ",", "%22",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(_MARKDOWN_BITS, max_size=40).map("".join) | st.text(max_size=200))
def test_render_is_idempotent_under_sanitizer_for_any_input(source: str) -> None:
    """For arbitrary Markdown-ish input, render() output is unchanged by a second cleaning."""
    html = render(source)
    assert sanitize(html) == html


@settings(max_examples=500, deadline=None, database=None)
@given(
    st.lists(
        _MARKDOWN_BITS | st.sampled_from(["HTTP://", "WwW.", "http\u017f://", "\u017f", "\u212a"])
    ).map("".join)
    | st.text(max_size=200)
)
def test_a_text_the_pretest_turns_away_holds_no_web_address(source: str) -> None:
    """The pretest's shortcut (no "http", no "www." in any case) only turns away texts in which
    linkify-it finds no address that is kept as a link."""
    web = markdown().linkify
    assert web is not None
    if not web.pretest(source):
        assert web.match(source) == []


_PLAIN_BITS = st.sampled_from(
    [
        "a", "Z", "0", "42", " ", "  ", "\n", "\n\n", " \n", ".", ",", "!", "?", ":", ";", "'", '"',
        "(", ")", "-", "+", "#", "=", "~", "|", "^", "{", "}", "@", "%", "$", "/", "é", "ß", "ж",
        "中", "٣", "\u2019", "\u201c", "\u2014", "\u2026", "\u20ac", "\u00a0", "\u2003", "\u200b",
        "\u202e", "\u00ad", "\t", "\r", "\x00", "\x0c", "\u0301", "\u2028", "\n- ", "\n+ ",
        "\n* ", "\n1. ", "\n2) ", "\n> ", "\n    ", "1.", "*", "_", "`", "[", "]", "<", ">", "&",
        "\\", "http://a.example", "www.a.example", "HTTPS://", "a.example",
    ]
)  # fmt: skip


@settings(max_examples=1500, deadline=None, database=None)
@given(st.lists(_PLAIN_BITS, max_size=30).map("".join) | st.text(max_size=120))
def test_plain_bodies_render_as_markdown_it_renders_them(source: str) -> None:
    """The plain-text shortcut renders exactly what markdown-it and nh3 make of a body."""
    assert render(source) == sanitize(markdown().render(source)).strip()


def test_plain_prose_takes_the_shortcut() -> None:
    """Everyday prose (and the benchmark's posts) is plain; a body with Markdown is not."""
    assert _plain("I disagree.\n\nThe budget (2025) was cut by 3%, see page 4 - it's there!")
    assert _plain("Schöne Grüße aus München, «très» bien")
    assert _plain("post 123 " + "x" * 100)
    assert _plain("- a list") is None
    assert _plain("some *emphasis*") is None
    assert _plain("see www.example.com") is None


def test_clean_name_strips_invisible_and_control_characters() -> None:
    """Bidi controls, zero-width characters and control characters are removed from names."""
    bidi = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
    zero_width = "\u200b\u200c\u200d\u2060\ufeff"
    assert clean_name(f"Li{bidi}sa{zero_width} We\x00\x07st") == "Lisa West"
    assert clean_name("\u202eetirW ekiM") == "etirW ekiM"


def test_clean_name_collapses_whitespace_and_normalises() -> None:
    """Runs of any whitespace become one space, ends are trimmed, text is NFC."""
    assert clean_name("  Mike \t\n  \u00a0 Wright\u2003 ") == "Mike Wright"
    assert clean_name("Jose\u0301") == "Jos\u00e9"
    assert clean_name("\u200b \u200d\t") == ""


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(max_size=80))
def test_clean_name_is_idempotent(raw: str) -> None:
    """Cleaning a clean name changes nothing."""
    once = clean_name(raw)
    assert clean_name(once) == once


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", None),
        ("   ", None),
        (" https://example.com/blog ", "https://example.com/blog"),
        ("http://example.com", "http://example.com"),
        ("HTTPS://Example.com/x?y=1#z", "https://example.com/x?y=1#z"),
    ],
)
def test_clean_url_accepts_blank_and_http_urls(raw: str, expected: str | None) -> None:
    """Blank means no website; absolute http(s) URLs with a host pass, trimmed."""
    assert clean_url(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('https://x.example/a"b', "https://x.example/a%22b"),
        ("https://x.example/<script>", "https://x.example/%3Cscript%3E"),
        ("https://x.example/it's", "https://x.example/it%27s"),
        ("https://x.example/?q=\"'<>`", "https://x.example/?q=%22%27%3C%3E%60"),
        ('https://x.example/#"><b>', "https://x.example/#%22%3E%3Cb%3E"),
        ("https://x.example/a\\b{c}|^", "https://x.example/a%5Cb%7Bc%7D%7C%5E"),
        ("https://x.example/caf\u00e9", "https://x.example/caf%C3%A9"),
        ("https://x.example/100%25/50%", "https://x.example/100%25/50%25"),
        ("HTTP://WWW.Example.COM/Path", "http://www.example.com/Path"),
        ("https://B\u00fccher.example/", "https://xn--bcher-kva.example/"),
        ("https://\uff45xample.com/", "https://example.com/"),
        ("https://example.com:443/", "https://example.com/"),
        ("http://example.com:80", "http://example.com"),
        ("https://example.com:8443/", "https://example.com:8443/"),
        ("http://[::FFFF:1.2.3.4]:8080/", "http://[::ffff:102:304]:8080/"),
        ("http://192.0.2.1/x?a=1&b=2;c=(3)", "http://192.0.2.1/x?a=1&b=2;c=(3)"),
    ],
)
def test_clean_url_normalises(raw: str, expected: str) -> None:
    """Quotes, angle brackets, backslashes, braces and non-ASCII are percent-encoded (so the
    URL is safe raw in JSON, attributes and webhooks); scheme and host are lower-cased, an
    international host is IDNA, a default port goes; a valid escape and "&;()" stay."""
    assert clean_url(raw) == expected
    assert clean_url(expected) == expected  # a normal form is a fixed point


@pytest.mark.parametrize(
    "raw",
    [
        "https://a<b.example/",
        'https://exa"mple.com/',
        "https://exa'mple.com/",
        "https://good.example\\evil.example/",
        "https://\u2488.example/",  # a digit-full-stop that IDNA refuses
        "https://example.com/" + "\u00e9" * 50,  # fits typed, not once encoded
    ],
)
def test_clean_url_refuses_what_cannot_be_normalised(raw: str) -> None:
    """A host with characters no host may have, one IDNA refuses, or an address too long
    once encoded is refused with a message."""
    with pytest.raises(ValueError, match=r"\w"):
        clean_url(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "javascript:alert(1)",
        "data:text/html,hi",
        "ftp://example.com/",
        "example.com",
        "//example.com/x",
        "http://",
        "https:///path",
        "http://example.com:notaport/",
        "http://[::1",
        "https://trusted.example@evil.example/",
        "https://exa mple.com/",
        "https://example.com/\u202e",
        "https://example.com/" + "a" * 300,
    ],
)
def test_clean_url_rejects_everything_else(raw: str) -> None:
    """Non-http(s), host-less, malformed, credentialed, spaced or too-long URLs raise."""
    with pytest.raises(ValueError, match=r"\w"):
        clean_url(raw)


def test_clean_url_length_message_states_the_limit() -> None:
    """The over-length message names the 300 character limit."""
    with pytest.raises(ValueError, match=r"300 characters at most"):
        clean_url("https://example.com/" + "a" * 281)
    assert clean_url("https://example.com/" + "a" * 280) is not None
