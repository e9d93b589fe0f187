"""A reader's snapshot in pages: top-level comments in an order, each with all its replies.

Pages are cut from the thread as the per-seq cache holds it (snapshots.py), never re-read from
the store. "oldest" and "newest" go on with keyset cursors (the last top-level comment's time and
id), so comments posted between two requests neither repeat nor skip one; "best" moves with
every like (no seq marks that), so it goes on by offset and is ranked afresh for each request.
Pinned comments come first in every order, as in the widget (client-js/src/order.js).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import gzip
from datetime import UTC, datetime, timedelta
from typing import get_args

import msgspec

from server.errors import Invalid
from server.model import PageOrder, PublicComment, ThreadPage, ThreadSnapshot
from server.threads.ranking import best

ORDERS: tuple[PageOrder, ...] = get_args(PageOrder)
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
GZIP_LEVEL = 6
# Under this a page is zipped on the event loop: a worker thread's hop would cost more.
INLINE_GZIP_BYTES = 64 * 1024

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_encoder = msgspec.json.Encoder()
# A cursor: [order] (the first page), [order, offset] ("best"), [order, pinned, µs, id].
_Cursor = tuple[str] | tuple[str, int] | tuple[str, int, int, str]
_cursor_decoder = msgspec.json.Decoder(list[str | int])


class Root:
    """A top-level comment and, after it, every reply below it (oldest first)."""

    __slots__ = ("comments", "id", "pinned", "us")

    def __init__(self, comment: PublicComment) -> None:
        self.id = comment.id
        self.pinned = 0 if comment.pinned else 1  # sorts pinned first
        self.us = (comment.created - _EPOCH) // _MICROSECOND
        self.comments = [comment]


class Tree:
    """A snapshot's comments under their top-level ancestors, built once per cached snapshot."""

    def __init__(self, snapshot: ThreadSnapshot) -> None:
        self.snapshot = snapshot
        by_id = {c.id: c for c in snapshot.comments}
        self.root_of: dict[str, Root] = {}
        self.roots: list[Root] = []
        for comment in snapshot.comments:  # oldest first, so replies stay so under their root
            top = comment
            # A reply whose parent readers cannot see (still pending) stands as its own root.
            while top.parent is not None and top.parent in by_id:
                top = by_id[top.parent]
            root = self.root_of.get(top.id)
            if root is None:
                root = self.root_of[top.id] = Root(top)
                self.roots.append(root)
            if comment is not top:
                root.comments.append(comment)
            self.root_of[comment.id] = root
        self._sorted: dict[str, list[Root]] = {}

    def ordered(self, order: PageOrder, likes: dict[str, int], now_ms: int) -> list[Root]:
        if order == "best":  # never kept: likes move without a seq
            return sorted(
                self.roots,
                key=lambda r: (r.pinned, -best(likes.get(r.id, 0), r.us // 1000, now_ms), r.us),
            )
        found = self._sorted.get(order)
        if found is None:
            found = sorted(self.roots, key=lambda r: (r.us, r.id), reverse=order == "newest")
            found.sort(key=lambda r: r.pinned)  # stable: pinned first, each in the order
            self._sorted[order] = found
        return found


def page(
    tree: Tree,
    order: PageOrder,
    limit: int,
    *,
    after: str | None = None,
    around: str | None = None,
    likes: dict[str, int] | None = None,
    now_ms: int = 0,
) -> ThreadPage:
    """The page after the `after` cursor (the first without one), or the one holding `around`
    (the first if readers cannot see that comment)."""
    roots = tree.ordered(order, likes or {}, now_ms)
    if around is not None:
        # A link to a comment readers no longer see (removed, held, never there) opens the
        # thread at its top: the reader followed a link, not asked for an error.
        root = tree.root_of.get(around)
        start = 0 if root is None else roots.index(root) // limit * limit
    else:
        start = _start(order, roots, after)
    # The page before ends where this one begins; near the top it may reach into this one (a
    # keyset cursor starts anywhere), which only repeats comments a widget shows once.
    prev = _cursor_at(order, roots, max(0, start - limit)) if start else None
    shown = roots[start : start + limit]
    end = start + len(shown)
    snapshot = tree.snapshot
    return ThreadPage(
        site=snapshot.site,
        thread=snapshot.thread,
        seq=snapshot.seq,
        count=snapshot.count,
        locked=snapshot.locked,
        comments=[c for root in shown for c in root.comments],
        edit_window=snapshot.edit_window,
        title=snapshot.title,
        url=snapshot.url,
        order=order,
        next=_cursor_at(order, roots, end) if end < len(roots) else None,
        prev=prev,
        top_level=len(roots),
    )


async def encoded(answer: ThreadPage, zipped: bool) -> bytes:
    body = _encoder.encode(answer)
    if not zipped:
        return body
    if len(body) < INLINE_GZIP_BYTES:
        return gzip.compress(body, GZIP_LEVEL, mtime=0)
    return await asyncio.to_thread(gzip.compress, body, GZIP_LEVEL, mtime=0)


def _cursor_at(order: PageOrder, roots: list[Root], start: int) -> str:
    """The cursor of the page that begins at `start`."""
    cursor: _Cursor
    if order == "best":
        cursor = (order, start)
    elif start == 0:
        cursor = (order,)
    else:
        last = roots[start - 1]
        cursor = (order, last.pinned, last.us, last.id)
    return base64.urlsafe_b64encode(_encoder.encode(cursor)).decode().rstrip("=")


def _start(order: PageOrder, roots: list[Root], after: str | None) -> int:
    if after is None:
        return 0
    cursor = _decoded(after)
    if cursor[0] != order:
        raise _bad_cursor(f"this cursor is for the {cursor[0]!r} order, not {order!r}")
    match cursor:
        case (_,):
            return 0
        case (_, int(offset)) if order == "best" and offset >= 0:
            return offset
        case (_, int(pinned), int(us), str(last)) if order != "best":
            at = (pinned, us, last)
            for i, root in enumerate(roots):
                here = (root.pinned, root.us, root.id)
                if root.pinned != pinned:
                    if root.pinned > pinned:
                        return i
                elif (here > at) if order == "oldest" else (here < at):
                    return i
            return len(roots)
    raise _bad_cursor("not a cursor this API gave")


def _decoded(after: str) -> tuple[str | int, ...]:
    try:
        raw = base64.urlsafe_b64decode(after + "=" * (-len(after) % 4))
        cursor = tuple(_cursor_decoder.decode(raw))
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise _bad_cursor("not a cursor this API gave") from None
    if not cursor or cursor[0] not in ORDERS:
        raise _bad_cursor("not a cursor this API gave")
    return cursor


def _bad_cursor(why: str) -> Invalid:
    return Invalid(f"Bad cursor in after: {why}", {"after": why})
