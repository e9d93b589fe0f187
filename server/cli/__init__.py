"""The `livethread` command line: `main` parses and dispatches (`server/cli/parser.py`); each group
of commands is one module here, sharing `command.py`."""

from server.cli.parser import main

__all__ = ["main"]
