"""Names that deceive: look-alikes of a moderator's name are caught, other names are not."""

from __future__ import annotations

import pytest

from server.names import impersonates, skeleton

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
