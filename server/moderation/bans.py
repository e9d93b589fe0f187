"""Moderating people: bans, suspensions and shadow-bans, made, screened and lifted.

A ban names a person on one site by their account, their email or the keyed hash of a client
address (`ports.Ban`). Every post and author's edit by someone who is not a moderator is
screened against the bans on its author's keys (`screen`): a ban refuses it (403, code
"banned"), a suspension refuses it until its end, and a shadow-ban lets it be stored held
(`pending`, `shadow` set) so that no reader, count, snapshot, feed or worker ever sees it,
while its author is shown it as published: in the post's answer, and on their sockets as
`comment.own` frames, live and on every reconnect (server/threads/own.py).

An address ban lasts no longer than addresses are kept (`Settings.address_retention_days`):
the hash is personal data, and an address passes to someone else in time.

Making a ban may also remove the person's comments in the thread or the whole site, each one a
moderator's removal (`Comments.moderate`), so open pages see them go live.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Literal

import msgspec

from server import channels, events
from server.bus import Bus
from server.errors import Forbidden, Invalid, NotFound
from server.language.text import Moment, Text
from server.model import CommentRecord, Moderator, PublicComment, public
from server.moderation.ports import AuditEntry, AuditLog, Ban, BanKey, BanMode, Bans
from server.threads.ports import CommentReads

log = logging.getLogger(__name__)

# What a shadow comment's moderators are told in the queue.
SHADOW_REASON = "shadow-banned author"
# A ban's removal reads the person's comments this many at a time.
REMOVAL_BATCH = 100
# Most comments one ban removes: a bound on one request's work.
REMOVAL_MAX = 10_000
REASON_MAX = 500
VALUE_MAX = 320

Removal = Literal["none", "thread", "site"]
# `Comments.moderate`: a moderator's decision about one comment, published live.
Moderate = Callable[..., Awaitable[PublicComment]]


class Banned(Forbidden):
    """The author may not post here (now): banned, or suspended until a time."""

    code = "banned"


class BanRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`POST /api/v1/bans`: whom (a comment's author, by `key` or the best key it has when
    `key` is None; or a `key` and its `value`: an account id, an email, an IP address), how,
    until when, why, and whose comments to remove."""

    site: str
    comment: str | None = None
    key: BanKey | None = None
    value: str | None = None
    mode: BanMode = "ban"
    until: datetime | None = None
    reason: str | None = None
    remove: Removal = "none"
    # The thread whose comments `remove: "thread"` takes (a comment's own thread by default).
    thread: str | None = None


class BanView(msgspec.Struct, frozen=True, kw_only=True):
    """A ban as moderators read it (`GET /api/v1/bans`)."""

    id: int
    key: BanKey
    value: str
    mode: BanMode
    until: datetime | None
    reason: str | None
    by: str
    at: datetime
    label: str


def view(ban: Ban) -> BanView:
    return BanView(
        id=ban.id,
        key=ban.key,
        value=ban.value,
        mode=ban.mode,
        until=None if ban.until is None else _moment(ban.until),
        reason=ban.reason,
        by=ban.by,
        at=_moment(ban.at),
        label=ban.label,
    )


def keys_of(
    account: str | None, email: str | None, address: str | None
) -> list[tuple[BanKey, str]]:
    """The keys a person is known by, as bans store them (an email lower-cased)."""
    found: list[tuple[BanKey, str]] = []
    if account:
        found.append(("account", account))
    if email:
        found.append(("email", email.strip().lower()))
    if address:
        found.append(("address", address))
    return found


def strongest(found: Sequence[Ban]) -> Ban | None:
    """The ban that decides: a ban over a suspension (the longest) over a shadow-ban."""
    rank = {"ban": 0, "suspend": 1, "shadow": 2}
    if not found:
        return None
    return min(found, key=lambda b: (rank[b.mode], -(b.until or 0.0)))


async def screen(
    bans: Bans, site: str, keys: Sequence[tuple[BanKey, str]], now: float
) -> Ban | None:
    """Refuse (`Banned`) a post or edit by a banned or suspended author; the shadow-ban that
    applies, if any (None: nothing applies)."""
    if not keys:
        return None
    ban = strongest(await bans.matching(site, keys, now))
    if ban is None or ban.mode == "shadow":
        return ban
    if ban.mode == "suspend" and ban.until is not None:
        # The end is written as the reader's language writes dates (server/language/dates.py).
        raise Banned(Text("ban.suspended", until=Moment(ban.until)))
    raise Banned(Text("ban.banned"))


def as_shown_to_author(record: CommentRecord) -> PublicComment:
    """A shadow comment as its author sees it: published, like anyone else's."""
    return public(msgspec.structs.replace(record, status="visible"))


