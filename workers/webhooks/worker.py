"""The webhooks worker: each site's events, POSTed as signed JSON to the URLs it subscribed.

Two halves, run side by side by the runner:

- `handle` (the Consumer's handler): for each event of the log, queue one delivery per webhook of
  its site that wants its type. The delivery id, "WEBHOOK:POSITION", is stable, so handling an
  event again (at least once) queues nothing new.
- `deliver_forever`: POST the due deliveries. 2xx is success; anything else, or no answer, is
  tried again after a full-jitter exponential backoff, and parked after `max_attempts`
  (`livethread webhooks failed` lists them, `livethread webhooks replay` sends them again).

Only to public addresses: before every attempt the URL's host is resolved and checked, and the
request goes to the checked address (server/destinations.py). A URL that is (or now resolves to)
a loopback, private, link-local, multicast or unspecified address is parked at once, its error
saying why, unless LIVETHREAD_ALLOW_PRIVATE_HOOKS=1.

At least once: a delivery whose answer is lost (a crash, a timeout) is sent again with the same
`X-Livethread-Delivery` id; receivers drop ids they have already handled.

The body is the event as readers get it on the websocket (`type`, `seq`, ...) with its `site`
and `thread` added. The signature header is `t=UNIX_SECONDS,v1=HEX`, where HEX is
HMAC-SHA256(secret, f"{t}." + body) (signing.py; its `verify` checks one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
import time
import typing
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import msgspec

from server import destinations, events
from server.threads.ports import LogEntry
from workers.cursors import Cursors
from workers.prepared import Prepared
from workers.webhooks.ports import Delivery, DeliveryQueue, Webhook, WebhookRegistry
from workers.webhooks.signing import signature_header

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

# Only one copy at a time sends deliveries: every server process may run this worker.
SENDER_LEASE = "webhooks.sender"
USER_AGENT = "livethread-webhooks/1"
# The event types a webhook may subscribe to.
EVENT_TYPES: tuple[str, ...] = typing.get_args(events.EventType)
_ERROR_CHARS = 300


class _Tagged(msgspec.Struct):
    """Just the `type` of an event, so types this version does not know still pass through."""

    type: str = ""


_tagged = msgspec.json.Decoder(_Tagged)
_event_object = msgspec.json.Decoder(dict[str, Any])
_encoder = msgspec.json.Encoder()


class WebhookError(ValueError):
    """A webhook cannot be added as asked (the message says why)."""


def new_webhook(site: str, url: str, event_types: tuple[str, ...] = ()) -> Webhook:
    """A webhook with a fresh id and secret; refuses a URL that is not http(s) and unknown types.

    Where the URL points is checked by server/destinations.py: by `livethread webhooks add`
    (which can resolve it) and before every delivery."""
    try:
        destinations.parse(url, "webhook URL")
    except destinations.Refused as exc:
        raise WebhookError(str(exc)) from None
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise WebhookError(
            f"unknown event type {', '.join(unknown)}: choose from {', '.join(EVENT_TYPES)}"
        )
    return Webhook(
        id=f"wh_{secrets.token_hex(6)}",
        site=site,
        url=url,
        secret=f"whsec_{secrets.token_urlsafe(32)}",
        events=tuple(dict.fromkeys(event_types)),
    )


def body_of(delivery: Delivery) -> tuple[str, bytes]:
    """The event type and the body POSTed for a delivery: the stored event with its site and
    thread added (the same bytes on every attempt, unless the event was redacted meanwhile)."""
    event = _event_object.decode(delivery.payload)
    kind = str(event.pop("type", ""))
    event.pop("site", None)
    event.pop("thread", None)
    body = _encoder.encode(
        {"type": kind, "site": delivery.site, "thread": delivery.thread, **event}
    )
    return kind, body


def backoff(attempt: int, low: float, high: float) -> float:
    """Full-jitter exponential backoff before retry number `attempt` (0 for the first retry)."""
    return random.uniform(0.0, min(high, low * 2 ** min(attempt, 32)))


def _printable(text: str) -> str:
    # An error may quote what a receiver sent; keep terminals that list it safe.
    clean = "".join(c if c.isprintable() else "?" for c in text)
    return clean[:_ERROR_CHARS]


class Webhooks:
    """The webhooks worker (see the module's docstring)."""

    name = "webhooks"

    def __init__(
        self,
        webhooks: WebhookRegistry,
        deliveries: DeliveryQueue,
        cursors: Cursors,
        *,
        client: httpx.AsyncClient | None = None,
        # Up to ~2 hours of retries (full jitter, 30 s doubling to 1 h) before parking: a
        # receiver down for a few minutes loses nothing.
        max_attempts: int = 10,
        backoff: tuple[float, float] = (30.0, 3600.0),
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        batch: int = 50,
        lease: float = 30.0,
        allow_private: bool = False,
    ) -> None:
        self._webhooks = webhooks
        # The webhooks of the sites a batch's events belong to, read once per batch.
        self._hooks: Prepared[str, list[Webhook]] = Prepared(webhooks.of_site)
        self._deliveries = deliveries
        self._cursors = cursors
        self._allow_private = allow_private
        self._owns_client = client is None
        self._client = client
        self._max_attempts = max(1, max_attempts)
        self._backoff = backoff
        self._timeout = timeout
        self._clock = clock
        self._batch = batch
        self._lease = lease
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        # Set when handle() queues something, so the sender need not wait for its next look.
        self._queued = asyncio.Event()
        # The earliest retry this copy scheduled and has not yet reached.
        self._soonest: float | None = None
        self.sent = 0

    async def aclose(self) -> None:
        """Close the HTTP client (only if this worker made it)."""
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        """The client given, else one made at the first delivery: a process that never
        delivers a webhook (most servers) does not load httpx."""
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(
                timeout=self._timeout,
                follow_redirects=False,
                headers={"User-Agent": USER_AGENT},
            )
        return self._client

    # -- the handler -------------------------------------------------------------------

    async def prepare(self, entries: Sequence[LogEntry]) -> None:
        await self._hooks.load(entry.site for entry in entries)

    async def handle(self, entry: LogEntry) -> None:
        """Queue one delivery per webhook of the event's site that wants the event's type."""
        hooks = await self._hooks.get(entry.site)
        if not hooks:
            return
        kind = _tagged.decode(entry.payload).type
        now = self._clock()
        wanted = [
            Delivery(
                id=f"{hook.id}:{entry.position}",
                webhook_id=hook.id,
                position=entry.position,
                site=entry.site,
                thread=entry.thread,
                payload=entry.payload,
                next_at=now,
            )
            for hook in hooks
            if not hook.events or kind in hook.events
        ]
        if wanted:
            await self._deliveries.enqueue(wanted)
            self._queued.set()

    # -- the sender --------------------------------------------------------------------

    async def deliver_due(self) -> int:
        """Send the deliveries due now (at most one batch); returns how many were accepted."""
        return (await self._deliver_batch())[1]

    async def deliver_forever(self, wake: asyncio.Event | None = None, idle: float = 1.0) -> None:
        """Send due deliveries until cancelled, while this copy holds the sender's lease.

        When nothing is due it waits `idle` seconds, or less: until a retry it scheduled falls
        due, `handle` queues a delivery, or `wake` is set (the loop clears it).
        """
        renew_at = 0.0
        failures = 0
        try:
            while True:
                now = self._clock()
                if now >= renew_at:
                    if not await self._cursors.lease(
                        SENDER_LEASE, self._owner, now + self._lease, now
                    ):
                        # Another copy sends; take over if its lease lapses. (Not woken by
                        # new deliveries: they are the other copy's to send.)
                        await asyncio.sleep(self._lease / 3)
                        continue
                    renew_at = now + self._lease / 3
                try:
                    tried, _ = await self._deliver_batch()
                except Exception:
                    failures += 1
                    log.exception("webhooks: sending failed; trying again")
                    await asyncio.sleep(min(60.0, 0.5 * 2 ** min(failures - 1, 16)))
                    continue
                failures = 0
                if tried < self._batch:
                    await self._pause(self._wait_for(idle), wake)
        finally:
            # Give the lease back, so another copy need not wait for it to lapse.
            with contextlib.suppress(Exception):
                await self._cursors.lease(SENDER_LEASE, self._owner, 0.0, self._clock())

    def _wait_for(self, idle: float) -> float:
        if self._soonest is None:
            return idle
        left = self._soonest - self._clock()
        if left <= 0:
            self._soonest = None
            return 0.0
        return min(idle, left)

    async def _pause(self, seconds: float, wake: asyncio.Event | None) -> None:
        waiters = [asyncio.ensure_future(self._queued.wait())]
        if wake is not None:
            waiters.append(asyncio.ensure_future(wake.wait()))
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        # Cleared before the next look at the queue, so nothing queued meanwhile is missed.
        self._queued.clear()
        if wake is not None:
            wake.clear()

    async def _deliver_batch(self) -> tuple[int, int]:
        """(deliveries tried, deliveries accepted) for one batch of due deliveries."""
        due = await self._deliveries.due(self._clock(), self._batch)
        if not due:
            return 0, 0
        hooks: dict[str, Webhook | None] = {}
        for delivery in due:
            if delivery.webhook_id not in hooks:
                hooks[delivery.webhook_id] = await self._webhooks.get(delivery.webhook_id)
        outcomes = await asyncio.gather(
            *(self._attempt(d, hooks[d.webhook_id]) for d in due), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        accepted = sum(1 for outcome in outcomes if outcome is True)
        self.sent += accepted
        return len(due), accepted

    async def _attempt(self, delivery: Delivery, hook: Webhook | None) -> bool:
        """Send one delivery and record the outcome; True if the receiver accepted it."""
        attempts = delivery.attempts + 1
        # Retrying cannot help a removed webhook or a refused address: parked at once.
        final = True
        if hook is None:
            error: str | None = "the webhook was removed"
        else:
            try:
                target = await self._pin(hook.url)
            except destinations.Refused as exc:
                error = _printable(f"not sent: {exc}")
            except (OSError, TimeoutError) as exc:
                final = False
                error = _printable(f"cannot resolve the webhook's host: {str(exc) or 'timed out'}")
            else:
                final = False
                error = await self._post(delivery, hook, target)
        now = self._clock()
        if error is None:
            await self._deliveries.settle(delivery.id, "sent", attempts, now, None)
            return True
        if final or attempts >= self._max_attempts:
            log.warning(
                "webhooks: delivery %s parked after %d attempts: %s", delivery.id, attempts, error
            )
            await self._deliveries.settle(delivery.id, "parked", attempts, now, error)
            return False
        next_at = now + backoff(delivery.attempts, *self._backoff)
        await self._deliveries.settle(delivery.id, "pending", attempts, next_at, error)
        if self._soonest is None or next_at < self._soonest:
            self._soonest = next_at
        return False

    async def _pin(self, url: str) -> destinations.Pinned:
        async with asyncio.timeout(self._timeout):
            return await destinations.pin(
                url, allow_private=self._allow_private, what="the webhook URL"
            )

    async def _post(
        self, delivery: Delivery, hook: Webhook, target: destinations.Pinned
    ) -> str | None:
        """POST a delivery once, to the checked address; None on a 2xx answer, else what went
        wrong."""
        try:
            kind, body = body_of(delivery)
        except msgspec.DecodeError as exc:
            return f"the stored event is not JSON: {exc}"
        headers = {
            "Content-Type": "application/json",
            "X-Livethread-Event": kind,
            "X-Livethread-Delivery": delivery.id,
            "X-Livethread-Signature": signature_header(hook.secret, int(self._clock()), body),
            "Host": target.host_header,
        }
        try:
            # The client's timeout bounds each step; this bounds a receiver that drips.
            async with (
                asyncio.timeout(self._timeout * 2),
                self._http().stream(
                    "POST",
                    target.url,
                    content=body,
                    headers=headers,
                    extensions={"sni_hostname": target.server_name},
                ) as answer,
            ):
                status = answer.status_code
        except TimeoutError:
            return "timed out"
        except Exception as exc:
            # Whatever goes wrong on the way (refused, reset, a URL httpx rejects) is a failed
            # attempt of this delivery, never a failure of the batch.
            return _printable(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        if 200 <= status < 300:
            return None
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        return f"HTTP {status} {phrase}".rstrip()
