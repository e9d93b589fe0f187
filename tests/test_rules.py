"""Auto-moderation rules: word matching that resists disguise, link counting, value checks,
and the `livethread rules` commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.cli import main
from server.moderation.rules import Rules, RulesError, check, found, links, repeat_key


@pytest.mark.parametrize(
    "text",
    [
        "SPAM here",
        "sp\u0430m",  # a Cyrillic a
        "\uff53\uff50\uff41\uff4d",  # fullwidth letters
        "s.p.a.m",
        "buy-spam",
        "5pam",
        "Spa\u0301m",  # a combining accent
    ],
)
def test_a_word_is_found_however_it_is_disguised(text: str) -> None:
    """Case, look-alike letters, compatibility forms, inner dots and accents do not hide it."""
    assert found(text, ("spam",)) == ["spam"]


@pytest.mark.parametrize("text", ["spammer", "a spa manager", "Scunthorpe", ""])
def test_a_word_is_matched_on_word_boundaries_only(text: str) -> None:
    """A word inside a longer word, or split across words, is not a match."""
    assert found(text, ("spam", "cunt")) == []


def test_a_phrase_matches_its_words_in_order() -> None:
    """A phrase matches its words in order whatever the spacing between them."""
    assert found("Get CHEAP\n  pills now", ("cheap pills", "pills cheap")) == ["cheap pills"]


def test_links_are_counted_in_markdown_and_bare() -> None:
    """Markdown links, bare URLs and www. addresses each count once."""
    assert links("[a](https://a.example) http://b.example www.c.example plain.example") == 3


def test_short_bodies_never_count_as_repeats() -> None:
    """ "Thanks!" twice is not spam; a longer text is compared with spacing and case folded."""
    assert repeat_key("Thanks!") is None
    assert repeat_key("Visit  my SHOP for great deals") == repeat_key(
        "visit my shop for great deals"
    )


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (Rules(links_max=-1), "--links-max must be 0 or more"),
        (Rules(velocity_author="fast"), "--velocity-author: a rate is COUNT/SECONDS"),
        (Rules(repeat_window=-5), "--repeat-window must be 0 (off) or more"),
        (Rules(classifier_url="file:///etc/passwd"), "--classifier-url must be http://"),
        (Rules(banned=("...",)), "--banned: '...' has no letters or digits"),
        (Rules(suspect=("x" * 101,)), "--suspect: 'xxxxxxxxxxxxxxxxxxxx'… is over 100"),
    ],
)
def test_bad_rule_values_are_refused_with_a_clear_message(rules: Rules, message: str) -> None:
    """Each bad value names its option and what it must be."""
    with pytest.raises(RulesError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check(rules)


def test_word_lists_are_tidied() -> None:
    """Blank entries go, inner spacing is collapsed, duplicates are dropped."""
    assert check(Rules(banned=(" cheap   pills ", "", "cheap pills"))).banned == ("cheap pills",)


def test_the_rules_commands_show_and_change_a_sites_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`rules set` changes only what it is given and prints the result; a bad value or an
    unknown site is exit 2 with a message; `rules show` prints what is stored."""
    db = ["--database", f"sqlite:///{tmp_path / 'db'}"]
    assert main(["migrate", *db]) == 0
    assert main(["site", "add", "news", *db]) == 0
    assert main(["rules", "set", "news", "--links-max", "1", "--banned", "spam", *db]) == 0
    assert main(["rules", "set", "news", "--velocity-author", "off", *db]) == 0
    capsys.readouterr()
    assert main(["rules", "show", "news", *db]) == 0
    shown = capsys.readouterr().out
    assert '"links_max": 1' in shown and '"spam"' in shown and '"velocity_author": null' in shown
    assert main(["rules", "set", "news", "--velocity-address", "5/0", *db]) == 2
    assert "--velocity-address" in capsys.readouterr().err
    assert main(["rules", "show", "nowhere", *db]) == 2
    assert "no site 'nowhere'" in capsys.readouterr().err
