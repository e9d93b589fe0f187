"""One logging setup for every livethread process: the app's loggers and uvicorn's.

Every line carries its time, level and logger name, so an operator reading the journal can tell a
warning from a note and line it up with other services. The app's own loggers (`server.*`,
`workers.*`) log at LIVETHREAD_LOG_LEVEL, INFO lines included ("redis bus: reconnected");
everything else (libraries) at WARNING and above.

An outage makes the same message from the same place over and over (a publish per post, a retry
per second). `RepeatFilter` lets such a message through once per `every` seconds and then says how
many it held back, so a flood costs a line per interval, not a line per event.

`config(level)` is a `logging.config.dictConfig` dict: `livethread serve` hands it to uvicorn (as
`log_config`, applied in every server process), `livethread worker` applies it with `setup`.

`LIVETHREAD_LOG_FORMAT=json` makes every line, the access log's too, one JSON object (`JsonLines`)
for log pipelines: `time` (UTC, ISO 8601), `level`, `logger`, `message`, the access log's request
fields, any `extra=` fields, and `exception` with the traceback. A formatter of our own rather
than python-json-logger: these few lines are all it would do here, without a dependency.
"""

from __future__ import annotations

import json
import logging
import logging.config
import time
from collections import OrderedDict
from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The same message from the same place at most once per this many seconds.
REPEAT_EVERY = 10.0
# Places remembered at once; the least recently seen is forgotten first.
REPEAT_MEMORY = 1024


class RepeatFilter(logging.Filter):
    """Passes a record unless the same message (its format string, not its arguments) came from
    the same place within `every` seconds; the next one let through says how many were held."""

    def __init__(
        self, every: float = REPEAT_EVERY, memory: int = REPEAT_MEMORY, clock: Any = time.monotonic
    ) -> None:
        super().__init__()
        self._every = every
        self._memory = memory
        self._clock = clock
        # (logger, path, line, format) -> [time let through, how many held back since]
        self._seen: OrderedDict[tuple[str, str, int, str], list[float]] = OrderedDict()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.pathname, record.lineno, str(record.msg))
        now = self._clock()
        seen = self._seen.get(key)
        if seen is not None:
            self._seen.move_to_end(key)
            if now - seen[0] < self._every:
                seen[1] += 1
                return False
            held = int(seen[1])
            seen[0], seen[1] = now, 0
            if held:
                # The message itself is left alone (handlers format it); this travels with it.
                record.msg = f"{record.msg} (… repeated {held} times in {self._every:.0f}s)"
            return True
        self._seen[key] = [now, 0]
        if len(self._seen) > self._memory:
            self._seen.popitem(last=False)
        return True


# What every LogRecord has: anything else on one came from `extra=` and is written out.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
# uvicorn's access lines carry these as their arguments.
_ACCESS = ("client", "method", "path", "http_version", "status")


class JsonLines(logging.Formatter):
    """One JSON object per record, on one line (newlines in a message are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        args = record.args
        if (
            record.name == "uvicorn.access"
            and isinstance(args, tuple)
            and len(args) == len(_ACCESS)
        ):
            line.update(zip(_ACCESS, args, strict=True))
        for name, value in vars(record).items():
            if name not in _STANDARD and name not in line:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, default=str, ensure_ascii=False)


def config(level: str, log_format: str = "text") -> dict[str, Any]:
    """The dictConfig for a livethread process logging at `level` (e.g. "info"), in
    `log_format` ("text" or "json")."""
    app_level = level.upper()
    lines: dict[str, Any] = {"()": JsonLines} if log_format == "json" else {"format": FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"repeats": {"()": RepeatFilter}},
        "formatters": {
            "plain": lines,
            # uvicorn's access lines carry their fields as arguments; the same layout.
            "access": lines,
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "plain",
                "filters": ["repeats"],
            },
            # Access lines share one template whatever the request, so the repeat filter
            # would fold distinct requests into one: the access log (opt-in) goes around it.
            "access": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "access",
            },
        },
        "root": {"level": "WARNING", "handlers": ["stderr"]},
        "loggers": {
            # uvicorn's own handlers would print without time or level: theirs go to the root's.
            "uvicorn": {"level": app_level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": app_level, "handlers": [], "propagate": True},
            "uvicorn.access": {"level": app_level, "handlers": ["access"], "propagate": False},
            "server": {"level": app_level},
            "workers": {"level": app_level},
        },
    }


def setup(level: str, log_format: str = "text") -> None:
    """Apply `config(level, log_format)` to this process (for processes uvicorn does not
    start)."""
    logging.config.dictConfig(config(level, log_format))
