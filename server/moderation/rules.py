"""A site's auto-moderation rules: what they are, their defaults, and the checks on their values.

Kept in the store as one JSON document per site, so a rule added later is a field with a
default and old rows read as the new shape. The word matching lives here too, because what a
rule means ("the word 'spam', on word boundaries, however it is disguised") is part of the rule.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal
from urllib.parse import urlsplit

import msgspec

from server.limits import Rate
from server.names import skeleton

ClassifierKind = Literal["json", "akismet"]
CLASSIFIER_KINDS: tuple[ClassifierKind, ...] = ("json", "akismet")

WORDS_MAX = 500
WORD_CHARS_MAX = 100
# Bodies shorter than this (normalised) are never "repeated": "Thanks!" twice is not spam.
REPEAT_MIN_CHARS = 20


class Rules(msgspec.Struct, frozen=True, kw_only=True):
    """One site's rules. The defaults are what a new site gets."""

    # More links than this in one comment: held for review.
    links_max: int = 3
    # Any of these (words or phrases): refused with 422, nothing stored.
    banned: tuple[str, ...] = ()
    # Any of these: published, and flagged for a moderator to look at.
    suspect: tuple[str, ...] = ()
    # COUNT/SECONDS per author (email, else name) and per client address; None is off.
    # Above it: 429 with Retry-After. Sustained rates: the web edge's flood limits catch bursts.
    velocity_author: str | None = "10/600"
    velocity_address: str | None = "20/600"
    # The same body from the same author or address in another thread within this many
    # seconds: held for review. 0 is off.
    repeat_window: float = 3600.0
    # An external classifier the automod worker asks after publishing; None is off.
    classifier_url: str | None = None
    classifier_kind: ClassifierKind = "json"
    # Sent to an Akismet-compatible classifier as `api_key` (and `blog` is the site's name).
    classifier_key: str | None = None
    # Reports from this many distinct readers hold a comment for a moderator (fewer flag it in
    # the queue). 0 is off: reports only flag.
    reports_hold: int = 3
    # Hold the comments of an account or email with no published comment on the site yet,
    # until a moderator approves one (an author with neither is always new).
    first_time_hold: bool = False


class RulesError(ValueError):
    """A rule has a value livethread cannot use; the message says which and why."""


def check(rules: Rules) -> Rules:
    """The rules with their word lists tidied (trimmed, de-duplicated), or RulesError."""
    if rules.links_max < 0:
        raise RulesError(f"--links-max must be 0 or more, not {rules.links_max}")
    for flag, rate in (
        ("--velocity-author", rules.velocity_author),
        ("--velocity-address", rules.velocity_address),
    ):
        if rate is not None:
            try:
                Rate.parse(rate)
            except ValueError as exc:
                raise RulesError(f"{flag}: {exc} (or 'off')") from None
    if rules.reports_hold < 0:
        raise RulesError(f"--reports-hold must be 0 (off) or more, not {rules.reports_hold}")
    if rules.repeat_window < 0:
        raise RulesError(
            f"--repeat-window must be 0 (off) or more seconds, not {rules.repeat_window}"
        )
    if rules.classifier_url is not None:
        parts = urlsplit(rules.classifier_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RulesError(
                f"--classifier-url must be http:// or https:// with a host, "
                f"not {rules.classifier_url!r}"
            )
    if rules.classifier_kind not in CLASSIFIER_KINDS:
        raise RulesError(f"--classifier-kind must be one of {', '.join(CLASSIFIER_KINDS)}")
    return msgspec.structs.replace(
        rules,
        banned=_words("--banned", rules.banned),
        suspect=_words("--suspect", rules.suspect),
    )


def _words(flag: str, words: tuple[str, ...]) -> tuple[str, ...]:
    tidy = tuple(dict.fromkeys(" ".join(w.split()) for w in words if w.strip()))
    if len(tidy) > WORDS_MAX:
        raise RulesError(f"{flag}: at most {WORDS_MAX} words, not {len(tidy)}")
    for word in tidy:
        if len(word) > WORD_CHARS_MAX:
            raise RulesError(f"{flag}: {word[:20]!r}… is over {WORD_CHARS_MAX} characters")
        if not _tokens(word):
            raise RulesError(f"{flag}: {word!r} has no letters or digits to match")
    return tidy


# Two readings of a text into words: split on spaces only (so "s.p.a.m" is one word, "spam"),
# and split on anything that is not a letter or digit (so "buy-spam" holds the word "spam").
_SPACES = re.compile(r"\s+")
_NON_WORD = re.compile(r"[\W_]+")


def _tokens(text: str) -> list[tuple[str, ...]]:
    """The text's words as skeletons (see server.names), in both readings."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    readings = []
    for splitter in (_SPACES, _NON_WORD):
        words = tuple(s for s in (skeleton(w) for w in splitter.split(folded)) if s)
        if words:
            readings.append(words)
    return readings


def found(text: str, words: tuple[str, ...]) -> list[str]:
    """Which of `words` (words or phrases) occur in `text` on word boundaries, compared as
    skeletons: compatibility-normalised, case-folded, look-alike letters and digits folded,
    marks and inner punctuation dropped. So "SPAM", "Sp\u0430m" (a Cyrillic a), "5pam",
    "s.p.a.m" and the fullwidth letters of "spam" all match "spam"; "spammer" does not."""
    if not words:
        return []
    readings = _tokens(text)
    hits = []
    for word in words:
        for wanted in _tokens(word)[:1]:
            if any(_contains(reading, wanted) for reading in readings):
                hits.append(word)
    return hits


def _contains(reading: tuple[str, ...], wanted: tuple[str, ...]) -> bool:
    size = len(wanted)
    return any(reading[i : i + size] == wanted for i in range(len(reading) - size + 1))


_LINK = re.compile(r"(?:https?://|www\.)\S", re.IGNORECASE)


def links(source: str) -> int:
    """How many links a comment's source holds (web addresses, in Markdown links or bare)."""
    return len(_LINK.findall(unicodedata.normalize("NFKC", source)))


def repeat_key(source: str) -> str | None:
    """The form in which two bodies count as the same (None if too short to count)."""
    words = " ".join(_SPACES.split(unicodedata.normalize("NFKC", source).casefold())).strip()
    return words if len(words) >= REPEAT_MIN_CHARS else None
