"""What the source readers share: safe XML, dates, and a plain-text copy of an HTML body.

XML is parsed by defusedxml, which refuses any entity declaration (so no billion laughs: an
entity expanding into entities) and any external reference (an entity or DTD fetched from a file
or URL): both are a `BadInput`, raised before anything is written. No export of a real comment
system declares entities.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

# defusedxml ships no type hints; what is used of it is typed here.
from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
from defusedxml import ElementTree as SafeTree

from server.importing.ports import BadInput


def xml_root(path: Path) -> Element:
    """The document's root element, or BadInput naming what was refused."""
    try:
        root: Element = SafeTree.parse(str(path)).getroot()
        return root
    except DefusedXmlException as exc:
        raise BadInput(
            f"{path}: refused: the XML declares entities or external references ({exc}); "
            "real exports never do, and expanding them could exhaust memory or read files"
        ) from None
    except ParseError as exc:
        raise BadInput(f"{path}: not well-formed XML: {exc}") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror or exc}") from None


def local(tag: str) -> str:
    """An element's name without its namespace."""
    return tag.rpartition("}")[2]


def child(element: Element, name: str) -> Element | None:
    """The first child named `name`, whatever its namespace."""
    for found in element:
        if local(found.tag) == name:
            return found
    return None


def text_of(element: Element, name: str) -> str:
    """The text of the first child named `name` ("" if none)."""
    found = child(element, name)
    return (found.text or "").strip() if found is not None else ""


def timestamp(text: str, where: str) -> float:
    """Seconds since the epoch of an ISO 8601 date (`Z` or an offset; none means UTC), or of
    WordPress's `YYYY-MM-DD HH:MM:SS` (in UTC, its `_gmt` fields)."""
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"{where}: {value!r} is not a date") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


_BREAKS = frozenset({"p", "div", "blockquote", "li", "pre", "h1", "h2", "h3", "h4", "h5", "h6"})


class _Text(HTMLParser):
    """Collects an HTML fragment's text, a blank line between paragraphs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BREAKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BREAKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


_BLANKS = re.compile(r"\n{3,}")


def plain_text(fragment: str) -> str:
    """An HTML body's text (what an author's edit starts from): tags dropped, entities decoded,
    paragraphs apart."""
    parser = _Text()
    parser.feed(fragment)
    parser.close()
    text = "".join(parser.parts).replace("\r\n", "\n")
    return _BLANKS.sub("\n\n", "\n".join(line.strip() for line in text.split("\n"))).strip()


def as_html(text: str) -> str:
    """A plain-text body (WordPress's: paragraphs at blank lines, breaks at newlines) as HTML,
    when it holds no markup of its own."""
    if "<" in text:
        return text
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if p.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )
