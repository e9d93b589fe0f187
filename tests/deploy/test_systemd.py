"""The shipped systemd units, service user and environment file, checked with systemd's own
tools where the machine has them (Debian does, without running systemd as init)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
from dotenv import dotenv_values

from server.settings import PREFIX, Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SHIPPED_EXECUTABLE = "/opt/livethread/bin/livethread"
TIMEOUT = 30.0


def _tool(name: str) -> str:
    """systemd's own checker; `make system-deps` (run by `make test`) installs systemd."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run `make system-deps` (make test does)")
    return found


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    """`systemd-analyze verify` finds nothing wrong with the server and worker units (the
    template as instance 8001; the executable path pointed at this checkout's, which exists)."""
    tool = _tool("systemd-analyze")
    livethread = Path(sys.executable).with_name("livethread")
    assert livethread.is_file(), livethread
    units = {
        "livethread@8001.service": DEPLOY / "livethread@.service",
        "livethread-worker.service": DEPLOY / "livethread-worker.service",
    }
    for name, source in units.items():
        text = source.read_text()
        assert text.count(SHIPPED_EXECUTABLE) == 1, name
        (tmp_path / name).write_text(text.replace(SHIPPED_EXECUTABLE, str(livethread)))
    result = subprocess.run(
        [tool, "verify", *(str(tmp_path / name) for name in units)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_sysusers_file_creates_the_service_user(tmp_path: Path) -> None:
    """deploy/livethread.sysusers makes the `livethread` user and group (applied to an empty
    root folder, never to this machine), with the units' state directory as its home."""
    tool = _tool("systemd-sysusers")
    (tmp_path / "etc").mkdir()
    result = subprocess.run(
        [tool, f"--root={tmp_path}", str(DEPLOY / "livethread.sysusers")],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    users = [line.split(":") for line in (tmp_path / "etc/passwd").read_text().splitlines()]
    user = next(u for u in users if u[0] == "livethread")
    assert user[5] == "/var/lib/livethread" and user[6] == "/usr/sbin/nologin"
    assert "livethread:" in (tmp_path / "etc/group").read_text()


def test_environment_file_holds_only_valid_settings() -> None:
    """Every variable of deploy/livethread.env is a livethread setting with a usable value, and
    the database it names is the state directory the units create."""
    values = dotenv_values(DEPLOY / "livethread.env")
    known = {PREFIX + field.name.upper() for field in fields(Settings)}
    assert set(values) <= known, set(values) - known
    settings = Settings.from_environ({k: v for k, v in values.items() if v is not None})
    assert settings.database == "sqlite:////var/lib/livethread/livethread.db"
    assert settings.public_url is not None and settings.public_url.startswith("https://")
    assert settings.forwarded_allow_ips == "127.0.0.1"
