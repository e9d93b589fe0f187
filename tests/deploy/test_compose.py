"""deploy/compose.yaml against the Compose Specification's schema, and its nginx config in nginx.

No container engine runs here. The schema is the specification's own (vendored beside this
file, its source in its "$comment"); the proxy config goes through the real `nginx -t`, as
deploy/nginx.conf does in test_nginx.py.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import yaml  # type: ignore[import-untyped]

from server.settings import Settings
from tests.support.nginx import MAIN, STARTUP_TIMEOUT, find_nginx
from tests.support.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
PROXY = ROOT / "deploy" / "compose.nginx.conf"
SCHEMA = Path(__file__).with_name("compose-spec.json")
SERVERS = ("server-a", "server-b")
# ${VAR:?message} and ${VAR:-default}, as compose interpolates them from the environment.
_VARIABLE = re.compile(r"\$\{(\w+)(?::[?-][^}]*)?\}")


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_compose_file_follows_the_compose_specification() -> None:
    """compose.yaml (its anchors and merge keys resolved, as compose does) is valid under the
    Compose Specification's JSON schema."""
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(_compose()), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_schema_check_catches_a_wrong_file() -> None:
    """The vendored schema refuses what compose would: a misspelt service key, an unknown
    depends_on condition (so the check above is not vacuous)."""
    schema = json.loads(SCHEMA.read_text())
    broken = _compose()
    broken["services"]["nginx"]["prots"] = ["8080:80"]
    broken["services"]["nginx"]["depends_on"]["server-a"]["condition"] = "service_happy"
    errors = jsonschema.Draft7Validator(schema).iter_errors(broken)
    assert sorted(list(e.absolute_path)[:2] for e in errors) == [["services", "nginx"]] * 2


def test_services_and_their_settings() -> None:
    """PostgreSQL, Redis, two servers, the workers and nginx; each livethread container's
    environment (its variables filled in) loads as livethread's settings; only nginx's fixed
    address is a trusted proxy; servers outlast their graceful stop before compose kills."""
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", *SERVERS, "workers", "nginx"}
    for name in (*SERVERS, "workers"):
        env = {
            key: _VARIABLE.sub(lambda m: f"{m.group(1).lower()}-value", str(value))
            for key, value in services[name]["environment"].items()
        }
        settings = Settings.from_environ(env)
        assert settings.database.startswith("postgresql://") and settings.redis, name
    nginx_address = services["nginx"]["networks"]["default"]["ipv4_address"]
    for name in SERVERS:
        server = services[name]
        assert server["command"] == ["serve", "--no-workers"]
        assert server["environment"]["LIVETHREAD_FORWARDED_ALLOW_IPS"] == nginx_address
        assert int(server["stop_grace_period"].removesuffix("s")) > Settings().shutdown_timeout
    assert services["workers"]["command"] == ["worker", "all"]
    assert services["workers"]["healthcheck"] == {"disable": True}
    [mount] = services["nginx"]["volumes"]
    assert (COMPOSE.parent / mount.split(":")[0]).resolve() == PROXY


def test_proxy_config_passes_nginx_t(tmp_path: Path) -> None:
    """`nginx -t` accepts compose.nginx.conf, with the upstream servers' compose hostnames
    (which this host cannot resolve) swapped for loopback ports, each exactly once."""
    text = PROXY.read_text()
    for name in SERVERS:
        line = f"server {name}:8000 "
        assert text.count(line) == 1, line
        text = text.replace(line, f"server 127.0.0.1:{free_port()} ")
    # The shipped file listens on 80 inside its container; a test may not bind it.
    assert text.count("listen 80;") == 1
    text = text.replace("listen 80;", f"listen 127.0.0.1:{free_port()};")
    (tmp_path / "livethread.conf").write_text(text)
    main = tmp_path / "nginx.conf"
    main.write_text(MAIN.format(folder=tmp_path))
    log = tmp_path / "error.log"
    result = subprocess.run(
        [find_nginx(), "-t", "-p", f"{tmp_path}/", "-e", str(log), "-c", str(main)],
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def _directives(path: Path, start: str, end: str | None = None) -> list[str]:
    """A config's lines from `start` to `end` (or its end), without comments or blank lines."""
    text = path.read_text()
    text = text[text.index(start) : text.index(end) if end else None]
    lines = (line.split("#")[0].rstrip() for line in text.splitlines())
    return [line for line in lines if line.strip()]


def test_proxy_config_keeps_the_shipped_limits_and_locations() -> None:
    """compose.nginx.conf has deploy/nginx.conf's rate limits, refusal and locations, line for
    line (comments aside): only the listener, TLS and upstream addresses differ."""
    shipped = ROOT / "deploy" / "nginx.conf"
    for start, end in (("map $request_method", "upstream livethread"), ("error_page 429", None)):
        assert _directives(PROXY, start, end) == _directives(shipped, start, end), start
