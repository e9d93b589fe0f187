"""deploy/Dockerfile, without a container engine: what it says, and its Python layer run for real.

No image is built here (there is no engine on the test machines). Instead its instructions are
checked, and its build stage's install step runs as written in a fresh virtualenv, on a copy of
exactly the files the Dockerfile copies: the package installs from them, ships the prebuilt
widget, and the installed `livethread serve` answers the image's HEALTHCHECK command.
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.dockerfile import Instruction, instructions

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
IGNORE = ROOT / "deploy" / "Dockerfile.dockerignore"
INSTALL_TIMEOUT = 240
WAIT = 20.0
_LISTENING = re.compile(rb"Uvicorn running on http://[^:]+:(\d+)")


def _stages() -> list[list[Instruction]]:
    """The Dockerfile's stages, each its instructions from its FROM on."""
    stages: list[list[Instruction]] = []
    for step in instructions(DOCKERFILE):
        if step.keyword == "FROM":
            stages.append([])
        assert stages, "the Dockerfile must start with FROM"
        stages[-1].append(step)
    return stages


def _copied_from_context() -> list[tuple[list[str], str]]:
    """Every COPY from the build context (not from another stage): its sources, destination."""
    return [
        (step.arguments[:-1], step.arguments[-1])
        for stage in _stages()
        for step in stage
        if step.keyword in ("COPY", "ADD") and "from" not in step.flags
    ]


def _ignored(path: str) -> bool:
    """Whether Dockerfile.dockerignore keeps `path` out of the build context (last match wins)."""
    verdict = False
    for line in IGNORE.read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        keep = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path, f"{pattern}/*"):
            verdict = not keep
    return verdict


def test_runs_as_a_user_that_is_not_root() -> None:
    """The final stage ends with a numeric USER that is not root (runAsNonRoot can check it)."""
    users = [s.arguments[0] for s in _stages()[-1] if s.keyword == "USER"]
    assert users, "the final stage names no USER"
    user, _, group = users[-1].partition(":")
    assert user.isdigit() and int(user) != 0, users
    assert not group or (group.isdigit() and int(group) != 0), users


def test_healthcheck_asks_healthz_and_starts_serve() -> None:
    """The final stage has a HEALTHCHECK on /healthz, stops on SIGTERM (the graceful drain),
    and runs `livethread serve` unless told another command (`worker all`)."""
    final = {s.keyword: s for s in _stages()[-1]}
    check = final["HEALTHCHECK"]
    assert check.arguments[0] == "CMD" and "/healthz" in " ".join(check.arguments)
    assert final["STOPSIGNAL"].arguments == ["SIGTERM"]
    assert final["ENTRYPOINT"].exec_form and final["ENTRYPOINT"].arguments == ["livethread"]
    assert final["CMD"].exec_form and final["CMD"].arguments == ["serve"]
    assert all(stage[0].arguments[0].startswith("python:3.11-slim") for stage in _stages())


def test_every_copied_path_exists_and_reaches_the_build() -> None:
    """Every path the Dockerfile copies from the context exists in the repository and is not
    dropped by Dockerfile.dockerignore; the widget's files and language files are inside."""
    copied = [source for sources, _ in _copied_from_context() for source in sources]
    assert copied
    for source in copied:
        assert (ROOT / source).exists(), source
        assert not _ignored(source.rstrip("/")), source
    for shipped in ("server/web/static/embed.js", "server/web/static/lang/ar.js"):
        assert any(shipped.startswith(s.rstrip("/")) for s in copied), shipped
        assert not _ignored(shipped), shipped
    assert _ignored(".venv") and _ignored("client-js")


def _context_copy(folder: Path) -> Path:
    """The build stage's /src: each COPY's sources placed at its destination, as Docker would
    (no caches, which the ignore file keeps out)."""
    [build, *_] = _stages()
    workdirs = [s.arguments[0] for s in build if s.keyword == "WORKDIR"]
    src = folder / "src"
    for sources, destination in _copied_from_context():
        target = src / destination.removeprefix(workdirs[-1]).lstrip("/")
        for source in sources:
            origin = ROOT / source
            if origin.is_dir():
                shutil.copytree(
                    origin,
                    target if source.endswith("/") else target / origin.name,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                    dirs_exist_ok=True,
                )
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target / origin.name)
    return src


