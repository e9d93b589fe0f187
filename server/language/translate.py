"""A refusal's texts in the request's language: the rule the web edge applies to every answer.

A `Text` (a reader-facing message by key) is rendered again in the language; a plain str
(moderators', operators' and developers' messages) is answered as it is, in English.
"""

from __future__ import annotations

from collections.abc import Mapping

from server.language.text import Text


def translated(message: str, lang: str) -> str:
    """`message` in `lang`, as a plain str (the English text when it is not one of ours)."""
    return message.in_language(lang) if isinstance(message, Text) else str(message)


def translated_fields(fields: Mapping[str, str], lang: str) -> dict[str, str]:
    """Each field's message in `lang`; the field names as they were."""
    return {name: translated(text, lang) for name, text in fields.items()}
