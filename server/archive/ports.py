"""The `Archive` port: every table's whole rows, in one neutral shape for every store, for
copying a deployment from one store to another (`livethread copy`).

A row is the table's columns as plain values (text, numbers, booleans, bytes), JSON columns as
their text, so a row read from one store is written to another as it is. Rows are read in the
order of their table's key, text compared by code point (SQLite's BINARY, PostgreSQL's "C"
collation, Python's own), so every store reads one table in the same order and a checksum over
it means the same thing everywhere. Events are keyed by their store-wide position and keep it:
the copy's log is the source's, position for position, so the workers' cursors and webhook
deliveries (which name positions) are copied as they are, and no webhook or mail goes out again
for an event the source's workers already handled.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

import msgspec

from server.model import CommentRecord
from server.moderation.ports import AuditEntry, Ban, Report
from workers.webhooks.ports import Delivery


class SiteRow(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    origins: str  # JSON list of origins
    premoderate: bool


class ModeratorRow(msgspec.Struct, frozen=True, kw_only=True):
    site: str
    name: str
    token_hash: str
    role: str  # "moderator" or "admin"


class RulesRow(msgspec.Struct, frozen=True, kw_only=True):
    site: str
    config: str  # JSON of server.moderation.rules.Rules


class ThreadRow(msgspec.Struct, frozen=True, kw_only=True):
    site: str
    thread: str
    seq: int
    locked: bool
    title: str
    url: str
    byline: str


class EventRow(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    site: str
    thread: str
    seq: int
    type: str
    comment_id: str | None
    payload: bytes


class AnswerRow(msgspec.Struct, frozen=True, kw_only=True):
    site: str
    key: str
    fingerprint: str
    status: int
    body: bytes
    created_at: float
    comment_id: str | None


class CursorRow(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    position: int
    owner: str | None
    lease_until: float


class WebhookRow(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    site: str
    url: str
    secret: str
    events: str  # JSON list of event types


class NotifiedRow(msgspec.Struct, frozen=True, kw_only=True):
    reply_id: str
    recipient: str


class SecretRow(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    value: str


class AddressRow(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    site: str | None
    requested_at: float | None
    confirmed_at: float | None


class SignInRow(msgspec.Struct, frozen=True, kw_only=True):
    site: str
    policy: str
    audience: str
    issuer: str | None
    secret: str | None
    public_key: str | None
    jwks_url: str | None
    roles: str  # JSON list of role names


class AccountRow(msgspec.Struct, frozen=True, kw_only=True):
    site: str
    id: str
    name: str
    skeleton: str
    email: str | None
    avatar: str | None
    roles: str  # JSON list of role names
    first_seen: float
    last_seen: float


class ReactionRow(msgspec.Struct, frozen=True, kw_only=True):
    comment_id: str
    reader: str
    kind: str
    site: str
    thread: str


class ReactionCountRow(msgspec.Struct, frozen=True, kw_only=True):
    comment_id: str
    kind: str
    n: int


class ReactionVersionRow(msgspec.Struct, frozen=True, kw_only=True):
    comment_id: str
    site: str
    thread: str
    version: int


class ImportedRow(msgspec.Struct, frozen=True, kw_only=True):
    site: str
    source: str
    source_id: str
    comment_id: str


class ImportRunRow(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    site: str
    format: str
    source_name: str
    started_at: float
    updated_at: float
    threads_total: int
    comments_total: int
    threads_done: int
    comments_done: int
    summary: str | None  # JSON of server.importing.ports.RunSummary; None while it runs


Row = msgspec.Struct
Key = tuple[str | int, ...]


class Table(NamedTuple):
    """A table: its SQL name, its row's shape (whose fields are its columns), its key."""

    name: str
    row: type[msgspec.Struct]
    key: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.row.__struct_fields__

    def key_of(self, row: Row) -> Key:
        return tuple(getattr(row, name) for name in self.key)