def _pip_arguments() -> list[str]:
    """The build stage's `pip …` as written, up to the end of its command."""
    for step in _stages()[0]:
        words = step.arguments
        pips = [i for i, w in enumerate(words) if w.endswith("/pip") and step.keyword == "RUN"]
        if pips:
            rest = words[pips[0] + 1 :]
            return rest[: rest.index("&&")] if "&&" in rest else rest
    raise AssertionError("the build stage runs no pip")


async def _listening(process: asyncio.subprocess.Process) -> int:
    """The port a starting `livethread serve` logs that it listens on."""
    assert process.stderr is not None
    log: list[bytes] = []
    async with asyncio.timeout(WAIT):
        async for line in process.stderr:
            log.append(line)
            if found := _LISTENING.search(line):
                return int(found.group(1))
    raise AssertionError(b"".join(log).decode(errors="replace"))


def _install(folder: Path) -> tuple[Path, dict[str, str]]:
    """The build stage's install, in a fresh virtualenv in `folder`: the venv, and an
    environment without this process's settings or Python paths (only what pip installed)."""
    src = _context_copy(folder)
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=60)
    # As written but for --no-cache-dir, which only keeps the image's layer small: here pip's
    # cache (filled by `make`'s own install) spares building PyICU again, about 100 s.
    arguments = [a for a in _pip_arguments() if a != "--no-cache-dir"]
    installed = subprocess.run(
        [str(venv / "bin" / "pip"), *arguments],
        cwd=src, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-4000:]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVETHREAD_", "PYTHON"))}
    env["LIVETHREAD_DATABASE"] = f"sqlite:///{folder / 'livethread.db'}"
    return venv, env


def _run(*command: str | Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.timeout(INSTALL_TIMEOUT + 60)
async def test_install_step_builds_a_working_package(tmp_path: Path) -> None:
    """The build stage's pip install, run as written (pip's cache allowed) in a fresh virtualenv
    on a copy of only what the Dockerfile copies, installs `livethread`: its --help lists serve,
    worker and backup, the package holds static/embed.js and static/lang/ar.js, and the
    installed `livethread serve` passes the image's own HEALTHCHECK command and serves
    /embed.js."""
    venv, env = await asyncio.to_thread(_install, tmp_path)
    # Away from the repository, so only what pip installed can be imported.
    run = tmp_path / "run"
    run.mkdir()
    livethread = venv / "bin" / "livethread"
    helped = await asyncio.to_thread(_run, livethread, "--help", cwd=run, env=env)
    assert helped.returncode == 0, helped.stderr
    assert all(name in helped.stdout for name in ("serve", "worker", "backup"))
    where = await asyncio.to_thread(
        _run,
        venv / "bin" / "python",
        "-c",
        "import server; print(server.__file__)",
        cwd=run,
        env=env,
    )
    package = Path(where.stdout.strip()).parent
    assert package.is_relative_to(venv), where
    assert (package / "web" / "static" / "embed.js").is_file()
    assert (package / "web" / "static" / "lang" / "ar.js").is_file()

    process = await asyncio.create_subprocess_exec(
        str(livethread), "serve", "--port", "0",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env, cwd=run,
    )  # fmt: skip
    try:
        port = await _listening(process)
        [check] = [s for s in _stages()[-1] if s.keyword == "HEALTHCHECK"]
        command = [w.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for w in check.arguments[1:]]
        assert command != check.arguments[1:], "the HEALTHCHECK no longer asks port 8000"
        # The image's python is the venv's (its PATH starts with /opt/livethread/bin).
        healthy = await asyncio.to_thread(
            _run, venv / "bin" / command[0], *command[1:], cwd=run, env=env
        )
        assert healthy.returncode == 0, healthy.stderr
        async with httpx.AsyncClient(timeout=WAIT) as http:
            script = await http.get(f"http://127.0.0.1:{port}/embed.js")
        assert script.status_code == 200 and len(script.content) > 1000
    finally:
        if process.returncode is None:
            process.terminate()
        async with asyncio.timeout(WAIT):
            await process.wait()
    # SIGTERM ends it cleanly (uvicorn's graceful stop), as a container stop would.
    assert process.returncode == 0
