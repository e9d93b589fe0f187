"""What a server process counts for `/metrics` (issue 18): the metrics and the core's hooks.

The core calls the functions and meters here (always as `metrics.NAME`, looked up at the call,
since `share` may replace them); the web edge (server/web/metrics.py) samples the gauges it
can read from live objects and answers the scrape. Nothing here imports the web.

**Across processes.** `livethread serve --workers N` is uvicorn's supervisor with N processes
accepting on one port, so a scrape reaches whichever process accepts it: per-process metrics
(a `process` label, one target per process) cannot work, since no process can be scraped on
purpose. So those N processes use prometheus-client's multiprocess mode: `serve` gives them a
private directory (`LIVETHREAD_METRICS_DIR`, a fresh temporary one by default, exported as
`PROMETHEUS_MULTIPROC_DIR` before they start), `share` makes every meter one of
prometheus-client's, keeping its value in the process's mmap'd file there, and any one process
answers the scrape with the sum of all (gauges of live processes only). One `serve` with its N
processes is one scrape target; separate `serve`s (the systemd units, one per port; other
hosts) are separate targets, which Prometheus tells apart by `instance`.

**Alone** (`--workers 1`, and tests) the meters are plain numbers (`Meter`, `Timing`), and
prometheus-client is imported only by the first scrape: it costs about 2 MB of a process at
rest (34 modules: its exposition brings http.server, wsgiref, urllib.request).

**Cost.** The fan-out path never touches a metric per member: the hub adds `members` and
`members x bytes` once per frame per room, and looks up an event's commit time only in the
process that committed it (`committed` / `handed`). A plain increment costs about 0.03 us; one
of prometheus-client's 0.25 us alone, 1.1 us in multiprocess mode (a lock and an mmap write).
"""

from __future__ import annotations

import time
from bisect import bisect_left
from typing import Any

from server import events
from server.model import ThreadKey

# Seconds: from a fraction of a millisecond (a group commit on a fast disk) to the store's
# statement timeout.
TIMES = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Meter:
    """A counter or gauge (`kind`), with one value per label values (`labels`), in-process."""

    def __init__(
        self, kind: str, name: str, help: str, labels: tuple[str, ...] = (), mode: str = ""
    ) -> None:
        self.kind, self.name, self.help, self.label_names = kind, name, help, labels
        # How the multiprocess mode joins the processes' values (gauges only).
        self.mode = mode
        self.value = 0.0
        self.children: dict[tuple[str, ...], Meter] = {}

    def labels(self, **values: str) -> Meter:
        key = tuple(values[name] for name in self.label_names)
        child = self.children.get(key)
        if child is None:
            child = self.children[key] = Meter(self.kind, self.name, self.help)
        return child

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount

    def dec(self, amount: float = 1.0) -> None:
        self.value -= amount

    def set(self, value: float) -> None:
        self.value = value


class Timing:
    """A histogram over `TIMES`, in-process."""

    def __init__(self, name: str, help: str) -> None:
        self.kind, self.name, self.help = "histogram", name, help
        self.counts = [0] * (len(TIMES) + 1)
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(TIMES, seconds)] += 1
        self.sum += seconds