SITES = Table("sites", SiteRow, ("name",))
MODERATORS = Table("moderators", ModeratorRow, ("site", "name"))
RULES = Table("rules", RulesRow, ("site",))
THREADS = Table("threads", ThreadRow, ("site", "thread"))
COMMENTS = Table("comments", CommentRecord, ("id",))
EVENTS = Table("events", EventRow, ("position",))
ANSWERS = Table("idempotency", AnswerRow, ("site", "key"))
CURSORS = Table("cursors", CursorRow, ("name",))
WEBHOOKS = Table("webhooks", WebhookRow, ("id",))
DELIVERIES = Table("deliveries", Delivery, ("id",))
NOTIFIED = Table("notifications_sent", NotifiedRow, ("reply_id", "recipient"))
SECRETS = Table("secrets", SecretRow, ("name",))
ADDRESSES = Table("mail_addresses", AddressRow, ("key",))
SIGN_INS = Table("sign_ins", SignInRow, ("site",))
ACCOUNTS = Table("accounts", AccountRow, ("site", "id"))
REPORTS = Table("reports", Report, ("comment_id", "reporter"))
# Kept with their ids: the copy's log reads in the source's order, and later ids follow.
AUDIT = Table("audit", AuditEntry, ("id",))
# Kept with their ids too, so an id a moderator saw names the same ban on the copy.
BANS = Table("bans", Ban, ("id",))
# Readers' reactions, and the counts and versions kept beside them, copied as they are (not
# counted again): a copy's counts are the source's, its versions too, so pages open on either
# read the same.
REACTIONS = Table("reactions", ReactionRow, ("comment_id", "reader", "kind"))
REACTION_COUNTS = Table("reaction_counts", ReactionCountRow, ("comment_id", "kind"))
REACTION_VERSIONS = Table("reaction_versions", ReactionVersionRow, ("comment_id",))
# Which source comment became which of ours: copied, so a re-import into the copy adds nothing.
IMPORTED = Table("imported_comments", ImportedRow, ("site", "source", "source_id"))
# The imports run, for the admin page, as they were (a run still going is copied going).
IMPORT_RUNS = Table("import_runs", ImportRunRow, ("id",))

# Every table, each after the tables its rows refer to (sites before their moderators, rules,
# webhooks, sign-in settings and accounts; webhooks before their deliveries; threads before
# their events; comments before their reports).
TABLES: tuple[Table, ...] = (
    SITES,
    MODERATORS,
    RULES,
    THREADS,
    COMMENTS,
    EVENTS,
    ANSWERS,
    CURSORS,
    WEBHOOKS,
    DELIVERIES,
    NOTIFIED,
    SECRETS,
    ADDRESSES,
    SIGN_INS,
    ACCOUNTS,
    REPORTS,
    AUDIT,
    BANS,
    REACTIONS,
    REACTION_COUNTS,
    REACTION_VERSIONS,
    IMPORTED,
    IMPORT_RUNS,
)


class Archive(Protocol):
    """Whole rows of every table of one store, read in key order and written as they are."""

    async def read(self, table: Table, after: Key | None, limit: int) -> list[Row]:
        """Up to `limit` rows of `table` whose key is above `after` (from the first if None),
        in key order (text by code point): paging on the last row's key reads every committed
        row once. Events are read once placed in the store-wide log (a PostgreSQL event whose
        transaction is still running is not; `count` counts it)."""
        ...

    async def write(self, table: Table, rows: Sequence[Row]) -> int:
        """Insert `rows` of `table` in one transaction, exactly as given (a thread with its
        seq, an event with its position and bytes); a row whose key is already there is left
        as it is, so writing rows twice doubles nothing. Returns how many were new. An event
        whose position another event holds, or a row whose site or webhook is missing, is
        refused (StoreError)."""
        ...

    async def count(self, table: Table) -> int:
        """How many rows `table` holds."""
        ...
