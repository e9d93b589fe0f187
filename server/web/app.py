"""The composition root of the web edge: wires what `server.composition` chooses into the app.

`store_for` and `bus_for` are re-exported here for the command line and tests.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response

from server import demo, faults
from server.composition import (
    buckets_for,
    bus_for,
    comments_for,
    readers_for,
    store_for,
    workers_for,
)
from server.errors import Refusal
from server.limits import LIMITS_SECRET, Addresses
from server.moderation.automod import Automod
from server.moderation.bans import Banning
from server.moderation.retention import Retention
from server.outbox import Outbox
from server.reactions.reacting import Reacting
from server.settings import Settings
from server.storage import StoreUnavailable
from server.threads.backlog import Backlog
from server.threads.counting import LiveCounts
from server.threads.hub import Hub
from server.threads.meta import ThreadMetas
from server.threads.reports import Reporting
from server.threads.snapshots import Snapshots
from server.validation import RequestError
from server.web import collector
from server.web.admin import Admin
from server.web.api import Api, on_refusal, on_request_error
from server.web.auth import ACCOUNT_TOKEN_HEADER
from server.web.bans_api import BansApi
from server.web.confirm import Confirm
from server.web.counts_socket import CountsSocket
from server.web.feeds import FeedRoutes
from server.web.forwarded import ForwardedHeaders
from server.web.guard import Guard
from server.web.languages import language_routes
from server.web.metrics import Metrics, PostOutcomes
from server.web.moderation_api import ModerationApi
from server.web.moderation_socket import ModerationSocket
from server.web.openapi import OpenApi
from server.web.pages import STATIC, Pages
from server.web.reactions_api import READER_KEY_HEADER, ReactionsApi
from server.web.responses import error_response
from server.web.script import Script
from server.web.socket import ThreadSocket
from server.web.timeouts import HANDLERS as DISCONNECT_HANDLERS
from server.web.unsubscribe import Unsubscribe
from workers.runner import Runner

log = logging.getLogger(__name__)

DAY = 86400.0

__all__ = ["app_from_environ", "bus_for", "create_app", "store_for"]


def create_app(settings: Settings) -> Starlette:
    store = store_for(settings)
    # Publishing never holds up an answer: a bounded queue and one task (server/outbox.py).
    inner = bus_for(settings)
    bus = Outbox(inner)
    # Flood and velocity limits count here (shared on the bus's Redis, if any), and clients'
    # addresses and authors are hashed under the deployment's secret once the store is open.
    buckets = buckets_for(settings)
    addresses = Addresses()
    readers = readers_for(store)
    comments = comments_for(
        store,
        bus,
        edit_window=settings.edit_window_seconds,
        after_commit=faults.after_commit(settings.fault),
        automod=Automod(
            store.rules,
            velocity=settings.rate_limit,
            buckets=buckets,
            addresses=addresses,
            history=store.comments.published_by,
        ),
        idempotency_ttl=settings.idempotency_ttl_seconds,
        readers=readers,
    )
    hub = Hub(
        store.threads,
        store.log,
        bus,
        backlog_limit=settings.backlog_limit,
        tail_interval=settings.tail_interval,
        presence_every=settings.presence_interval,
    )
    guard = Guard(settings, buckets, addresses)
    api = Api(
        comments,
        Snapshots(
            store.threads,
            store.comments,
            edit_window=int(settings.edit_window_seconds),
            reactions=store.reactions,
        ),
        ThreadMetas(store.threads, store.sites),
        guard,
        reads=store.comments,
        moderators=store.moderators,
        readers=readers,
        max_body=settings.http_max_bytes,
    )
    banning = Banning(
        store.bans,
        store.audit,
        store.comments,
        bus,
        moderate=comments.moderate,
        address_key=addresses.key,
        retention=settings.address_retention_days * DAY,
    )
    bans = BansApi(banning, comments, store.moderators, guard)
    retention = Retention(store.expiry, addresses=settings.address_retention_days * DAY)
    reporting = Reporting(comments, store.comments, store.reports, store.rules)
    decisions = ModerationApi(
        reporting,
        store.audit,
        store.comments,
        readers,
        store.moderators,
        guard,
        comments.site,
    )
    moderation = ModerationSocket(
        store,
        bus,
        guard,
        inbox=settings.socket_inbox,
        recheck=settings.moderator_recheck_seconds,
    )
    reacting = Reacting(store.reactions, store.comments, bus)
    reactions = ReactionsApi(reacting, comments, store.comments, readers, addresses, guard)
    sockets = ThreadSocket(
        comments,
        Backlog(store.threads, store.log, store.comments, limit=settings.backlog_limit),
        reacting,
        hub,
        guard,
        inbox=settings.socket_inbox,
        max_buffer=settings.socket_buffer_bytes,
        slow_close=settings.slow_close_timeout,
    )
    # Index pages' live comment counts: one watcher per thread for every counts socket.
    live_counts = LiveCounts(hub, store.comments)
    counting = CountsSocket(
        comments,
        live_counts,
        guard,
        inbox=settings.socket_inbox,
        max_buffer=settings.socket_buffer_bytes,
        slow_close=settings.slow_close_timeout,
    )
    runner = (
        Runner(
            store.cursors,
            store.log,
            bus,
            workers_for(settings, store, bus),
            poll=settings.worker_poll_seconds,
            lease=settings.worker_lease_seconds,
        )
        if settings.run_workers
        else None
    )
    script = Script(STATIC / "embed.js")
    # The moderators' page's own script: readers never download it.
    moderating = Script(STATIC / "moderate.js", "moderate")
    # Index pages' live comment counts (client-js/src/counts.js), without the widget.
    counter = Script(STATIC / "counts.js", "counts")
    # The report form: the widget loads it on a reader's first report (client-js/src/reporting.js).
    report_form = Script(STATIC / "report.js", "report")
    pages = Pages(store, bus, runner, widget_url=script.url, moderate_url=moderating.url)
    unsubscribe = Unsubscribe(store, settings.secret)
    confirm = Confirm(store, settings.secret)
    feeds = FeedRoutes(store, settings)
    # /metrics: this process's, or with --workers N all of this serve's (server/metrics.py).
    watching = Metrics(hub, inner, runner, settings.metrics_dir)
    openapi = OpenApi(STATIC)
    admin = Admin(store, bus, settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await store.open()
        try:
            addresses.rekey((await store.secrets.get(LIMITS_SECRET)).encode())
            await bus.start()
            try:
                if settings.demo:
                    await demo.install(store)
                await hub.start()
                live_counts.start()
                if runner is not None:
                    await runner.start()
                retention.start()
                watching.start()
                reacting.start()
                with collector.serving():
                    yield
            finally:
                await watching.close()
                await reacting.close()
                await retention.close()
                if runner is not None:
                    await runner.close()
                await live_counts.close()
                await hub.close()
                await bus.close()
                await buckets.aclose()
                await readers.aclose()
        finally:
            await store.close()

    app = Starlette(
        routes=[
            *api.routes(),
            *decisions.routes(),
            *bans.routes(),
            *reactions.routes(),
            *sockets.routes(),
            *counting.routes(),
            *moderation.routes(),
            *pages.routes(),
            *script.routes(),
            *moderating.routes(),
            *counter.routes(),
            *report_form.routes(),
            *language_routes(STATIC),
            *unsubscribe.routes(),
            *confirm.routes(),
            *feeds.routes(),
            *watching.routes(),
            *openapi.routes(),
            *admin.routes(),
        ],
        lifespan=lifespan,
        exception_handlers={
            Refusal: on_refusal,
            RequestError: on_request_error,
            StoreUnavailable: on_store_unavailable,
            **DISCONNECT_HANDLERS,
        },
        middleware=[
            # First, so everything inside sees the client behind a trusted proxy.
            Middleware(ForwardedHeaders, trusted=settings.forwarded_allow_ips),
            # Counts refused posts (the use-case counts stored ones); else passes through.
            Middleware(PostOutcomes),
            # The widget calls the API from publishers' pages. No cookies are involved (every
            # privileged call carries its token), so CORS is not what guards writes.
            Middleware(
                CORSMiddleware,
                allow_origins=["*"],
                allow_methods=["GET", "POST", "PATCH", "DELETE"],
                allow_headers=[
                    "Content-Type",
                    "Authorization",
                    "Idempotency-Key",
                    "X-Edit-Token",
                    ACCOUNT_TOKEN_HEADER,
                    READER_KEY_HEADER,
                ],
                max_age=600,
            ),
        ],
    )
    app.state.hub = hub
    app.state.counts = live_counts
    app.state.guard = guard
    app.state.runner = runner
    return app


# What a client is told to wait before retrying a write the database could not take.
RETRY_AFTER_SECONDS = 5


async def on_store_unavailable(request: Request, exc: Exception) -> Response:
    """The database cannot write now (locked past the busy timeout, disk full, I/O error): 503
    in the JSON error shape with Retry-After. One log line, no traceback: the cause is outside
    the request, and an outage would otherwise write a traceback per post. (The sockets handle
    their own errors: none reaches here.)"""
    log.warning("storage unavailable, answered 503: %s", exc)
    return error_response(
        503,
        "unavailable",
        "The comments database cannot take writes right now; please try again shortly",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def app_from_environ() -> Starlette:
    """The uvicorn factory for worker processes, which learn their settings from the environment."""
    return create_app(Settings.from_environ())
