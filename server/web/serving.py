"""How uvicorn serves the app: one place for the limits every server process uses."""

from __future__ import annotations

from typing import Any

from server import logs
from server.settings import Settings
from server.web.direct import direct_protocol
from server.web.timeouts import timed_http

FACTORY = "server.web.app:app_from_environ"


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run` / `uvicorn.Config`."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        # Time, level and logger on every line, the app's INFO lines too (server/logs.py).
        "log_config": logs.config(settings.log_level, settings.log_format),
        "access_log": settings.access_log,
        # X-Forwarded-For/-Proto are read by our own middleware (server/web/forwarded.py),
        # which takes only well-formed addresses from the trusted proxies.
        "proxy_headers": False,
        # Compression costs CPU per socket for every frame and opens compression side
        # channels; comment frames are small.
        "ws_per_message_deflate": False,
        "ws_max_size": settings.ws_max_bytes,
        "ws_ping_interval": settings.ws_ping_interval,
        "ws_ping_timeout": settings.ws_ping_timeout,
        "lifespan": "on",
        # Pinned to httptools (uvicorn's default when installed), with deadlines for a
        # request's head and body (server/web/timeouts.py).
        "http": timed_http(settings.header_timeout, settings.body_timeout),
        # uvicorn's websocket protocol plus a writer onto each transport (server/web/direct.py).
        "ws": direct_protocol(settings.slow_close_timeout),
        # A stop waits this long for requests and sockets, then cuts them: no peer can hold
        # up a restart (systemd's TimeoutStopSec is 30 s).
        "timeout_graceful_shutdown": settings.shutdown_timeout,
    }
