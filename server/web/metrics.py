"""`GET /metrics`: the Prometheus text format, for this `livethread serve` (all its processes).

The metrics and why several processes share a directory are in server/metrics.py. Here: the
route, the gauges read from live objects (rooms, the bus's state and reconnects) once a second
and again when a scrape arrives, the workers' lag read at the scrape, and the middleware that
counts refused posts (only the edge knows a refusal's status).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server import metrics
from server.threads.hub import Hub
from workers.runner import Runner

log = logging.getLogger(__name__)

# How often this process copies its rooms and bus state into the shared gauges.
SAMPLE_EVERY = 1.0
POSTS_PATH = "/api/v1/comments"


class _Bus(Protocol):
    @property
    def connected(self) -> bool: ...


class Metrics:
    """The /metrics route and this process's sampler."""

    def __init__(
        self, hub: Hub, bus: _Bus, runner: Runner | None, directory: str | None = None
    ) -> None:
        """`bus` is the bus itself (not the outbox): its `reconnects`, if it counts them, are
        read too. `directory` is the multiprocess mode's, None for a process on its own."""
        self._hub = hub
        self._bus = bus
        self._runner = runner
        self._directory = directory
        self._reconnects = 0
        # This process's rooms as last added to the gauge (shared by every process).
        self._rooms_shown = 0
        self._task: asyncio.Task[None] | None = None
        # Built by the first scrape: prometheus-client is imported only then (server/metrics.py).
        self._registry: Any = None
        if directory is not None:
            metrics.share()

    def routes(self) -> list[BaseRoute]:
        return [Route("/metrics", self.scrape)]

    def start(self) -> None:
        self.sample()
        if self._directory is not None:
            # Others answer scrapes too: keep this process's gauges fresh for them. Alone,
            # the scrape's own sample is enough.
            self._task = asyncio.get_running_loop().create_task(self._sampling(), name="metrics")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        metrics.ROOMS.dec(self._rooms_shown)
        if self._directory is not None:
            # A stopped process's live gauges leave the sums; its counters stay in them.
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid(), self._directory)  # type: ignore[no-untyped-call]

    def sample(self) -> None:
        """Copy this process's rooms and bus state into the gauges (cheap: no I/O)."""
        rooms = self._hub.rooms()
        metrics.ROOMS.inc(rooms - self._rooms_shown)
        self._rooms_shown = rooms
        metrics.BUS_CONNECTED.set(1 if self._bus.connected else 0)
        reconnects = int(getattr(self._bus, "reconnects", 0))
        if reconnects > self._reconnects:
            metrics.BUS_RECONNECTS.inc(reconnects - self._reconnects)
        self._reconnects = reconnects

    async def _sampling(self) -> None:
        while True:
            await asyncio.sleep(SAMPLE_EVERY)
            self.sample()

    async def scrape(self, request: Request) -> Response:
        self.sample()
        if self._runner is not None:
            try:
                for name, lag in (await self._runner.lag()).items():
                    metrics.WORKER_EVENTS_BEHIND.labels(worker=name).set(lag.events)
                    metrics.WORKER_SECONDS_BEHIND.labels(worker=name).set(lag.seconds)
            except Exception as exc:  # the store is away: the rest still answers
                log.warning("reading the workers' lag for /metrics failed: %s", exc)
        from prometheus_client import (
            CONTENT_TYPE_PLAIN_0_0_4,
            CollectorRegistry,
            ProcessCollector,
            generate_latest,
            multiprocess,
        )

        if self._directory is not None:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=self._directory)  # type: ignore[no-untyped-call]
        elif self._registry is None:
            registry = self._registry = CollectorRegistry()
            registry.register(_Plain())
            ProcessCollector(registry=registry)
        else:
            registry = self._registry
        body = generate_latest(registry)
        return Response(body, headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})


class _Plain:
    """The in-process meters (server/metrics.py) as Prometheus metric families."""

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        for name in metrics.ALL:
            meter = getattr(metrics, name)
            if isinstance(meter, metrics.Timing):
                cumulative, buckets = 0, []
                for bound, count in zip((*metrics.TIMES, float("inf")), meter.counts, strict=True):
                    cumulative += count
                    buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
                yield HistogramMetricFamily(
                    meter.name, meter.help, buckets=buckets, sum_value=meter.sum
                )
                continue
            kind = CounterMetricFamily if meter.kind == "counter" else GaugeMetricFamily
            if not meter.label_names:
                yield kind(meter.name, meter.help, value=meter.value)
                continue
            family = kind(meter.name, meter.help, labels=meter.label_names)
            for values, child in meter.children.items():
                family.add_metric(list(values), child.value)
            yield family


class PostOutcomes:
    """Counts POST /api/v1/comments answered with anything but 201 (a refusal's status, or
    500 for an error); the use-case counts the posts it stored. Other requests pass straight
    through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != POSTS_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        status: list[int] = []

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            if not status:
                metrics.refused(500)
            raise
        if status and status[0] >= 300:
            metrics.refused(status[0])
