"""The automod worker: asks a site's external classifier about each new comment, after it is
published, and holds the ones it calls spam.

The cheap rules run at post time (server/moderation/automod.py); a classifier is a network call that
may be slow or down, so it runs here, never in a reader's request. A "spam" answer holds the comment
through the same use-case a moderator's decision takes (`Comments.moderate(..., "hold")`): it
disappears from every open page and appears in the moderators' queue with the reason.

Two protocols (the site's `classifier_kind`):

- `json`: `POST URL` with a JSON body `{site, thread, id, parent, author: {name, email, url},
  body, html, created}`; the answer is `{"spam": true|false, "reason"?: "..."}`.
- `akismet`: Akismet's `comment-check`: a form POST (`api_key`, `blog`, `comment_type`,
  `comment_author`, `comment_author_email`, `comment_author_url`, `comment_content`,
  `comment_date_gmt`, `user_ip` empty: addresses are not kept); the answer body is `true` (spam)
  or `false`.

A classifier that fails (no answer within the timeout, a non-2xx status, an answer that is not
one of the above) is asked again with backoff; after the last attempt the worker gives up on
that comment, which stays published (a moderator can still remove it), and goes on with the
log: a classifier that is down never stops the worker nor the other workers.

Only public addresses are asked: before each request the URL's host is resolved and checked, and
the request goes to the checked address (server/destinations.py). A classifier URL that is (or
now resolves to) a loopback, private, link-local, multicast or unspecified address is not asked
at all (no retries): the comment stays published and the log says why, unless
LIVETHREAD_ALLOW_PRIVATE_HOOKS=1.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import msgspec

from server import destinations
from server.errors import Refusal
from server.model import CommentRecord, Moderator
from server.moderation.ports import RuleBook
from server.moderation.rules import Rules
from server.threads.comments import Comments
from server.threads.ports import CommentReads, LogEntry
from workers.prepared import Prepared

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

USER_AGENT = "livethread-automod/1"
# Who the hold is recorded as (`decided_by`), and shown to moderators.
CLASSIFIER = "automod:classifier"


class _Created(msgspec.Struct):
    """Just enough of an event to tell a new comment's id."""

    type: str = ""
    comment: dict[str, object] | None = None


class _JsonVerdict(msgspec.Struct):
    spam: bool
    reason: str | None = None


class ClassifierError(Exception):
    """The classifier gave no usable answer."""


class ClassifierRefused(ClassifierError):
    """The classifier's URL points at an address livethread does not send to: not retried."""


_created = msgspec.json.Decoder(_Created)
_verdict = msgspec.json.Decoder(_JsonVerdict)
_encoder = msgspec.json.Encoder()


