"""The `livethread` command line, run as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TIMEOUT = 30


def livethread(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`livethread ARGS…` with none of this process's LIVETHREAD_* settings, plus `env`; run in
    `cwd` (where a relative database path points) if given."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LIVETHREAD_")}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env={**clean, **(env or {})},
        cwd=cwd,
    )


def migrated(path: Path) -> str:
    """A database made as an operator now must, with `livethread migrate`; its URL."""
    url = f"sqlite:///{path}"
    done = livethread("migrate", "--database", url)
    assert done.returncode == 0, done.stderr
    return url
