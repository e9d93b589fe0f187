"""Fault injection for reliability tests: named points where a test can make a process fail.

Chosen by `LIVETHREAD_FAULT` (through settings) and wired by the composition root. With no fault
set, every point is a no-op. Never set it in production.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

# Die by SIGKILL after a change commits and before its event is published: the one moment
# when the store has an event that no bus message will ever carry.
CRASH_AFTER_COMMIT = "crash-after-commit"
KNOWN = frozenset({CRASH_AFTER_COMMIT})


def _nothing() -> None:
    return None


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def after_commit(fault: str | None) -> Callable[[], None]:
    """What to do between a commit and its publish."""
    return _die if fault == CRASH_AFTER_COMMIT else _nothing
