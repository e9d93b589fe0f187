"""What a comment is: the records the store keeps and the shapes readers see.

This module is part of the contract room: it imports nothing of ours. Records carry private
fields (email, edit-token hash); public shapes never do, and the only way from one to the other
is `public()`, so a reader-facing answer cannot leak what it was never given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Literal

import msgspec

# visible: shown to readers. pending: held for a moderator (pre-moderation).
# removed: taken down by a moderator (body kept so a moderator can restore it).
# deleted: withdrawn by its author (body erased for good).
Status = Literal["visible", "pending", "removed", "deleted"]
PublicStatus = Literal["visible", "pending", "removed"]

ANONYMOUS = "Anonymous"


class Site(msgspec.Struct, frozen=True, kw_only=True):
    """A publisher: its comment threads, allowed origins and moderation policy."""

    name: str
    origins: tuple[str, ...] = ()
    premoderate: bool = False


# What a moderator's token makes them on their site: both moderate; an admin will also run the
# site (issue 18). Each is shown as a badge on what they post with it.
ModeratorRole = Literal["moderator", "admin"]


class Moderator(msgspec.Struct, frozen=True, kw_only=True):
    """Someone who may moderate one site; authenticated by a bearer token kept only as a hash."""

    name: str
    site: str
    role: ModeratorRole = "moderator"


class ThreadKey(msgspec.Struct, frozen=True, order=True):
    """Which thread: a site's name and the thread's id, checked once where they enter
    (`validation.validate_ids`, the post's schema, the command line) and then carried whole."""

    site: str
    thread: str

    def __str__(self) -> str:
        return f"{self.site}/{self.thread}"


class ThreadMeta(msgspec.Struct, frozen=True, kw_only=True):
    """What a thread is about: its article's title and URL ("" while not known). Plain text and
    a normalised absolute URL on one of its site's origins, checked before they are stored."""

    title: str = ""
    url: str = ""


class ThreadState(msgspec.Struct, frozen=True, kw_only=True):
    """A thread's position in its event log, whether it accepts posts, and its metadata."""

    site: str
    thread: str
    seq: int = 0
    locked: bool = False
    title: str = ""
    url: str = ""
    # The article's byline author, as the operator named them ("" when not set): their
    # comments, posted with their moderator token or account, carry the "author" badge.
    byline: str = ""

    @property
    def meta(self) -> ThreadMeta:
        return ThreadMeta(title=self.title, url=self.url)


class CommentRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A comment as stored, private fields included. Never sent to readers as is."""

    id: str
    site: str
    thread: str
    parent: str | None
    author_name: str
    author_email: str | None = None
    author_url: str | None = None
    body_source: str
    body_html: str
    status: Status = "visible"
    created_at: float
    edited_at: float | None = None
    edit_token_hash: str | None = None
    pinned: bool = False
    reason: str | None = None
    # The author asked to be emailed about replies (only ever True with an author_email).
    notify: bool = False
    # Why a visible comment awaits a moderator's look (auto-moderation's suspect words, a
    # classifier); None when it is not flagged. Never shown to readers.
    flag: str | None = None
    # Who made the last hold, flag or removal: a moderator's name, or "automod:RULE".
    decided_by: str | None = None
    # An author's edit of a visible comment that waits for a moderator: readers keep seeing
    # body_html until it is approved (then it replaces the body) or rejected (then it goes).
    pending_body_source: str | None = None
    pending_body_html: str | None = None
    # A signed-in author (server/accounts): their publisher's account id (private), the public
    # key readers see in its place (a keyed hash: the same for each of their comments, telling
    # nothing of the id) and their avatar's URL. None for an anonymous author.
    account: str | None = None
    author_key: str | None = None
    author_avatar: str | None = None
    # What the author was when they posted it, shown beside their name: "admin", "moderator",
    # "staff", "author" (the article's byline). Set at post time, from a moderator's token or
    # the roles an account's site trusts; empty for everyone else.
    author_badges: tuple[str, ...] = ()
    # The poster's client address as a keyed hash (`limits.Addresses`), so a moderator can ban
    # the address a comment came from; cleared once older than the deployment's address
    # retention (server/moderation/retention.py). Private, like the email.
    author_address: str | None = None
    # Posted under a shadow-ban: held ("pending") out of every reader's sight but its author's,
    # who is shown it as published (server/moderation/bans.py).
    shadow: bool = False
    # The language the author's request asked for (a code of server/language/supported.py):
    # their reply and confirmation mails are written in it. Private; "en" for older comments.
    lang: str = "en"

    @property
    def key(self) -> ThreadKey:
        return ThreadKey(self.site, self.thread)


def in_review(record: CommentRecord) -> bool:
    """Whether a comment is in its site's review queue: held (pending), or published with a
    flag or with an edit that waits for a moderator. The one statement of the rule: stores keep
    its answer beside each row (stores only read and write rows)."""
    if record.status == "pending":
        return True
    return record.status == "visible" and (
        record.flag is not None or record.pending_body_html is not None
    )


def counted(record: CommentRecord) -> bool:
    """Whether a comment counts in its thread's comment count: readers can see it."""
    return record.status == "visible"


class Author(msgspec.Struct, frozen=True, kw_only=True):
    """The public face of a comment's author: a name and, if given, a website; for a signed-in
    author also their avatar and `key`, the same on each of their comments (so a widget knows
    its reader's own), never their account id."""

    name: str
    url: str | None = None
    avatar: str | None = None
    key: str | None = None
    badges: tuple[str, ...] = ()


class PublicComment(msgspec.Struct, frozen=True, kw_only=True):
    """A comment as readers see it. A tombstone has status "removed" and no author or html."""

    id: str
    parent: str | None
    status: PublicStatus
    author: Author | None
    html: str | None
    created: datetime
    edited: datetime | None = None
    pinned: bool = False


class PendingEdit(PublicComment, frozen=True, kw_only=True):
    """A comment whose html is an edit awaiting a moderator, which readers do not see yet: only
    in its author's answer and the moderators' queue (a subclass, so no reader's frame ever
    carries the field)."""

    pending_edit: bool = True


class ThreadSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """`GET /api/v1/threads`: every comment a reader may see, oldest first, at one seq."""

    site: str
    thread: str
    seq: int
    count: int
    locked: bool
    comments: list[PublicComment]
    # Seconds an author may edit or delete a comment after posting (the widget shows the
    # buttons only that long).
    edit_window: int = 900
    # True when the caller's moderator token made held and removed comments visible.
    moderator: bool = False
    # The article's title and URL, "" while the thread has none (server/threads/meta.py).
    title: str = ""
    url: str = ""


PageOrder = Literal["oldest", "newest", "best"]


class ThreadPage(ThreadSnapshot, frozen=True, kw_only=True):
    """`GET /api/v1/threads?page=1`: the snapshot's fields, with `comments` holding a page of
    top-level comments in `order`, each followed by its replies (oldest first)."""

    order: PageOrder
    # The `after` cursors of the following page (null at the end) and of the page before
    # (null on the first).
    next: str | None
    prev: str | None
    # Top-level comments in the whole thread (pinned ones included), for "N more".
    top_level: int


def _time(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def readable(record: CommentRecord) -> CommentRecord:
    """The record with only what a reader's view is made of (`CommentReads.readable`)."""
    return msgspec.structs.replace(
        record,
        author_email=None,
        body_source="",
        edit_token_hash=None,
        reason=None,
        notify=False,
        flag=None,
        decided_by=None,
        pending_body_source=None,
        pending_body_html=None,
        account=None,
        author_address=None,
        shadow=False,
        lang="en",
    )


def public(record: CommentRecord) -> PublicComment:
    """The reader-facing shape of a record; removed and deleted comments become tombstones."""
    if record.status in ("removed", "deleted"):
        return PublicComment(
            id=record.id,
            parent=record.parent,
            status="removed",
            author=None,
            html=None,
            created=_time(record.created_at),
        )
    status: PublicStatus = "pending" if record.status == "pending" else "visible"
    return PublicComment(
        id=record.id,
        parent=record.parent,
        status=status,
        author=Author(
            name=record.author_name,
            url=record.author_url,
            avatar=record.author_avatar,
            key=record.author_key,
            badges=record.author_badges,
        ),
        html=record.body_html,
        created=_time(record.created_at),
        edited=None if record.edited_at is None else _time(record.edited_at),
        pinned=record.pinned,
    )


def tombstone(record: CommentRecord) -> PublicComment:
    """The comment as readers see it once removed: no author, no html, same id and place."""
    return public(msgspec.structs.replace(record, status="removed"))


def shown(record: CommentRecord) -> PublicComment:
    """What readers may see of a comment now: the comment every stored event of it carries."""
    return public(record) if record.status == "visible" else tombstone(record)


def with_pending_edit(record: CommentRecord) -> PublicComment:
    """The comment with its edit awaiting approval, if any: for its author and moderators."""
    if record.pending_body_html is None or record.status in ("removed", "deleted"):
        return public(record)
    published = public(record)
    return PendingEdit(
        id=published.id,
        parent=published.parent,
        status=published.status,
        author=published.author,
        html=record.pending_body_html,
        created=published.created,
        edited=published.edited,
        pinned=published.pinned,
    )


def thread_snapshot(
    site: str,
    thread: str,
    state: ThreadState,
    records: Iterable[CommentRecord],
    *,
    edit_window: int,
    moderator: bool = False,
) -> ThreadSnapshot:
    """The thread at `state`, as readers see it (or as its site's moderators do)."""
    comments = moderator_view(records) if moderator else reader_view(records)
    return ThreadSnapshot(
        site=site,
        thread=thread,
        seq=state.seq,
        count=visible_count(comments),
        locked=state.locked,
        comments=comments,
        edit_window=edit_window,
        moderator=moderator,
        title=state.title,
        url=state.url,
    )


def reader_view(records: Iterable[CommentRecord]) -> list[PublicComment]:
    """What readers see of a thread, oldest first.

    Visible comments are shown; a removed or deleted comment is kept as a tombstone only while
    something shown hangs below it, so replies keep their place. Pending comments are hidden.
    """
    ordered = _oldest_first(records)
    shown = _with_tombstones(ordered, counted)
    return [public(r) for r in ordered if r.id in shown and r.status != "pending"]


def moderator_view(records: Iterable[CommentRecord]) -> list[PublicComment]:
    """What a moderator of the thread's site sees: also held comments, and removed ones with
    their text (so a removal can be judged and undone). Author-deleted text stays erased."""
    ordered = _oldest_first(records)
    shown = _with_tombstones(ordered, lambda r: r.status != "deleted")
    return [_moderated(r) for r in ordered if r.id in shown]


def _moderated(record: CommentRecord) -> PublicComment:
    if record.status != "removed":
        return public(record)
    return msgspec.structs.replace(
        public(msgspec.structs.replace(record, status="visible")), status="removed"
    )


def _oldest_first(records: Iterable[CommentRecord]) -> list[CommentRecord]:
    return sorted(records, key=lambda r: (r.created_at, r.id))


def _with_tombstones(
    ordered: list[CommentRecord], shows: Callable[[CommentRecord], bool]
) -> set[str]:
    """Ids of the comments `shows` keeps, plus every ancestor of one (as a tombstone)."""
    by_id = {r.id: r for r in ordered}
    shown: set[str] = set()
    # Replies are newer than their parents, so walking newest first settles every
    # child before its parent and one pass decides each tombstone.
    for record in reversed(ordered):
        if shows(record) or record.id in shown:
            shown.add(record.id)
            if record.parent is not None and record.parent in by_id:
                shown.add(record.parent)
    return shown


def visible_count(comments: Iterable[PublicComment]) -> int:
    """The number a reader sees in the header: the comments `counted` counts (a reader's view
    holds no others but tombstones, which are not counted)."""
    return sum(1 for c in comments if c.status == "visible")
