"""The event log on the PostgreSQL store: read per thread by seq and store-wide by position; and
the workers' cursors.

A thread's events are appended by its transaction (postgres_threads.py), which gives them their
seq under the thread's locks. Their store-wide `position` cannot be drawn then: transactions
of different threads commit in any order, so a number taken at insert (a sequence) could become
visible after a larger one that a reader has already passed, and the reader's cursor would skip
it for good. So an event is inserted unplaced (`position` NULL, `txid` its transaction's id),
and the log's readers place events before they read (`end`, `after`):

    in one short transaction: SELECT pg_advisory_xact_lock(PLACE_KEY); then UPDATE events SET
    position = max(position) + row_number() over (txid, id), for the events whose position is
    NULL and whose txid < pg_snapshot_xmin(pg_current_snapshot()); COMMIT (durable); then read.

Why this never places an event below a position a reader has passed. The UPDATE's snapshot
is taken after the advisory lock is granted, so it sees every placement committed before it
and numbers from the true maximum: positions only grow, placements never overlap, and the
placed events are always 1..max with no hole (events are never deleted). The snapshot's xmin
is the oldest transaction id still running when the snapshot was taken: every transaction with
an id below it has ended, committed (its events visible to this very snapshot) or rolled back
(its events gone). So the events placed are final: no transaction that could still commit has
an event among them or could add one to them. Any transaction still able to commit has an id
>= xmin (a transaction that gets its id later gets a larger one), so its events stay unplaced
now and take positions above every one given now, when a later reader places them. A reader
that has read up to P has therefore seen, for good, everything that will ever sit at or below
P. (A transaction's events take its top-level id, savepoints or not: `pg_current_xact_id`.)

Order: by (txid, id), transaction by transaction, each one's events in insert order (`id`).
Within a thread that is seq order: a thread's writers take its lock before their transaction
has an id (postgres_threads.py), so the later holder has the larger txid; and the later one's
events are never placed first, since its txid < xmin implies the earlier's too. Across threads,
transactions that ran alongside each other are placed in txid order, not the exact order of
their commits: the log's promise is that no reader skips an event, and that it keeps.

The cost: a transaction that has written (so has an id) and stays open anywhere in the
cluster, even in another database, holds back the placing of every event whose transaction got
its id after it: the log's readers see new events late, never lose them. The pool's
`statement_timeout` and `idle_in_transaction_session_timeout` (postgres_database.py) bound how
long one of ours can. Placing takes row locks only on committed, not yet placed events; a
thread's transaction rewriting one of those (`replace`, in the moment before a reader places
it) makes the placer wait for its commit, and a deadlock between the two is refused by
PostgreSQL as StoreUnavailable, worth retrying.
"""

from __future__ import annotations

from server.adapters.postgres_database import PostgresDatabase, affected
from server.model import ThreadKey
from server.threads.ports import LogEntry, StoredEvent

# Any constant: the key of the transaction advisory lock that serialises placing.
PLACE_KEY = 0x6C6F67706C616365  # "logplace"

_READY = "txid < pg_snapshot_xmin(pg_current_snapshot())"

# Whether any event is ready to be placed: a cheap check, so a reader with nothing to place
# takes no lock and writes nothing. Wrong only towards "none" for a moment, which reads a
# committed prefix all the same.
_ANY_READY = f"SELECT EXISTS (SELECT 1 FROM events WHERE position IS NULL AND {_READY})"

_PLACE = f"""
    UPDATE events SET position = placed.base + placed.rn
    FROM (
        SELECT id,
               row_number() OVER (ORDER BY txid, id) AS rn,
               (SELECT coalesce(max(position), 0) FROM events) AS base
        FROM events
        WHERE position IS NULL AND {_READY}
    ) AS placed
    WHERE events.id = placed.id
"""


async def place(db: PostgresDatabase) -> int:
    """Give the final events their positions (see the module's docstring); how many were
    placed. Returns once the placing is committed (durably)."""
    if not await db.fetchval(_ANY_READY):
        return 0
    async with db.transaction() as conn:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", PLACE_KEY)
        # A new statement, so a new snapshot: taken after the lock, it sees every placing
        # committed before this one, and its xmin is the one the module's argument is about.
        return affected(await conn.execute(_PLACE))


class PostgresEventLog:
    """`EventLog`: per thread by seq (committed rows, placed or not); store-wide by position
    (placed rows only, placed first)."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def events_after(self, key: ThreadKey, after: int, limit: int) -> list[StoredEvent]:
        if limit <= 0:
            return []
        rows = await self._db.fetch(
            "SELECT seq, payload FROM events WHERE site = $1 AND thread = $2 AND seq > $3 "
            "ORDER BY seq LIMIT $4",
            key.site,
            key.thread,
            after,
            limit,
        )
        return [StoredEvent(seq=int(r["seq"]), payload=bytes(r["payload"])) for r in rows]

    async def end(self) -> int:
        await place(self._db)
        found = await self._db.fetchval("SELECT max(position) FROM events")
        return int(found or 0)

    async def after(self, after: int, limit: int) -> list[LogEntry]:
        if limit <= 0:
            return []
        await place(self._db)
        rows = await self._db.fetch(
            "SELECT position, site, thread, seq, payload FROM events WHERE position > $1 "
            "ORDER BY position LIMIT $2",
            after,
            limit,
        )
        return [
            LogEntry(
                position=int(r["position"]),
                site=r["site"],
                thread=r["thread"],
                seq=int(r["seq"]),
                payload=bytes(r["payload"]),
            )
            for r in rows
        ]


class PostgresCursors:
    """`Cursors`: each a row; a lease is taken, renewed or refused by one atomic statement."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def position(self, name: str) -> int:
        found = await self._db.fetchval("SELECT position FROM cursors WHERE name = $1", name)
        return int(found or 0)

    async def lease(self, name: str, owner: str, until: float, now: float) -> bool:
        # Made if new; else taken only when free, expired at `now`, or already the owner's.
        # The conflict's row is locked while its WHERE is judged: two takers cannot both win.
        status = await self._db.execute(
            "INSERT INTO cursors (name, owner, lease_until) VALUES ($1, $2, $3) "
            "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, "
            "lease_until = excluded.lease_until "
            "WHERE cursors.owner IS NULL OR cursors.owner = excluded.owner "
            "OR cursors.lease_until < $4",
            name,
            owner,
            until,
            now,
        )
        return affected(status) == 1

    async def advance(self, name: str, owner: str, position: int) -> bool:
        status = await self._db.execute(
            "UPDATE cursors SET position = $1 WHERE name = $2 AND owner = $3",
            position,
            name,
            owner,
        )
        return affected(status) == 1