SOCKETS: Any = Meter(
    "gauge",
    "livethread_sockets_open",
    "Readers' websockets open (WS /ws/v1/threads)",
    mode="livesum",
)
ROOMS: Any = Meter(
    "gauge",
    "livethread_rooms",
    "Threads with live readers: one room (and one bus subscription) per thread per process",
    mode="livesum",
)
DELIVERIES: Any = Meter(
    "counter", "livethread_deliveries", "Frames handed to readers' sockets (one per member)"
)
DELIVERED_BYTES: Any = Meter(
    "counter",
    "livethread_delivered_bytes",
    "Bytes of frames handed to readers' sockets (before websocket framing)",
)
SLOW_CLOSES: Any = Meter(
    "counter", "livethread_slow_closes", "Sockets closed with 4008: they did not take their frames"
)
POSTS: Any = Meter(
    "counter",
    "livethread_posts",
    "POST /api/v1/comments by outcome (created, held, replayed, refused) and HTTP status",
    ("outcome", "status"),
)
COMMIT_SECONDS: Any = Timing(
    "livethread_commit_seconds",
    "Time a post's transaction takes to commit (its group's COMMIT, the fsync included)",
)
COMMIT_TO_DELIVERY_SECONDS: Any = Timing(
    "livethread_commit_to_delivery_seconds",
    "Time from an event's commit to its room handing it to its readers, in the process that "
    "committed it (the bus's round trip included)",
)
BUS_CONNECTED: Any = Meter(
    "gauge",
    "livethread_bus_connected",
    "1 while the bus is connected with every channel subscribed (the least over processes)",
    mode="livemin",
)
BUS_RECONNECTS: Any = Meter(
    "counter", "livethread_bus_reconnects", "Times the bus reconnected after losing Redis"
)
REPAIRS: Any = Meter(
    "counter",
    "livethread_repairs",
    "Rooms that read missed events back from the event log (a gap on the bus, the bus "
    "resuming, or the log-tail check finding what the bus never carried)",
)
WORKER_EVENTS_BEHIND: Any = Meter(
    "gauge",
    "livethread_worker_events_behind",
    "Events in the log a background worker has not handled yet",
    ("worker",),
    mode="livemostrecent",
)
WORKER_SECONDS_BEHIND: Any = Meter(
    "gauge",
    "livethread_worker_seconds_behind",
    "Age of the oldest event a background worker has not handled yet",
    ("worker",),
    mode="livemostrecent",
)
RATE_LIMITED: Any = Meter(
    "counter",
    "livethread_rate_limited",
    "Requests and sockets refused by a flood limit (429 or close 4029), by limit",
    ("limit",),
)
SNAPSHOTS: Any = Meter(
    "counter",
    "livethread_snapshot_cache",
    "Readers' snapshot requests served from the per-seq cache (hit) or built (miss)",
    ("result",),
)
ALL: tuple[str, ...] = (
    "SOCKETS",
    "ROOMS",
    "DELIVERIES",
    "DELIVERED_BYTES",
    "SLOW_CLOSES",
    "POSTS",
    "COMMIT_SECONDS",
    "COMMIT_TO_DELIVERY_SECONDS",
    "BUS_CONNECTED",
    "BUS_RECONNECTS",
    "REPAIRS",
    "WORKER_EVENTS_BEHIND",
    "WORKER_SECONDS_BEHIND",
    "RATE_LIMITED",
    "SNAPSHOTS",
)

SNAPSHOT_HIT: Any = SNAPSHOTS.labels(result="hit")
SNAPSHOT_MISS: Any = SNAPSHOTS.labels(result="miss")
_shared = False


def share() -> None:
    """Make every meter one of prometheus-client's, in its multiprocess mode (this process's
    values in the directory PROMETHEUS_MULTIPROC_DIR names). Before anything is counted."""
    global _shared, SNAPSHOT_HIT, SNAPSHOT_MISS
    if _shared:
        return
    from prometheus_client import Counter, Gauge, Histogram

    for name in ALL:
        meter = globals()[name]
        kwargs: dict[str, Any] = {"registry": None}
        if isinstance(meter, Timing):
            shared: Any = Histogram(meter.name, meter.help, buckets=TIMES, **kwargs)
        elif meter.kind == "gauge":
            shared = Gauge(
                meter.name, meter.help, meter.label_names, **kwargs, multiprocess_mode=meter.mode
            )
        else:
            shared = Counter(meter.name, meter.help, meter.label_names, **kwargs)
        globals()[name] = shared
    SNAPSHOT_HIT = SNAPSHOTS.labels(result="hit")
    SNAPSHOT_MISS = SNAPSHOTS.labels(result="miss")
    _shared = True


# Events this process committed and its rooms have not handed out yet: (thread, seq) -> when.
# A thread with no readers here never takes its entry back, so the oldest go past the bound.
_COMMITTED: dict[tuple[ThreadKey, int], float] = {}
_COMMITTED_LIMIT = 1024


def posted(held: bool) -> None:
    """A post was stored: published (created) or held for a moderator."""
    POSTS.labels(outcome="held" if held else "created", status="201").inc()


def replayed() -> None:
    """A retried post got its first answer again (its Idempotency-Key)."""
    POSTS.labels(outcome="replayed", status="201").inc()


def refused(status: int) -> None:
    """A post was answered with a refusal or an error (the web edge knows the status)."""
    POSTS.labels(outcome="refused", status=str(status)).inc()


def committed(key: ThreadKey, payload: bytes) -> None:
    """An event was committed just now (its delivery time is measured from here)."""
    _COMMITTED[(key, events.seq_of(payload))] = time.perf_counter()
    if len(_COMMITTED) > _COMMITTED_LIMIT:
        del _COMMITTED[next(iter(_COMMITTED))]


def handed(key: ThreadKey, seq: int, members: int, size: int, event: bool) -> None:
    """A room handed a frame (`event`: a durable event at `seq`) to `members` sockets: once
    per frame per room, never per member."""
    DELIVERIES.inc(members)
    DELIVERED_BYTES.inc(members * size)
    if event and _COMMITTED:
        started = _COMMITTED.pop((key, seq), None)
        if started is not None:
            COMMIT_TO_DELIVERY_SECONDS.observe(time.perf_counter() - started)


def rate_limited(limit: str) -> None:
    RATE_LIMITED.labels(limit=limit).inc()
