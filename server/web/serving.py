"""How uvicorn serves the app: one place for the limits every server process uses."""

from __future__ import annotations

from typing import Any

from server.settings import Settings
from server.web.direct import DirectProtocol

FACTORY = "server.web.app:app_from_environ"


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run` / `uvicorn.Config`."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "access_log": settings.access_log,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        # Compression costs CPU per socket for every frame and opens compression side
        # channels; comment frames are small.
        "ws_per_message_deflate": False,
        "ws_max_size": settings.ws_max_bytes,
        "ws_ping_interval": settings.ws_ping_interval,
        "ws_ping_timeout": settings.ws_ping_timeout,
        "lifespan": "on",
        # uvicorn's websocket protocol plus a writer onto each transport (server/web/direct.py).
        "ws": DirectProtocol,
    }
