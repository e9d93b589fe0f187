"""The cycle collector while a process serves: what starting made is frozen, and the
collections that are left come less often.

What starting made (modules, the app, the store's statements) lives as long as the process:
frozen, out of the collector's sight, a full collection no longer walks it.

CPython's thresholds (700, 10, 10) then cost a serving process dearly: a young collection
every few handshakes, and a full one whenever the objects promoted since the last full one
reach a quarter of the long-lived ones, frozen objects not counted. In a reconnect storm, the
handshakes in flight live long enough to be promoted, so full collections followed each other,
each walking every open socket's objects: about half of the storm's CPU (bench/RESULTS.md, "Figures
behind design choices"). `THRESHOLDS` makes young collections rarer and a full one wait for 100
middle-aged ones.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

THRESHOLDS = (2_000, 10, 100)


@contextmanager
def serving() -> Iterator[None]:
    """Freeze what exists and use `THRESHOLDS` until the block ends; then the thresholds
    before it (a process, a test's, may serve more than once)."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
