"""The import rules of DESIGN.md's rooms, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = {"server/model.py", "server/events.py"}


def _modules() -> list[Path]:
    return sorted(p for d in ("server", "workers") for p in (ROOT / d).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_room_rules(path: Path) -> None:
    """Contract imports nothing of ours; only adapters touch drivers; only the edge Starlette."""
    name = _name(path)
    imports = _imports(path)
    roots = {i.split(".")[0] for i in imports}
    if name in CONTRACT:
        ours = {i for i in imports if i.split(".")[0] in ("server", "workers")}
        assert ours <= {"server.model"}, f"{name} imports {ours}"
    if not name.startswith("server/adapters/"):
        assert not roots & {"sqlite3", "asyncpg", "redis"}, f"{name} imports a driver"
    if not (name.startswith("server/web/") or name == "server/cli.py"):
        assert "starlette" not in roots, f"{name} imports starlette"
    if name.startswith("workers/"):
        assert not any(i.startswith(("server.web", "server.hub")) for i in imports)


def test_only_settings_reads_the_environment() -> None:
    """No module but settings touches os.environ or os.getenv."""
    for path in _modules():
        if _name(path) == "server/settings.py":
            continue
        text = path.read_text()
        assert "os.environ" not in text and "getenv" not in text, _name(path)