class ClassifierWorker:
    """The automod worker's handler (see the module's docstring)."""

    name = "automod"

    def __init__(
        self,
        rules: RuleBook,
        reads: CommentReads,
        comments: Comments,
        *,
        client: httpx.AsyncClient | None = None,
        attempts: int = 3,
        backoff: tuple[float, float] = (0.5, 5.0),
        timeout: float = 5.0,
        allow_private: bool = False,
    ) -> None:
        # The rules of the sites a batch's events belong to, read once per batch.
        self._rules: Prepared[str, Rules] = Prepared(rules.get)
        self._reads = reads
        self._allow_private = allow_private
        self._timeout = timeout
        self._comments = comments
        self._owns_client = client is None
        self._client = client
        self._attempts = max(1, attempts)
        self._backoff = backoff
        # Comments the classifier was asked about, held, and given up on (for tests and logs).
        self.checked = 0
        self.held = 0
        self.unchecked = 0

    async def aclose(self) -> None:
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        """The client given, else one made at the first call: a process whose sites have no
        classifier does not load httpx."""
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(
                timeout=self._timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT}
            )
        return self._client

    async def prepare(self, entries: Sequence[LogEntry]) -> None:
        await self._rules.load(entry.site for entry in entries)

    async def handle(self, entry: LogEntry) -> None:
        """Ask the classifier about a new visible comment; hold it if it says spam."""
        # The site's rules first: most sites have no classifier, and then nothing is decoded.
        rules = await self._rules.get(entry.site)
        if rules is None or rules.classifier_url is None:
            return
        try:
            event = _created.decode(entry.payload)
        except msgspec.DecodeError:
            return
        if event.type != "comment.created" or event.comment is None:
            return
        comment_id = event.comment.get("id")
        if not isinstance(comment_id, str):
            return
        record = await self._reads.get(comment_id)
        # Handled before (at least once), or a moderator or its author got there first.
        if record is None or record.status != "visible":
            return
        try:
            spam, why = await self._ask(rules, record)
        except ClassifierError as exc:
            self.unchecked += 1
            log.warning("classifier gave up on comment %s: %s; it stays published", record.id, exc)
            return
        self.checked += 1
        if not spam:
            return
        reason = "the site's spam classifier says spam" + (f": {why}" if why else "")
        try:
            await self._comments.moderate(
                record.id, "hold", Moderator(name=CLASSIFIER, site=record.site), reason=reason
            )
        except Refusal as exc:
            # Deleted or removed meanwhile: nothing left to hold.
            log.info("classifier verdict on %s not applied: %s", record.id, exc.message)
            return
        self.held += 1

    async def _ask(self, rules: Rules, record: CommentRecord) -> tuple[bool, str | None]:
        # Here, not at import: only a site with a classifier needs httpx (its errors, below).
        import httpx

        low, high = self._backoff
        problem = "no attempt"
        for attempt in range(self._attempts):
            if attempt:
                await asyncio.sleep(min(high, low * 2 ** (attempt - 1)))
            try:
                return await self._once(rules, record)
            except ClassifierRefused:
                raise
            except (httpx.HTTPError, OSError, ClassifierError) as exc:
                problem = f"{type(exc).__name__}: {exc}"[:300]
                log.info("classifier attempt %d for %s failed: %s", attempt + 1, record.id, problem)
        raise ClassifierError(f"{self._attempts} attempts failed, the last with {problem}")

    async def _once(self, rules: Rules, record: CommentRecord) -> tuple[bool, str | None]:
        assert rules.classifier_url is not None
        try:
            async with asyncio.timeout(self._timeout):
                target = await destinations.pin(
                    rules.classifier_url, allow_private=self._allow_private, what="--classifier-url"
                )
        except destinations.Refused as exc:
            raise ClassifierRefused(f"not asked: {exc}") from None
        if rules.classifier_kind == "akismet":
            form = {
                "api_key": rules.classifier_key or "",
                "blog": record.site,
                "user_ip": "",
                "comment_type": "comment",
                "comment_author": record.author_name,
                "comment_author_email": record.author_email or "",
                "comment_author_url": record.author_url or "",
                "comment_content": record.body_source,
                "comment_date_gmt": _iso(record.created_at),
            }
            answer = await self._http().post(
                target.url,
                data=form,
                headers={"Host": target.host_header},
                extensions={"sni_hostname": target.server_name},
            )
            answer.raise_for_status()
            text = answer.text.strip()
            if text not in ("true", "false"):
                raise ClassifierError(f"Akismet answer {text[:40]!r} is neither true nor false")
            return text == "true", None
        body = _encoder.encode(
            {
                "site": record.site,
                "thread": record.thread,
                "id": record.id,
                "parent": record.parent,
                "author": {
                    "name": record.author_name,
                    "email": record.author_email,
                    "url": record.author_url,
                },
                "body": record.body_source,
                "html": record.body_html,
                "created": _iso(record.created_at),
            }
        )
        answer = await self._http().post(
            target.url,
            content=body,
            headers={"Content-Type": "application/json", "Host": target.host_header},
            extensions={"sni_hostname": target.server_name},
        )
        answer.raise_for_status()
        try:
            verdict = _verdict.decode(answer.content)
        except msgspec.DecodeError as exc:
            raise ClassifierError(f'answer is not {{"spam": bool}}: {exc}') from None
        return verdict.spam, verdict.reason


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()
