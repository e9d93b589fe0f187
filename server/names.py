"""Names that deceive: a poster may not take a name that reads as one of the site's moderators',
nor hide characters in a name, nor mix alphabets within a word.

Two names collide when their skeletons match. A skeleton is the UTS #39 skeleton (ICU's, so the
whole of Unicode's confusables.txt: a Cyrillic "e" and a dotless "i" read as Latin "e" and "i",
a Greek tau as a small-capital "T", "m" as "rn") of the compatibility-normalised, case-folded
name, then folded further for a comparison of names rather than identifiers: every Latin letter
to its base letter (small capitals, hooks, strokes and tails: a small-capital "T", a "W" with a
hook and "L" with a stroke read as "t", "w" and "l"), digits and symbols that stand for letters
(0 1 5 $ @ |), "i" with "l", and marks, spaces and punctuation dropped. So "Lisa West",
"lisa  west", "LISA_WEST", "L1sa West", the name with a dotless "i" or a small-capital "T", and
the name spelt with Cyrillic look-alikes all collide.

A word may use one script, or the combinations UTS #39 calls "moderately restrictive" (Latin
with one other script but Cyrillic or Greek, and Latin with Han and Japanese kana or Hangul):
"Lisa Wesτ" (Latin and Greek in one word) is refused, "Zoë Łukasiewicz", "Δημήτρης",
"Дмитрий", "王小明" and "محمد" are not.

ICU and the tables load at the first name or character asked about, not at import: they are
some 9 MB that a process which only serves readers need not hold.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING

from server.language.text import Text

if TYPE_CHECKING:
    import icu

# Lookalikes within Latin and digits that the confusables table keeps apart (it is made for
# identifiers, where "1" and "l" differ). Each group folds to one symbol on both sides of a
# comparison: 1, i, l and | all read as a stroke.
_LATIN_LOOKALIKES = str.maketrans(
    {"0": "o", "1": "l", "i": "l", "|": "l", "$": "s", "5": "s", "@": "a"}
)
_SEQUENCES = (("rn", "m"), ("vv", "w"))

# `invisible` runs per character of every name and website: a plain global, set once by
# `_invisible_set`, costs it less than a cached call would.
_INVISIBLE: icu.UnicodeSet | None = None

MIXED_SCRIPTS = Text("name.mixed_scripts")


def invisible(ch: str) -> bool:
    """Whether a character shows nothing (or nothing but a blank) in a name."""
    found = _INVISIBLE
    if found is None:
        found = _invisible_set()
    return bool(found.contains(ch))


def _invisible_set() -> icu.UnicodeSet:
    global _INVISIBLE
    import icu

    # Invisible in a name (Unicode's default-ignorable code points: zero-width characters,
    # joiners, variation selectors, the Hangul fillers U+115F, U+1160, U+3164 and U+FFA0 that
    # render blank in a Korean font, ...), controls, format characters, lone surrogates, and a
    # character that is drawn as a blank (U+2800 BRAILLE PATTERN BLANK).
    found = icu.UnicodeSet("[[:Default_Ignorable_Code_Point:][:Cc:][:Cf:][:Cs:][\\u2800]]")
    # Frozen: quicker to query, and safe to read from several threads.
    found.freeze()
    _INVISIBLE = found
    return found


@functools.cache
def _spoof() -> icu.SpoofChecker:
    import icu

    checker = icu.SpoofChecker()
    checker.setRestrictionLevel(icu.URestrictionLevel.MODERATELY_RESTRICTIVE)
    checker.setChecks(icu.USpoofChecks.RESTRICTION_LEVEL)
    return checker


@functools.cache
def _latin_bases() -> dict[int, str]:
    """Each Latin letter that has no decomposition to its base letter, by its Unicode name:
    "LATIN LETTER SMALL CAPITAL T" to "t", "LATIN CAPITAL LETTER W WITH HOOK" to "w"."""
    named = re.compile(r"LATIN (?:SMALL |CAPITAL )?LETTER (?:SMALL CAPITAL )?([A-Z])(?: WITH .*)?")
    blocks = (
        (0x00C0, 0x02AF),  # Latin-1 Supplement, Extended-A and -B, IPA Extensions
        (0x1D00, 0x1DBF),  # Phonetic Extensions
        (0x1E00, 0x1EFF),  # Latin Extended Additional
        (0x2C60, 0x2C7F),  # Latin Extended-C
        (0xA720, 0xA7FF),  # Latin Extended-D
        (0xAB30, 0xAB6F),  # Latin Extended-E
        (0x10780, 0x107BF),  # Latin Extended-F
        (0x1DF00, 0x1DFFF),  # Latin Extended-G
    )
    bases = {}
    for first, last in blocks:
        for point in range(first, last + 1):
            found = named.fullmatch(unicodedata.name(chr(point), ""))
            if found is not None:
                bases[point] = found[1].lower()
    return bases


# Remembered: every post compares its name with each of the site's moderators' (and the reserved
# names), and automod compares every word of a comment. Names and words are short.
@functools.lru_cache(maxsize=4096)
def skeleton(name: str) -> str:
    """The form two names are compared in."""
    text = unicodedata.normalize("NFKC", name).casefold()
    # Base letters first too: confusables.txt maps some small capitals elsewhere ("ᴍ" to a
    # turned "w"), away from the letter they read as.
    bases = _latin_bases()
    text = "".join(ch for ch in text if not invisible(ch)).translate(bases)
    # The UTS #39 skeleton: NFD, every character to its confusables.txt prototype, NFD.
    text = str(_spoof().getSkeleton(0, text))
    # Some prototypes are capitals (digit zero's is "O"): fold again.
    text = unicodedata.normalize("NFKD", text).casefold()
    text = text.translate(bases).translate(_LATIN_LOOKALIKES)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")
    for pair, single in _SEQUENCES:
        text = text.replace(pair, single)
    return text


def impersonates(name: str, protected: Iterable[str]) -> bool:
    """Whether `name` collides with any of the protected names (e.g. the site's moderators)."""
    mine = skeleton(name)
    return bool(mine) and any(mine == skeleton(other) for other in protected)


@functools.lru_cache(maxsize=4096)
def mixes_scripts(name: str) -> bool:
    """Whether a word of the name mixes scripts beyond UTS #39's "moderately restrictive" level
    (e.g. Latin with Greek or Cyrillic letters). Common characters (digits, punctuation,
    emoji) and combining marks belong to every script."""
    checker = _spoof()
    return any(checker.check(word) != 0 for word in name.split())
