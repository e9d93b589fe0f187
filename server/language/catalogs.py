"""The message catalogs: one Python module per language, `messages/<lang>.py`, a `MESSAGES`
dict from key to text, loaded the first time that language is asked for.

Modules rather than data files (JSON, gettext .po/.mo): they are packaged, type-checked and
linted with the rest of the code, need no parser or package-data rule, and a process imports
only the languages it has answered in (English at start; issue 19 counts memory at rest).
Plain dicts rather than gettext: our keys are stable names and every placeholder is named, and
tests/test_language_catalogs.py checks that each catalog has every English key with the same
placeholders.
"""

from __future__ import annotations

import functools
import importlib

from server.language.supported import DEFAULT, supported


@functools.cache
def catalog(lang: str) -> dict[str, str]:
    """The messages of `lang` (one of LANGUAGES; anything else is English)."""
    module = importlib.import_module(f"server.language.messages.{supported(lang)}")
    messages: dict[str, str] = module.MESSAGES
    return messages


def template(key: str, lang: str) -> str:
    """The text of `key` in `lang`, or in English where that catalog lacks it (KeyError if
    English lacks it too: a key is always written in English first)."""
    found = catalog(lang).get(key)
    return found if found else catalog(DEFAULT)[key]
