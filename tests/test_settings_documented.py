"""Every setting is in the README's Configuration table under its variable (issue 18, item 8):
a setting added without its row fails here, so the table cannot fall behind."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from server.settings import PREFIX, Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def configuration_table() -> str:
    """The README's Configuration section, up to the next section."""
    text = README.read_text()
    found = re.search(r"^## Configuration\n(.*?)^## ", text, re.DOTALL | re.MULTILINE)
    assert found is not None, "README.md has no Configuration section"
    return found[1]


def test_every_setting_has_a_row_naming_its_variable() -> None:
    """Each field of Settings appears as `LIVETHREAD_NAME` in a row of the table."""
    rows = [line for line in configuration_table().splitlines() if line.startswith("|")]
    table = "\n".join(rows)
    missing = [
        PREFIX + field.name.upper()
        for field in dataclasses.fields(Settings)
        if f"`{PREFIX}{field.name.upper()}`" not in table
    ]
    assert missing == []


def test_the_check_fails_for_a_variable_the_table_lacks() -> None:
    """The same lookup finds no row for a made-up setting (the check can fail)."""
    assert f"`{PREFIX}NO_SUCH_SETTING`" not in configuration_table()
