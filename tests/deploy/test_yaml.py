"""yamllint on every YAML file in deploy/, with deploy/.yamllint's rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from yamllint import linter  # type: ignore[import-untyped]
from yamllint.config import YamlLintConfig  # type: ignore[import-untyped]

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
FILES = sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml"), DEPLOY / ".yamllint"])


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_yaml_passes_yamllint(path: Path) -> None:
    """The file has no yamllint error or warning."""
    config = YamlLintConfig(file=str(DEPLOY / ".yamllint"))
    problems = list(linter.run(path.read_text(), config, str(path)))
    assert not problems, "\n".join(f"{path.name}:{p.line}:{p.column} {p}" for p in problems)


def test_every_deploy_yaml_is_linted() -> None:
    """The compose file and all Kubernetes manifests are among the files linted."""
    names = {p.relative_to(DEPLOY).as_posix() for p in FILES}
    assert {"compose.yaml", "kubernetes/server.yaml", "kubernetes/worker.yaml"} <= names
