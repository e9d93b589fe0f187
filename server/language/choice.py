"""Which of our languages a request asks for, from its Accept-Language header (RFC 9110 12.5.4).

Parsed here rather than with a library: what is needed is small (split on commas, read each
range's q-value, compare its primary subtag with twelve codes), while the libraries that do
full BCP 47 matching (Babel, langcodes) load CLDR or language data at import, megabytes that
every server process would keep (issue 19 holds a process to 45 MB at rest). A header that
cannot be read is not an error: it asks for nothing, and the answer is English.
"""

from __future__ import annotations

from server.language.supported import DEFAULT, LANGUAGES

# A client may send anything; a longer header is read only this far (no real one comes close).
HEADER_MAX = 1000
_RANGES_MAX = 50


def choose(header: str | None) -> str:
    """The language to answer in: the supported language with the highest q-value (matched on
    its primary subtag, "de-AT" asks for "de"; "*" for any, i.e. the default), the earlier one
    on a tie, English when none is supported or the header is absent or unreadable."""
    if not header:
        return DEFAULT
    best, best_q = DEFAULT, 0.0
    for part in header[:HEADER_MAX].split(",")[:_RANGES_MAX]:
        tag, _, params = part.partition(";")
        primary = tag.strip().lower().replace("_", "-").partition("-")[0]
        if primary == "*":
            primary = DEFAULT
        if primary not in LANGUAGES:
            continue
        q = _weight(params)
        if q > best_q:
            best, best_q = primary, q
    return best


def _weight(params: str) -> float:
    """A range's q-value: 1 when not given, 0 (not wanted) when it cannot be read."""
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip().lower() != "q":
            continue
        try:
            q = float(value.strip())
        except ValueError:
            return 0.0
        return q if 0.0 <= q <= 1.0 else 0.0
    return 1.0
