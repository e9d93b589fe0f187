"""The SQL of the SQLite store: plain functions run on a connection's own thread.

Every function takes the connection first and blocks; `sqlite_store` decides which connection
and thread each runs on. Every write runs inside a transaction the caller began (the writer's
group transaction, sqlite_writer.py), so a function of several statements is atomic as it is.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import msgspec

from server import events
from server.adapters.redaction import TYPES_WITH_COMMENT, redacted, tombstone
from server.events import DurableEvent
from server.model import CommentRecord, Moderator, Site, ThreadState
from server.ports import (
    ERASED,
    Delivery,
    DeliveryStatus,
    IdempotentAnswer,
    LogEntry,
    StoredEvent,
    StoreError,
    Webhook,
)
from server.rules import Rules

# Below SQLite's smallest default limit on bound parameters (999 before 3.32).
_MAX_PARAMS = 500

_COMMENT_COLUMNS = (
    "id, site, thread, parent, author_name, author_email, author_url, body_source, body_html, "
    "status, created_at, edited_at, edit_token_hash, pinned, reason, notify, flag, decided_by"
)
_COMMENT_PLACEHOLDERS = ", ".join("?" * len(_COMMENT_COLUMNS.split(",")))


def _record(row: Any) -> CommentRecord:
    return CommentRecord(
        id=row[0],
        site=row[1],
        thread=row[2],
        parent=row[3],
        author_name=row[4],
        author_email=row[5],
        author_url=row[6],
        body_source=row[7],
        body_html=row[8],
        status=row[9],
        created_at=row[10],
        edited_at=row[11],
        edit_token_hash=row[12],
        pinned=bool(row[13]),
        reason=row[14],
        notify=bool(row[15]),
        flag=row[16],
        decided_by=row[17],
    )


def _values(r: CommentRecord) -> tuple[object, ...]:
    return (
        r.id,
        r.site,
        r.thread,
        r.parent,
        r.author_name,
        r.author_email,
        r.author_url,
        r.body_source,
        r.body_html,
        r.status,
        r.created_at,
        r.edited_at,
        r.edit_token_hash,
        int(r.pinned),
        r.reason,
        int(r.notify),
        r.flag,
        r.decided_by,
    )


# -- threads and comments ------------------------------------------------------------------


def thread_state(conn: sqlite3.Connection, site: str, thread: str) -> ThreadState:
    row = conn.execute(
        "SELECT seq, locked FROM threads WHERE site = ? AND thread = ?", (site, thread)
    ).fetchone()
    if row is None:
        return ThreadState(site=site, thread=thread)
    return ThreadState(site=site, thread=thread, seq=int(row[0]), locked=bool(row[1]))


def thread_comments(
    conn: sqlite3.Connection, site: str, thread: str
) -> tuple[ThreadState, list[CommentRecord]]:
    # One read transaction, so the seq returned is exactly the one the comments reflect.
    conn.execute("BEGIN")
    try:
        state = thread_state(conn, site, thread)
        rows = conn.execute(
            f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE site = ? AND thread = ? "
            "ORDER BY created_at, id",
            (site, thread),
        ).fetchall()
    finally:
        conn.execute("COMMIT")
    return state, [_record(row) for row in rows]


def comment(conn: sqlite3.Connection, comment_id: str) -> CommentRecord | None:
    row = conn.execute(
        f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE id = ?", (comment_id,)
    ).fetchone()
    return None if row is None else _record(row)


def thread_comment(
    conn: sqlite3.Connection, site: str, thread: str, comment_id: str
) -> CommentRecord | None:
    row = conn.execute(
        f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE id = ? AND site = ? AND thread = ?",
        (comment_id, site, thread),
    ).fetchone()
    return None if row is None else _record(row)


def has_replies(conn: sqlite3.Connection, site: str, thread: str, comment_id: str) -> bool:
    """Whether any comment, whatever its status, answers `comment_id`."""
    row = conn.execute(
        "SELECT 1 FROM comments WHERE parent = ? AND site = ? AND thread = ? LIMIT 1",
        (comment_id, site, thread),
    ).fetchone()
    return row is not None


def insert_comment(conn: sqlite3.Connection, record: CommentRecord) -> None:
    try:
        conn.execute(
            f"INSERT INTO comments ({_COMMENT_COLUMNS}) VALUES ({_COMMENT_PLACEHOLDERS})",
            _values(record),
        )
    except sqlite3.IntegrityError as exc:
        raise StoreError(f"comment {record.id} already exists") from exc


def update_comment(conn: sqlite3.Connection, record: CommentRecord) -> None:
    cursor = conn.execute(
        "UPDATE comments SET parent = ?, author_name = ?, author_email = ?, author_url = ?, "
        "body_source = ?, body_html = ?, status = ?, created_at = ?, edited_at = ?, "
        "edit_token_hash = ?, pinned = ?, reason = ?, notify = ?, flag = ?, decided_by = ? "
        "WHERE id = ? AND site = ? AND thread = ?",
        (*_values(record)[3:], record.id, record.site, record.thread),
    )
    if cursor.rowcount != 1:
        raise StoreError(f"no comment {record.id} in thread {record.site}/{record.thread}")


def set_locked(conn: sqlite3.Connection, site: str, thread: str, locked: bool) -> None:
    conn.execute(
        "INSERT INTO threads (site, thread, locked) VALUES (?, ?, ?) "
        "ON CONFLICT (site, thread) DO UPDATE SET locked = excluded.locked",
        (site, thread, int(locked)),
    )


def counts(conn: sqlite3.Connection, site: str, threads: list[str]) -> dict[str, int]:
    out = dict.fromkeys(threads, 0)
    unique = list(out)
    conn.execute("BEGIN")
    try:
        for start in range(0, len(unique), _MAX_PARAMS):
            chunk = unique[start : start + _MAX_PARAMS]
            marks = ", ".join("?" * len(chunk))
            rows = conn.execute(
                "SELECT thread, COUNT(*) FROM comments WHERE site = ? AND status = 'visible' "
                f"AND thread IN ({marks}) GROUP BY thread",
                (site, *chunk),
            ).fetchall()
            out.update({str(row[0]): int(row[1]) for row in rows})
    finally:
        conn.execute("COMMIT")
    return out


# -- the event log -------------------------------------------------------------------------


def append(
    conn: sqlite3.Connection, site: str, thread: str, event: DurableEvent, comment_id: str | None
) -> bytes:
    seq = thread_state(conn, site, thread).seq + 1
    placed = events.with_seq(event, seq)
    payload = events.encode(placed)
    conn.execute(
        "INSERT INTO events (site, thread, seq, type, comment_id, payload) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (site, thread, seq, events.event_type(placed), comment_id, payload),
    )
    conn.execute(
        "INSERT INTO threads (site, thread, seq) VALUES (?, ?, ?) "
        "ON CONFLICT (site, thread) DO UPDATE SET seq = excluded.seq",
        (site, thread, seq),
    )
    return payload


def redact(conn: sqlite3.Connection, site: str, thread: str, comment_id: str) -> None:
    record = thread_comment(conn, site, thread, comment_id)
    if record is None:
        raise StoreError(f"no comment {comment_id} in thread {site}/{thread}")
    grave = tombstone(record)
    marks = ", ".join("?" * len(TYPES_WITH_COMMENT))
    rows = conn.execute(
        "SELECT seq, payload, position FROM events WHERE comment_id = ? AND site = ? "
        f"AND thread = ? AND type IN ({marks})",
        (comment_id, site, thread, *TYPES_WITH_COMMENT),
    ).fetchall()
    rewritten = [(redacted(bytes(row[1]), grave), row[0], row[2]) for row in rows]
    conn.executemany(
        "UPDATE events SET payload = ? WHERE site = ? AND thread = ? AND seq = ?",
        [(payload, site, thread, seq) for payload, seq, _ in rewritten],
    )
    # Webhook deliveries carry a copy of the event: a replay must not send the text again.
    conn.executemany(
        "UPDATE deliveries SET payload = ? WHERE position = ?",
        [(payload, position) for payload, _, position in rewritten],
    )


def events_after(
    conn: sqlite3.Connection, site: str, thread: str, after: int, limit: int
) -> list[StoredEvent]:
    # max(): a negative LIMIT means "no limit" to SQLite, which is not what a caller meant.
    rows = conn.execute(
        "SELECT seq, payload FROM events WHERE site = ? AND thread = ? AND seq > ? "
        "ORDER BY seq LIMIT ?",
        (site, thread, after, max(limit, 0)),
    ).fetchall()
    return [StoredEvent(seq=int(row[0]), payload=bytes(row[1])) for row in rows]


def log_end(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT MAX(position) FROM events").fetchone()
    return int(row[0] or 0)


def log_after(conn: sqlite3.Connection, after: int, limit: int) -> list[LogEntry]:
    rows = conn.execute(
        "SELECT position, site, thread, seq, payload FROM events WHERE position > ? "
        "ORDER BY position LIMIT ?",
        (after, max(limit, 0)),
    ).fetchall()
    return [
        LogEntry(position=r[0], site=r[1], thread=r[2], seq=r[3], payload=bytes(r[4])) for r in rows
    ]


# -- idempotency ---------------------------------------------------------------------------


def recall(conn: sqlite3.Connection, site: str, key: str) -> IdempotentAnswer | None:
    row = conn.execute(
        "SELECT fingerprint, status, body, created_at, comment_id FROM idempotency "
        "WHERE site = ? AND key = ?",
        (site, key),
    ).fetchone()
    if row is None:
        return None
    return IdempotentAnswer(
        key=key,
        fingerprint=row[0],
        status=int(row[1]),
        body=bytes(row[2]),
        created_at=float(row[3]),
        comment_id=row[4],
    )


def remember(conn: sqlite3.Connection, site: str, answer: IdempotentAnswer) -> None:
    try:
        conn.execute(
            "INSERT INTO idempotency "
            "(site, key, fingerprint, status, body, created_at, comment_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                site,
                answer.key,
                answer.fingerprint,
                answer.status,
                answer.body,
                answer.created_at,
                answer.comment_id,
            ),
        )
    except sqlite3.IntegrityError as exc:
        raise StoreError(f"idempotency key {answer.key!r} is already remembered") from exc


def forget_answers(conn: sqlite3.Connection, before: float) -> None:
    conn.execute("DELETE FROM idempotency WHERE created_at < ?", (before,))


def erase_answers(conn: sqlite3.Connection, site: str, comment_id: str, body: bytes) -> None:
    conn.execute(
        "UPDATE idempotency SET body = ?, fingerprint = ? WHERE site = ? AND comment_id = ?",
        (body, ERASED, site, comment_id),
    )


# -- sites and moderators ------------------------------------------------------------------


def put_site(conn: sqlite3.Connection, site: Site) -> None:
    # An upsert, not INSERT OR REPLACE: replacing would delete the row and cascade to the
    # site's moderators.
    conn.execute(
        "INSERT INTO sites (name, origins, premoderate) VALUES (?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET "
        "origins = excluded.origins, premoderate = excluded.premoderate",
        (site.name, msgspec.json.encode(list(site.origins)).decode(), int(site.premoderate)),
    )


def site(conn: sqlite3.Connection, name: str) -> Site | None:
    row = conn.execute("SELECT origins, premoderate FROM sites WHERE name = ?", (name,)).fetchone()
    if row is None:
        return None
    origins = msgspec.json.decode(row[0], type=tuple[str, ...])
    return Site(name=name, origins=origins, premoderate=bool(row[1]))


def put_moderator(conn: sqlite3.Connection, moderator: Moderator, token_hash: str) -> None:
    if site(conn, moderator.site) is None:
        raise StoreError(f"no site {moderator.site!r} for moderator {moderator.name!r}")
    try:
        conn.execute(
            "INSERT INTO moderators (site, name, token_hash) VALUES (?, ?, ?) "
            "ON CONFLICT (site, name) DO UPDATE SET token_hash = excluded.token_hash",
            (moderator.site, moderator.name, token_hash),
        )
    except sqlite3.IntegrityError as exc:
        raise StoreError("that token hash already belongs to another moderator") from exc


def cursor(conn: sqlite3.Connection, name: str) -> int:
    row = conn.execute("SELECT position FROM cursors WHERE name = ?", (name,)).fetchone()
    return 0 if row is None else int(row[0])


def lease(conn: sqlite3.Connection, name: str, owner: str, until: float, now: float) -> bool:
    # Like every write, inside the writer's transaction (sqlite_writer.py): both statements or
    # neither.
    conn.execute("INSERT OR IGNORE INTO cursors (name) VALUES (?)", (name,))
    taken = conn.execute(
        "UPDATE cursors SET owner = ?, lease_until = ? "
        "WHERE name = ? AND (owner IS NULL OR owner = ? OR lease_until < ?)",
        (owner, until, name, owner, now),
    ).rowcount
    return taken == 1


def advance(conn: sqlite3.Connection, name: str, owner: str, position: int) -> bool:
    moved = conn.execute(
        "UPDATE cursors SET position = ? WHERE name = ? AND owner = ?",
        (position, name, owner),
    ).rowcount
    return moved == 1


def moderators(conn: sqlite3.Connection, site: str) -> list[Moderator]:
    rows = conn.execute(
        "SELECT site, name FROM moderators WHERE site = ? ORDER BY name", (site,)
    ).fetchall()
    return [Moderator(name=row[1], site=row[0]) for row in rows]


def comments_by_email(conn: sqlite3.Connection, email: str) -> list[CommentRecord]:
    rows = conn.execute(
        f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE author_email = ? COLLATE NOCASE "
        "ORDER BY created_at, id",
        (email,),
    ).fetchall()
    return [_record(row) for row in rows]


def moderator(conn: sqlite3.Connection, token_hash: str) -> Moderator | None:
    row = conn.execute(
        "SELECT site, name FROM moderators WHERE token_hash = ?", (token_hash,)
    ).fetchone()
    return None if row is None else Moderator(name=row[1], site=row[0])


# -- webhooks ------------------------------------------------------------------------------

_DELIVERY_COLUMNS = (
    "id, webhook_id, position, site, thread, payload, attempts, next_at, status, last_error"
)


def _webhook(row: Any) -> Webhook:
    return Webhook(
        id=row[0],
        site=row[1],
        url=row[2],
        secret=row[3],
        events=msgspec.json.decode(row[4], type=tuple[str, ...]),
    )


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row[0],
        webhook_id=row[1],
        position=int(row[2]),
        site=row[3],
        thread=row[4],
        payload=bytes(row[5]),
        attempts=int(row[6]),
        next_at=float(row[7]),
        status=row[8],
        last_error=row[9],
    )


def put_webhook(conn: sqlite3.Connection, webhook: Webhook) -> None:
    if site(conn, webhook.site) is None:
        raise StoreError(f"no site {webhook.site!r} for webhook {webhook.id!r}")
    # An upsert: INSERT OR REPLACE would delete the row and cascade to its deliveries.
    conn.execute(
        "INSERT INTO webhooks (id, site, url, secret, events) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET site = excluded.site, url = excluded.url, "
        "secret = excluded.secret, events = excluded.events",
        (
            webhook.id,
            webhook.site,
            webhook.url,
            webhook.secret,
            msgspec.json.encode(list(webhook.events)).decode(),
        ),
    )


def webhook(conn: sqlite3.Connection, webhook_id: str) -> Webhook | None:
    row = conn.execute(
        "SELECT id, site, url, secret, events FROM webhooks WHERE id = ?", (webhook_id,)
    ).fetchone()
    return None if row is None else _webhook(row)


def webhooks(conn: sqlite3.Connection, site: str) -> list[Webhook]:
    rows = conn.execute(
        "SELECT id, site, url, secret, events FROM webhooks WHERE site = ? ORDER BY id", (site,)
    ).fetchall()
    return [_webhook(row) for row in rows]


def remove_webhook(conn: sqlite3.Connection, webhook_id: str) -> bool:
    # One statement: the foreign key's ON DELETE CASCADE removes the deliveries with it.
    return conn.execute("DELETE FROM webhooks WHERE id = ?", (webhook_id,)).rowcount == 1


def enqueue_deliveries(conn: sqlite3.Connection, deliveries: list[Delivery]) -> None:
    if not deliveries:
        return
    # OR IGNORE skips an id already queued; the EXISTS skips a webhook removed meanwhile
    # (a foreign key violation is not something OR IGNORE ignores).
    conn.executemany(
        f"INSERT OR IGNORE INTO deliveries ({_DELIVERY_COLUMNS}) "
        "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? "
        "WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = ?)",
        [
            (
                d.id,
                d.webhook_id,
                d.position,
                d.site,
                d.thread,
                d.payload,
                d.attempts,
                d.next_at,
                d.status,
                d.last_error,
                d.webhook_id,
            )
            for d in deliveries
        ],
    )


def due_deliveries(conn: sqlite3.Connection, now: float, limit: int) -> list[Delivery]:
    rows = conn.execute(
        f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE status = 'pending' AND next_at <= ? "
        "ORDER BY next_at, position, id LIMIT ?",
        (now, max(limit, 0)),
    ).fetchall()
    return [_delivery(row) for row in rows]


def settle_delivery(
    conn: sqlite3.Connection,
    delivery_id: str,
    status: DeliveryStatus,
    attempts: int,
    next_at: float,
    last_error: str | None,
) -> None:
    conn.execute(
        "UPDATE deliveries SET status = ?, attempts = ?, next_at = ?, last_error = ? WHERE id = ?",
        (status, attempts, next_at, last_error, delivery_id),
    )


def deliveries(conn: sqlite3.Connection, status: DeliveryStatus) -> list[Delivery]:
    rows = conn.execute(
        f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE status = ? ORDER BY position, id",
        (status,),
    ).fetchall()
    return [_delivery(row) for row in rows]


def replay_deliveries(conn: sqlite3.Connection, ids: list[str] | None) -> int:
    update = "UPDATE deliveries SET status = 'pending', attempts = 0, next_at = 0 "
    if ids is None:
        return conn.execute(update + "WHERE status = 'parked'").rowcount
    changed = 0
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), _MAX_PARAMS):
        chunk = unique[start : start + _MAX_PARAMS]
        marks = ", ".join("?" * len(chunk))
        changed += conn.execute(
            update + f"WHERE status = 'parked' AND id IN ({marks})", chunk
        ).rowcount
    return changed


# -- reply notifications -------------------------------------------------------------------


def mark_notified(conn: sqlite3.Connection, reply_id: str, recipient: str) -> bool:
    cursor = conn.execute(
        "INSERT OR IGNORE INTO notifications_sent (reply_id, recipient) VALUES (?, ?)",
        (reply_id, recipient),
    )
    return cursor.rowcount == 1


def was_notified(conn: sqlite3.Connection, reply_id: str, recipient: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM notifications_sent WHERE reply_id = ? AND recipient = ?",
        (reply_id, recipient),
    ).fetchone()
    return row is not None


def unsubscribe(conn: sqlite3.Connection, comment_id: str) -> bool:
    cursor = conn.execute("UPDATE comments SET notify = 0 WHERE id = ?", (comment_id,))
    return cursor.rowcount == 1


def secret(conn: sqlite3.Connection, name: str, fresh: str) -> str:
    # INSERT OR IGNORE then SELECT: when two processes race, both read the winner's value.
    conn.execute("INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)", (name, fresh))
    row = conn.execute("SELECT value FROM secrets WHERE name = ?", (name,)).fetchone()
    return str(row[0])


# -- auto-moderation -----------------------------------------------------------------------


def put_rules(conn: sqlite3.Connection, site_name: str, rules: Rules) -> None:
    if site(conn, site_name) is None:
        raise StoreError(f"no site {site_name!r} for rules")
    conn.execute(
        "INSERT INTO rules (site, config) VALUES (?, ?) "
        "ON CONFLICT (site) DO UPDATE SET config = excluded.config",
        (site_name, msgspec.json.encode(rules).decode()),
    )


def rules(conn: sqlite3.Connection, site_name: str) -> Rules | None:
    row = conn.execute("SELECT config FROM rules WHERE site = ?", (site_name,)).fetchone()
    return None if row is None else msgspec.json.decode(row[0], type=Rules)


def queue(conn: sqlite3.Connection, site_name: str, limit: int) -> list[CommentRecord]:
    # The WHERE repeats the partial index's condition word for word, so SQLite uses it.
    rows = conn.execute(
        f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE site = ? "
        "AND (status = 'pending' OR (status = 'visible' AND flag IS NOT NULL)) "
        "ORDER BY created_at, id LIMIT ?",
        (site_name, max(limit, 0)),
    ).fetchall()
    return [_record(row) for row in rows]