class Banning:
    """Making, listing and lifting a site's bans, each kept in the audit log and announced to
    the site's moderators' pages (`bans.changed`)."""

    def __init__(
        self,
        bans: Bans,
        audit: AuditLog,
        reads: CommentReads,
        bus: Bus,
        *,
        moderate: Moderate,
        address_key: Callable[[str], str],
        retention: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`moderate` removes one comment live (`Comments.moderate`); `address_key` hashes an IP
        address as the web edge does (`limits.Addresses.key`); `retention` is how long
        addresses are kept, in seconds."""
        self._bans = bans
        self._audit = audit
        self._reads = reads
        self._bus = bus
        self._moderate = moderate
        self._address_key = address_key
        self._retention = retention
        self._clock = clock

    async def ban(self, moderator: Moderator, wanted: BanRequest) -> tuple[Ban, int]:
        """Make (or replace) a ban; returns it and how many comments it removed."""
        _own_site(moderator, wanted.site)
        now = self._clock()
        found = None if wanted.comment is None else await self._comment(moderator, wanted)
        key, value = self._whom(wanted, found)
        until = _until(wanted, now)
        if key == "address":
            # An address is personal data and passes to others: never banned for longer.
            until = min(until or now + self._retention, now + self._retention)
        reason = _reason(wanted.reason)
        thread = wanted.thread or (None if found is None else found.thread)
        if wanted.remove == "thread" and thread is None:
            raise Invalid("Say which thread's comments to remove", {"thread": "required"})
        ban = await self._bans.put(
            Ban(
                site=wanted.site,
                key=key,
                value=value,
                mode=wanted.mode,
                until=until,
                reason=reason,
                by=moderator.name,
                at=now,
                label="" if found is None else found.author_name,
            )
        )
        await self._audit.append(
            AuditEntry(
                site=ban.site,
                at=now,
                by=moderator.name,
                action=ban.mode,
                thread=None if found is None else found.thread,
                comment_id=None if found is None else found.id,
                subject=f"{key}:{value}",
                reason=reason,
            )
        )
        await self._announce(ban.site)
        removed = 0
        if wanted.remove != "none":
            scope = thread if wanted.remove == "thread" else None
            removed = await self._remove(moderator, ban, scope)
        return ban, removed

    async def lift(self, moderator: Moderator, site: str, ban_id: int) -> Ban:
        _own_site(moderator, site)
        ban = await self._bans.lift(site, ban_id)
        if ban is None:
            raise NotFound("No such ban")
        await self._audit.append(
            AuditEntry(
                site=site,
                at=self._clock(),
                by=moderator.name,
                action="lift",
                subject=f"{ban.key}:{ban.value}",
                reason=f"lifted {ban.mode}",
            )
        )
        await self._announce(site)
        return ban

    async def of_site(self, moderator: Moderator, site: str) -> list[Ban]:
        _own_site(moderator, site)
        return await self._bans.of_site(site, self._clock())

    async def _comment(self, moderator: Moderator, wanted: BanRequest) -> CommentRecord:
        assert wanted.comment is not None
        found = await self._reads.get(wanted.comment)
        if found is None or found.site != wanted.site:
            raise NotFound("No such comment")
        return found

    def _whom(self, wanted: BanRequest, found: CommentRecord | None) -> tuple[BanKey, str]:
        """The key and value the ban names: from the comment's author, or as given."""
        if found is not None:
            known = dict(keys_of(found.account, found.author_email, found.author_address))
            if wanted.key is None:
                for key in ("account", "email", "address"):
                    if key in known:
                        return key, known[key]
                raise Invalid("This comment's author can no longer be told apart from others")
            if wanted.key not in known:
                raise Invalid(
                    _MISSING[wanted.key], {"key": f"the comment has no {wanted.key} to ban"}
                )
            return wanted.key, known[wanted.key]
        if wanted.key is None or not wanted.value or len(wanted.value) > VALUE_MAX:
            raise Invalid(
                "Say whom to ban: a comment, or a key and its value",
                {"value": f"an account id, email or IP address, at most {VALUE_MAX} characters"},
            )
        if wanted.key == "email":
            if "@" not in wanted.value:
                raise Invalid("That is not an email address", {"value": "an email address"})
            return "email", wanted.value.strip().lower()
        if wanted.key == "address":
            try:
                address = str(ipaddress.ip_address(wanted.value.strip()))
            except ValueError:
                raise Invalid("That is not an IP address", {"value": "an IP address"}) from None
            return "address", self._address_key(address)
        return "account", wanted.value

    async def _remove(self, moderator: Moderator, ban: Ban, thread: str | None) -> int:
        """Remove the person's visible and held comments (of one thread, or the site), each a
        moderator's removal published live; how many."""
        removed = 0
        tried: set[str] = set()
        while removed < REMOVAL_MAX:
            batch = await self._reads.authored(ban.site, ban.key, ban.value, thread, REMOVAL_BATCH)
            fresh = [c for c in batch if c.id not in tried]
            if not fresh:
                break
            for record in fresh:
                tried.add(record.id)
                await self._moderate(record.id, "remove", moderator, reason=_REMOVED[ban.mode])
                removed += 1
        return removed

    async def _announce(self, site: str) -> None:
        frame = events.encode_moderation(events.BansChanged(site=site))
        if not await self._bus.publish(channels.moderation(site), frame):
            log.warning("bus unavailable; a ban change on %s not announced", site)


_REMOVED = {"ban": "author banned", "suspend": "author suspended", "shadow": "author shadow-banned"}
_MISSING = {
    "account": "This comment's author has no account to ban",
    "email": "This comment's author left no email to ban",
    "address": "This comment's address is no longer kept (addresses are kept for a while only)",
}


def _own_site(moderator: Moderator, site: str) -> None:
    if moderator.site != site:
        raise Forbidden("Your moderator token is for another site")


def _until(wanted: BanRequest, now: float) -> float | None:
    if wanted.until is None:
        if wanted.mode == "suspend":
            raise Invalid("A suspension needs an end", {"until": "a date and time"})
        return None
    moment = wanted.until if wanted.until.tzinfo else wanted.until.replace(tzinfo=UTC)
    until = moment.timestamp()
    if until <= now:
        raise Invalid("The end must be in the future", {"until": "a future date and time"})
    return until


def _reason(reason: str | None) -> str | None:
    if reason is None or not reason.strip():
        return None
    if len(reason) > REASON_MAX:
        raise Invalid("The reason is too long", {"reason": f"at most {REASON_MAX} characters"})
    return reason.strip()


def _moment(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)
