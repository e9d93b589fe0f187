"""The websocket wire contract (v1): server-to-client frames as one tagged union.

Every frame is a JSON object tagged by `type`. Durable events carry the thread's `seq`; they are
encoded once when committed, stored as those bytes, and sent as those bytes to every reader.
Schema evolution: a field added later must have a default, so old and new server processes can
exchange frames during a rolling deploy.
"""

from __future__ import annotations

from typing import Literal, TypeVar

import msgspec

from server.model import PublicComment

PROTOCOL_VERSION = 1
D = TypeVar("D")


class Frame(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Any server-to-client frame."""


class Hello(Frame, tag="hello", frozen=True):
    """First frame on a socket: the thread's current seq; replayed events follow."""

    site: str
    thread: str
    seq: int
    locked: bool
    version: int = PROTOCOL_VERSION


class CommentCreated(Frame, tag="comment.created", frozen=True):
    seq: int
    comment: PublicComment


class CommentEdited(Frame, tag="comment.edited", frozen=True):
    seq: int
    comment: PublicComment


class CommentRemoved(Frame, tag="comment.removed", frozen=True):
    """The comment is gone for readers; a client keeps a tombstone while replies hang below it."""

    seq: int
    id: str


class CommentRestored(Frame, tag="comment.restored", frozen=True):
    seq: int
    comment: PublicComment


class CommentApproved(Frame, tag="comment.approved", frozen=True):
    seq: int
    comment: PublicComment


class ThreadLocked(Frame, tag="thread.locked", frozen=True):
    seq: int


class ThreadUnlocked(Frame, tag="thread.unlocked", frozen=True):
    seq: int


class OwnComment(Frame, tag="comment.own", frozen=True):
    """A comment of the reader's own that other readers are not shown (a shadow-ban's): sent to
    its author's sockets only, without a seq, as it is no event of the thread's log
    (server/moderation/bans.py)."""

    comment: PublicComment


class ReactionCounts(msgspec.Struct, frozen=True, kw_only=True):
    """A comment's reaction counts by kind (kinds with none absent) and their `version`: of two
    readings of one comment, the larger version is the later."""

    id: str
    version: int
    counts: dict[str, int]


class Reactions(Frame, tag="reactions", frozen=True):
    """Reaction counts of some of the thread's comments: every one that has any right after
    `hello`, then those that changed, coalesced (server/reactions/reacting.py). State, not
    events: no seq; a page keeps, per comment, the counts of the highest version it saw."""

    comments: list[ReactionCounts]


class Presence(Frame, tag="presence", frozen=True):
    """How many readers the thread has now, across every process (server/threads/presence.py):
    sent when the number moved, at most every few seconds; advisory, not durable."""

    count: int


class Counts(Frame, tag="counts", frozen=True):
    """Visible-comment counts by thread, on `WS /ws/v1/counts` (index pages): every watched
    thread's right after the socket opens, then only those that changed, at most once a second
    (server/threads/counting.py). State, not events: no seq; the latest frame is the truth."""

    counts: dict[str, int]


class Resync(Frame, tag="resync", frozen=True):
    """The backlog after the client's seq cannot be served: reload the snapshot, then resume."""

    seq: int
    reason: str


class Error(Frame, tag="error", frozen=True):
    code: str
    message: str


DurableEvent = (
    CommentCreated
    | CommentEdited
    | CommentRemoved
    | CommentRestored
    | CommentApproved
    | ThreadLocked
    | ThreadUnlocked
)
ServerFrame = DurableEvent | Hello | OwnComment | Reactions | Presence | Counts | Resync | Error

EventType = Literal[
    "comment.created",
    "comment.edited",
    "comment.removed",
    "comment.restored",
    "comment.approved",
    "thread.locked",
    "thread.unlocked",
]


# -- the moderators' channel (WS /ws/v1/moderation) ------------------------------------------
# Not durable and not per thread: the queue is state, so a moderator's socket starts with the
# whole of it (`queue`) and then applies `queue.added` (insert or replace by comment id) and
# `queue.removed`. Applying either twice changes nothing, so a frame that arrives both in the
# first `queue` and live after it does no harm.

QueueState = Literal["pending", "flagged"]


class QueueItem(msgspec.Struct, frozen=True, kw_only=True):
    """A comment awaiting a moderator: held (pending, hidden from readers) or flagged (visible)."""

    site: str
    thread: str
    state: QueueState
    comment: PublicComment
    # Why it is here, for people ("3 links; at most 2 allowed"), and who decided
    # ("automod:links", a moderator's name), when known.
    reason: str | None = None
    by: str | None = None
    # True when what awaits is an edit of a published comment: `comment.html` is the new
    # text, and readers keep the approved one until a moderator decides.
    edit: bool = False
    # The moderators' actions offered on this item (server/moderation/actions.py's table).
    actions: tuple[str, ...] = ()


class Queue(Frame, tag="queue", frozen=True):
    """The site's whole queue, oldest first: the first frame after authenticating, and again
    whenever the server may have missed changes (its bus reconnected)."""

    site: str
    items: list[QueueItem]


class QueueAdded(Frame, tag="queue.added", frozen=True):
    item: QueueItem


class QueueRemoved(Frame, tag="queue.removed", frozen=True):
    """The comment left the queue (approved, rejected, removed, unflagged, deleted)."""

    id: str


class BansChanged(Frame, tag="bans.changed", frozen=True):
    """A ban of the site was made or lifted: a moderator's page reads the list again
    (`GET /api/v1/bans`)."""

    site: str


ModerationFrame = Queue | QueueAdded | QueueRemoved | BansChanged | Error


class Auth(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="auth"):
    """The moderators' socket's first client message: the moderator's token (a browser cannot
    set an Authorization header on a websocket, and a query string ends up in logs)."""

    token: str


class _Position(msgspec.Struct):
    seq: int = 0


_encoder = msgspec.json.Encoder()
_durable: msgspec.json.Decoder[DurableEvent] = msgspec.json.Decoder(DurableEvent)
_frame: msgspec.json.Decoder[ServerFrame] = msgspec.json.Decoder(ServerFrame)
_position = msgspec.json.Decoder(_Position)
_moderation: msgspec.json.Decoder[ModerationFrame] = msgspec.json.Decoder(ModerationFrame)
_auth = msgspec.json.Decoder(Auth)


def encode(frame: ServerFrame) -> bytes:
    """JSON bytes of a frame; the one encoder every process uses."""
    return _encoder.encode(frame)


def _decode(decoder: msgspec.json.Decoder[D], data: bytes | str) -> D:
    # msgspec reports invalid UTF-8 as UnicodeDecodeError and too deep a nesting (even in a
    # field it skips) as RecursionError; callers handle one kind of failure, DecodeError.
    try:
        return decoder.decode(data)
    except (UnicodeDecodeError, RecursionError) as exc:
        raise msgspec.DecodeError(f"JSON is malformed: {type(exc).__name__}") from None


def decode_event(data: bytes) -> DurableEvent:
    """A durable event from its stored or published bytes (msgspec.DecodeError if not one)."""
    return _decode(_durable, data)


def decode_frame(data: bytes | str) -> ServerFrame:
    """Any server frame (clients and tests read frames with this); msgspec.DecodeError (or its
    subclass ValidationError) for anything else."""
    return _decode(_frame, data)


def encode_moderation(frame: ModerationFrame) -> bytes:
    return _encoder.encode(frame)


def decode_moderation(data: bytes | str) -> ModerationFrame:
    """A frame of the moderators' channel (msgspec.DecodeError for anything else)."""
    return _decode(_moderation, data)


def decode_auth(data: bytes | str) -> Auth:
    """The moderators' socket's `auth` message (msgspec.DecodeError for anything else)."""
    return _decode(_auth, data)


def seq_of(data: bytes) -> int:
    """The seq of an encoded durable event, read without building the whole event."""
    return _decode(_position, data).seq


def event_type(event: DurableEvent) -> EventType:
    """The `type` tag of an event, as stored beside it."""
    tag = type(event).__struct_config__.tag
    assert isinstance(tag, str)
    return tag  # type: ignore[return-value]


def with_seq(event: DurableEvent, seq: int) -> DurableEvent:
    """The same event at another position (the store assigns seq inside its transaction)."""
    return msgspec.structs.replace(event, seq=seq)
