"""A reader-facing message as a key and its parameters, rendered in any of our languages.

`Text` is a `str` (its English rendering, exactly the text the message always had) that also
carries its key and parameters. Being a str, it passes unchanged through everything that
handled the English message (the refusals' `message` and `fields`, ValueError, the CLI, tests
comparing texts), and the web edge, which alone knows the request's language, renders it again
by key (server/language/translate.py). msgspec does not encode str subclasses: the edge always
hands plain strs on.

Parameters are named ("{n}", "{until}") so a translation may place them where its grammar
wants; a `Moment` (a UTC timestamp) is written as each language writes a date.
"""

from __future__ import annotations

from collections.abc import Mapping

from server.language.catalogs import template
from server.language.dates import moment
from server.language.supported import DEFAULT

Param = str | int


class Moment(float):
    """A parameter that is a moment (Unix time, UTC): written as the language writes dates."""


class Text(str):
    """A message by key, whose str value is its English rendering (see the module)."""

    key: str
    params: Mapping[str, Param | Moment]

    def __new__(cls, key: str, **params: Param | Moment) -> Text:
        made = super().__new__(cls, render(key, params, DEFAULT))
        made.key = key
        made.params = params
        return made

    def __reduce__(self) -> tuple[object, ...]:
        # Pickled (a process pool, a copy) as the plain English text it reads as.
        return (str, (str(self),))

    def in_language(self, lang: str) -> str:
        """This message in `lang` (English where its catalog lacks the key)."""
        return render(self.key, self.params, lang)


def render(key: str, params: Mapping[str, Param | Moment], lang: str) -> str:
    """The message `key` in `lang` with `params` in place, as a plain str."""
    values = {
        name: moment(value, lang) if isinstance(value, Moment) else str(value)
        for name, value in params.items()
    }
    return template(key, lang).format_map(values)
