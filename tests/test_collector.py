"""A serving process's garbage: the collector's thresholds while it serves
(server/web/collector.py), and sockets that leave no reference cycle behind
(server/web/timeouts.py)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from contextlib import AsyncExitStack

import pytest

from server.settings import Settings
from server.web import collector
from server.web.timeouts import TimedHttpProtocol
from tests.support.clients import provision, reader
from tests.support.server import serve

SOCKETS = 20


@pytest.fixture
def collector_off() -> Iterator[None]:
    """The cycle collector stopped for the test (what is left is what refcounting left)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _alive(kind: type) -> int:
    return sum(1 for o in gc.get_objects() if type(o) is kind)


async def test_serving_uses_the_thresholds_and_gives_the_old_ones_back(settings: Settings) -> None:
    """While the app serves, the collector runs with `collector.THRESHOLDS`; once it has
    stopped, with the thresholds it had before."""
    await provision(settings)
    before = gc.get_threshold()
    assert before != collector.THRESHOLDS
    async with serve(settings):
        assert gc.get_threshold() == collector.THRESHOLDS
    assert gc.get_threshold() == before


async def test_an_upgraded_connection_leaves_no_cycle_behind(
    settings: Settings, collector_off: None
) -> None:
    """With the cycle collector off and 20 readers open, none of their connections' HTTP
    protocols is left: refcounting freed each at its upgrade, no collection was needed."""
    await provision(settings)
    async with serve(settings) as running, AsyncExitStack() as readers:
        baseline = _alive(TimedHttpProtocol)
        async with asyncio.timeout(30):
            for n in range(SOCKETS):
                await readers.enter_async_context(reader(running.ws("news", f"cycle-{n}")))
        assert _alive(TimedHttpProtocol) == baseline
