"""Names that deceive: a poster may not take a name that reads as one of the site's moderators'.

Two names collide when their skeletons match: compatibility-normalised, case-folded, letters
from other scripts that look like Latin ones replaced by those, marks and separators dropped.
So "Lisa West", "lisa  west", "LISA_WEST", "L1sa West" and the same name spelt with Cyrillic
letters that look Latin all collide.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable

from confusable_homoglyphs import confusables

# Lookalikes within Latin and digits that the script-level table does not cover. Each group
# folds to one symbol on both sides of a comparison: 1, i, l and | all read as a stroke.
_LATIN_LOOKALIKES = str.maketrans(
    {"0": "o", "1": "l", "i": "l", "|": "l", "$": "s", "5": "s", "@": "a"}
)
_SEQUENCES = (("rn", "m"), ("vv", "w"))


# Remembered: every post compares its name with each of the site's moderators' (and the reserved
# names), and the confusables lookup costs far more than the comparison. Names are short.
@functools.lru_cache(maxsize=4096)
def skeleton(name: str) -> str:
    """The form two names are compared in."""
    text = unicodedata.normalize("NFKC", name)
    found = confusables.is_confusable(text, greedy=True, preferred_aliases=["latin"]) or []
    # Only letters from outside ASCII are swapped: the table also offers exotic Latin
    # homoglyphs for plain ASCII (a tone letter for "5"), which would hide a match.
    swaps = {
        entry["character"]: entry["homoglyphs"][0]["c"]
        for entry in found
        if entry["homoglyphs"] and not entry["character"].isascii()
    }
    text = "".join(swaps.get(ch, ch) for ch in text).casefold().translate(_LATIN_LOOKALIKES)
    decomposed = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in decomposed if unicodedata.category(ch)[0] in "LN")
    for pair, single in _SEQUENCES:
        text = text.replace(pair, single)
    return text


def impersonates(name: str, protected: Iterable[str]) -> bool:
    """Whether `name` collides with any of the protected names (e.g. the site's moderators)."""
    mine = skeleton(name)
    return bool(mine) and any(mine == skeleton(other) for other in protected)
