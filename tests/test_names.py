"""Names that deceive: look-alikes of a moderator's name are caught, other names are not."""

from __future__ import annotations

import pytest

from server.names import MIXED_SCRIPTS, impersonates, invisible, mixes_scripts, skeleton
from server.render import clean_name
from server.threads.authors import RESERVED_NAMES
from server.validation import NewAuthor, NewComment, RequestError, validate_comment

MODERATOR = "Lisa West"


@pytest.mark.parametrize(
    "name",
    [
        "Lisa West",
        "lisa west",
        "LISA  WEST",
        "Lisa_West",
        "L1sa West",
        "LISA WE5T",
        "Lisa Vvest",
        "L\u0456sa W\u0435st",  # Cyrillic i and e
        "\uff2c\uff49\uff53\uff41 \uff37\uff45\uff53\uff54",  # fullwidth
        "Lisa We\u0301st",  # combining accent
        "Lisa\u200b West",  # zero-width space
    ],
)
def test_lookalikes_of_a_moderator_collide(name: str) -> None:
    """Case, spacing, digits for letters, other scripts and invisible marks do not disguise."""
    assert impersonates(name, [MODERATOR])


@pytest.mark.parametrize("name", ["Lisa", "West Lisa", "Lisa Westwood", "Mike", "Anonymous"])
def test_other_names_are_free(name: str) -> None:
    """Names that merely share parts with a moderator's are allowed."""
    assert not impersonates(name, [MODERATOR])


def test_a_name_of_only_symbols_collides_with_nothing() -> None:
    """An empty skeleton never matches (such names are refused elsewhere as empty)."""
    assert skeleton("!!!") == ""
    assert not impersonates("!!!", ["???"])


# Issue 13 item 1: the look-alikes of "Lisa West" an attack run got past the check, and the
# reserved names' variants. Each is refused: by the skeleton (it reads as the protected name,
# once clean_name has dropped the fillers), by the mixed-script rule, or both.
ISSUE_LOOKALIKES = [
    "L\u0131sa West",  # dotless i
    "Lisa West\u3164",  # Hangul filler
    "Lisa West\u115f",  # Hangul choseong filler
    "Lisa West\u1160",  # Hangul jungseong filler
    "Lisa West\uffa0",  # halfwidth Hangul filler
    "Lisa Wes\u03c4",  # Greek tau
    "Lisa Wes\u1d1b",  # Latin small capital T
    "\u029fisa West",  # Latin small capital L
    "Lis\u0251 West",  # Latin alpha
    "Lisa \u2c72est",  # Latin W with hook
    "\u2c60isa West",  # Latin L with double bar
    "Lisa We\ua731t",  # Latin small capital S
    "Lisa \u051c\u0435\u0455\u0442",  # a whole Cyrillic word: no mixing, still "West"
    "Li\u0455a West\u3164",  # a Cyrillic dze in a Latin word, and a filler
    "\U0001d40b\U0001d422\U0001d42c\U0001d41a West",  # mathematical bold
]
RESERVED_LOOKALIKES = [
    "Adm\u0131n",
    "Adm\u0131n\u0131strator",
    "Moderator\u3164",
    "livethread\u3164",
    "\u0405taff",  # Cyrillic capital dze
    "\u1d0d\u1d0f\u1d05\u1d07\u0280\u1d00\u1d1b\u1d0f\u0280",  # small capitals
]


@pytest.mark.parametrize("name", ISSUE_LOOKALIKES)
def test_the_issues_lookalikes_read_as_the_moderators_name(name: str) -> None:
    """Each look-alike, as clean_name leaves it, has the skeleton of "Lisa West"."""
    assert skeleton(clean_name(name)) == skeleton(MODERATOR)
    assert impersonates(clean_name(name), [MODERATOR])


@pytest.mark.parametrize("name", RESERVED_LOOKALIKES)
def test_the_reserved_names_lookalikes_collide(name: str) -> None:
    """Dotless i, fillers, other scripts and small capitals do not free a reserved name."""
    assert impersonates(clean_name(name), RESERVED_NAMES)


@pytest.mark.parametrize(
    "ch", ["\u115f", "\u1160", "\u3164", "\uffa0", "\u034f", "\ufe0f", "\u2800"]
)
def test_fillers_and_default_ignorables_are_invisible(ch: str) -> None:
    """Hangul fillers, the grapheme joiner, variation selectors and the braille blank are
    invisible, and clean_name drops them."""
    assert invisible(ch)
    assert clean_name(f"Ann{ch}") == "Ann"


@pytest.mark.parametrize(
    "name",
    ["Lisa Wes\u03c4", "P\u0430ypal", "\u0391lice", "Bob \u0405mith", "\u03b1\u0431"],
)
def test_a_word_mixing_latin_greek_or_cyrillic_is_refused(name: str) -> None:
    """Latin with Greek or Cyrillic in one word is below "moderately restrictive": a 422 on
    author.name with the mixed-script message."""
    assert mixes_scripts(name)
    with pytest.raises(RequestError) as refused:
        validate_comment(_comment(name))
    assert refused.value.fields == {"author.name": MIXED_SCRIPTS}


# Honest names: one script per word, or a combination UTS #39 allows (Latin with Han and kana).
HONEST = [
    "Zo\u00eb \u0141ukasiewicz",
    "Jos\u00e9 \u00c1lvarez",
    "Nguy\u1ec5n V\u0103n An",
    "S\u00f8ren Kierkegaard",
    "\u0130lkay G\u00fcndo\u011fan",
    "O'Brien-Smith",
    "\u0394\u03b7\u03bc\u03ae\u03c4\u03c1\u03b7\u03c2 "
    "\u03a0\u03b1\u03c0\u03b1\u03b4\u03cc\u03c0\u03bf\u03c5\u03bb\u03bf\u03c2",
    "\u0414\u043c\u0438\u0442\u0440\u0438\u0439 \u0418\u0432\u0430\u043d\u043e\u0432",
    "\u738b\u5c0f\u660e",
    "\u5c71\u7530 \u592a\u90ce",
    "\u3084\u307e\u3060\u305f\u308d\u3046",
    "\uae40\ubbfc\uc218",
    "\u0645\u062d\u0645\u062f \u0639\u0644\u064a",
    "\u05d3\u05d5\u05d3 \u05dc\u05d5\u05d9",
    "\u0905\u092e\u093f\u0924 \u0936\u0930\u094d\u092e\u093e",
    "Dimitris \u0394\u03b7\u03bc\u03ae\u03c4\u03c1\u03b7\u03c2",  # a word in each
    "Tokyo\u6771\u4eac",  # Latin with Han: highly restrictive
    "Ann \U0001f600",
    "Lisa Westwood",
]


@pytest.mark.parametrize("name", HONEST)
def test_honest_names_in_one_script_pass(name: str) -> None:
    """Accented Latin, Greek, Cyrillic, CJK, Korean, Arabic, Hebrew and Devanagari names (and a
    word of each of two scripts) pass validation unchanged and collide with no protected name."""
    clean = validate_comment(_comment(name))
    assert clean.name == name
    assert not mixes_scripts(name)
    assert not impersonates(name, [MODERATOR, *RESERVED_NAMES])


def _comment(name: str) -> NewComment:
    return NewComment(site="news", thread="t", author=NewAuthor(name=name), body="Hi")
