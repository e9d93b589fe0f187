"""deploy/Dockerfile read as its instructions, enough for tests to check what it says.

    for step in instructions(Path("deploy/Dockerfile")):
        step.keyword, step.flags, step.arguments
        # "COPY", {"from": "build"}, ["/opt/livethread", "/opt/livethread"]

Comments and blank lines go, continuation lines (a trailing backslash) are joined, leading
`--name=value` flags are split off, and an exec-form (JSON array) argument is decoded. No
parser directives, heredocs or variable expansion: the shipped file uses none, and a file that
did would fail these tests rather than be read wrong.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: its keyword (upper case), flags and arguments."""

    keyword: str
    arguments: list[str]
    flags: dict[str, str] = field(default_factory=dict)
    # Written as a JSON array (exec form), so run without a shell.
    exec_form: bool = False
    raw: str = ""


def _logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        # A comment inside a continued instruction is dropped, as Docker does.
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    if pending:
        raise ValueError(f"the Dockerfile ends inside a continued line: {pending!r}")
    return lines


def parse(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile's text, in order."""
    found: list[Instruction] = []
    for line in _logical_lines(text):
        keyword, _, rest = line.partition(" ")
        rest = rest.strip()
        flags: dict[str, str] = {}
        while rest.startswith("--"):
            flag, _, rest = rest.partition(" ")
            name, _, value = flag[2:].partition("=")
            flags[name] = value
            rest = rest.strip()
        # HEALTHCHECK's command follows its own CMD keyword.
        head = ["CMD"] if keyword.upper() == "HEALTHCHECK" and rest.startswith("CMD ") else []
        if head:
            rest = rest[4:].strip()
        arguments, exec_form = _arguments(rest, line)
        found.append(Instruction(keyword.upper(), head + arguments, flags, exec_form, line))
    return found


def _arguments(rest: str, line: str) -> tuple[list[str], bool]:
    if not rest.startswith("["):
        return shlex.split(rest), False
    arguments = json.loads(rest)
    if not (isinstance(arguments, list) and all(isinstance(a, str) for a in arguments)):
        raise ValueError(f"not an exec form of strings: {line!r}")
    return arguments, True


def instructions(path: Path) -> list[Instruction]:
    return parse(path.read_text())
