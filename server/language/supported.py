"""The languages the server speaks: the widget's twelve. English is the default and the fallback."""

from __future__ import annotations

LANGUAGES = ("ar", "de", "en", "es", "fr", "it", "ja", "nl", "pl", "pt", "ru", "tr")
DEFAULT = "en"
_KNOWN = frozenset(LANGUAGES)


def supported(tag: str | None) -> str:
    """`tag` if it is one of LANGUAGES (any case, a region ignored: "pt-BR" is "pt"), else the
    default. For values read back from storage or a client, never trusted as is."""
    primary = (tag or "").strip().lower().replace("_", "-").partition("-")[0]
    return primary if primary in _KNOWN else DEFAULT
