"""The moderation room's storage ports: the review queue, each site's rules, readers' reports,
the audit log of decisions, and the bans on people (with the personal data they need kept only
for a while)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

import msgspec

from server.model import CommentRecord
from server.moderation.rules import Rules


class ReviewQueue(Protocol):
    """The comments awaiting a moderator."""

    async def queue(self, site: str, limit: int) -> list[CommentRecord]:
        """A site's comments that `model.in_review` holds in the queue, any thread, oldest
        first, at most `limit`."""
        ...


class RuleBook(Protocol):
    """Each site's auto-moderation rules."""

    async def put(self, site: str, rules: Rules) -> None:
        """Set a site's rules (StoreError if there is no such site)."""
        ...

    async def get(self, site: str) -> Rules | None:
        """A site's rules; None if never set (the defaults apply)."""
        ...


# Why a reader reports a comment.
ReportReason = Literal["spam", "abuse", "off_topic", "other"]


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """A reader's report of a comment. `reporter` is who reported, as an opaque key the core
    makes (a signed-in account's, else a keyed hash of the client's address): one reader's
    reports of one comment count once."""

    site: str
    thread: str
    comment_id: str
    reporter: str
    reason: ReportReason
    text: str | None = None
    at: float


class Reports(Protocol):
    """Readers' reports of comments."""

    async def add(self, report: Report) -> bool:
        """Keep the report; False (and nothing kept) if its reporter already reported that
        comment."""
        ...

    async def of_comment(self, comment_id: str) -> list[Report]:
        """Every report of a comment, oldest first."""
        ...


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One moderation decision: who (`by`: a moderator's name, "automod:RULE", "reports"),
    what (`action`), about which comment (and its thread) or which person (`subject`, e.g.
    "account:ID" or "email:ADDRESS"), when and why. `id` is the store's, in append order
    (0 before it is stored)."""

    id: int = 0
    site: str
    at: float
    by: str
    action: str
    thread: str | None = None
    comment_id: str | None = None
    subject: str | None = None
    reason: str | None = None


class AuditLog(Protocol):
    """Every moderation decision, append-only: nothing is ever changed or deleted."""

    async def append(self, entry: AuditEntry) -> AuditEntry:
        """Keep a decision that belongs to no thread's transaction (about a person, say);
        returns it with its id. (A comment's decisions are kept by its thread's transaction,
        `AuditWrites`, so they commit with the decision.)"""
        ...

    async def of_site(self, site: str, after: int, limit: int) -> list[AuditEntry]:
        """The site's entries with an id above `after`, in id order, at most `limit`."""
        ...

    async def newest(self, site: str, before: int | None, limit: int) -> list[AuditEntry]:
        """The site's entries with an id below `before` (from the last when None), newest
        first, at most `limit`: a moderator's page reads back from the latest."""
        ...

    async def of_comment(self, comment_id: str) -> list[AuditEntry]:
        """Every decision about a comment, in id order."""
        ...


# What a ban names a person by: a signed-in reader's account id, an email (lower-cased), or a
# keyed hash of a client address (`limits.Addresses`; the address itself is never kept).
BanKey = Literal["account", "email", "address"]
# ban: their posts are refused. suspend: refused until `until`. shadow: their new comments are
# kept out of every reader's sight but their own (server/moderation/bans.py).
BanMode = Literal["ban", "suspend", "shadow"]


class Ban(msgspec.Struct, frozen=True, kw_only=True):
    """A moderator's decision about a person on one site. `until` ends it (a suspension's end;
    an address ban's, which lasts no longer than addresses are kept); None: until lifted. `label`
    is how moderators recognise the person (the name on the comment it was made from). `id` is
    the store's (0 before it is stored)."""

    id: int = 0
    site: str
    key: BanKey
    value: str
    mode: BanMode
    until: float | None = None
    reason: str | None = None
    by: str
    at: float
    label: str = ""


class Bans(Protocol):
    """Each site's bans: at most one per person (key and value)."""

    async def put(self, ban: Ban) -> Ban:
        """Keep the ban, replacing the site's ban on the same key and value if there is one;
        returns it with its (new) id."""
        ...

    async def matching(
        self, site: str, keys: Sequence[tuple[BanKey, str]], now: float
    ) -> list[Ban]:
        """The site's bans on any of these (key, value) pairs that have not ended (`until` None
        or after `now`). An indexed lookup: every post asks."""
        ...

    async def of_site(self, site: str, now: float) -> list[Ban]:
        """The site's bans that have not ended, newest first."""
        ...

    async def lift(self, site: str, ban_id: int) -> Ban | None:
        """Delete one of the site's bans; the ban deleted, or None if the site has no such ban."""
        ...


class Expiry(Protocol):
    """Personal data kept only for a while, forgotten in bulk (server/moderation/retention.py)."""

    async def forget_addresses(self, before: float) -> int:
        """Clear the address hash of every comment (any site) created before `before`; how
        many comments had one."""
        ...

    async def forget_bans(self, before: float) -> int:
        """Delete every site's bans that ended before `before`; how many."""
        ...
