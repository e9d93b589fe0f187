"""PostgreSQL failover: a synchronous standby promoted while posts arrive.

Two private clusters with streaming replication, the database URL listing both hosts with
`target_session_attrs=read-write`, two `livethread serve` processes on it and a reader on each.
The primary is SIGKILLed mid-stream and the standby promoted: during the switch posts answer
503 with Retry-After within the statement timeout (never a hang, never a 201 without a
commit), after it 201 again through the same processes, and every acknowledged post is on the
new primary and reached every reader once, in order. And with the synchronous standby away, a
post is never acknowledged before the standby has it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from server import events
from server.adapters.postgres_database import PostgresDatabase
from server.model import ThreadKey
from server.settings import Settings
from server.web.app import RETRY_AFTER_SECONDS
from tests.support.checker import Truth, check
from tests.support.clients import WAIT, comment_json, decode_json, provision
from tests.support.cluster import SITE, THREAD, cluster, following, log_text, opened
from tests.support.postgres import PostgresServer, hosts_url
from tests.support.redis_server import RedisServer
from tests.support.server import ServerProcess, serve
from tests.support.waiting import eventually

STATEMENT_TIMEOUT = 2.0
# An answer during the switch: the statement timeout plus the pool's reconnect, never a hang.
ANSWER_BOUND = 3 * STATEMENT_TIMEOUT
POSTERS, BEFORE, AFTER = 4, 40, 40
# The switch itself: a 503 seen, the promotion (pg_ctl promote -w), then AFTER acknowledged.
SWITCH = 30.0


@pytest.fixture
def replicated() -> Iterator[tuple[PostgresServer, PostgresServer]]:
    """A primary of this test's own and its synchronous streaming standby."""
    with PostgresServer() as primary, PostgresServer.standby_of(primary) as standby:
        yield primary, standby


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as running:
        yield running


@dataclass(frozen=True)
class Answer:
    """One post's answer, as the client saw it."""

    status: int
    took: float
    retry_after: str | None
    error: str | None
    comment: str | None


@dataclass
class Posting:
    """Posters that post without pause, through every server in turn, until told to stop."""

    http: httpx.AsyncClient
    servers: list[ServerProcess]
    answers: list[Answer] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def acknowledged(self) -> list[str]:
        return [a.comment for a in self.answers if a.status == 201 and a.comment is not None]

    @property
    def refused(self) -> int:
        return sum(1 for a in self.answers if a.status == 503)

    async def run(self, poster: int) -> None:
        sent = 0
        while not self.stopping.is_set():
            server = self.servers[(poster + sent) % len(self.servers)]
            answer = await self._post(server, f"{poster}.{sent}")
            sent += 1
            async with self._changed:
                self.answers.append(answer)
                self._changed.notify_all()

    async def until(self, *, acknowledged: int = 0, refused: int = 0) -> None:
        """Wait (bounded) until at least so many posts were acknowledged and refused."""
        async with asyncio.timeout(SWITCH), self._changed:
            await self._changed.wait_for(
                lambda: len(self.acknowledged) >= acknowledged and self.refused >= refused
            )

    async def _post(self, server: ServerProcess, body: str) -> Answer:
        started = time.monotonic()
        reply = await self.http.post(f"{server.http}/api/v1/comments", json=comment_json(body))
        took = time.monotonic() - started
        data = decode_json(reply.content) if reply.content.startswith(b"{") else {}
        comment = data.get("comment")
        error = data.get("error")
        return Answer(
            status=reply.status_code,
            took=took,
            retry_after=reply.headers.get("retry-after"),
            error=error if isinstance(error, str) else None,
            comment=str(comment["id"]) if isinstance(comment, dict) else None,
        )


@pytest.mark.timeout(120)
async def test_a_promoted_standby_takes_over_and_keeps_every_acknowledged_post(
    replicated: tuple[PostgresServer, PostgresServer], redis_server: RedisServer
) -> None:
    """Posts flow through two processes; the primary is SIGKILLed mid-stream and the standby
    promoted: meanwhile posts answer 201 or 503 with Retry-After, each within the statement
    timeout's bound; after it 201 again without a restart; every acknowledged post is on the
    promoted standby, and both readers applied every committed event once, in seq order."""
    primary, standby = replicated
    database = primary.database()
    env = {"LIVETHREAD_STATEMENT_TIMEOUT": str(STATEMENT_TIMEOUT)}
    async with cluster(hosts_url(database, [primary, standby]), redis=redis_server) as c:
        servers = [await c.start(env=env) for _ in range(2)]
        async with (
            following(servers) as readers,
            httpx.AsyncClient(timeout=2 * ANSWER_BOUND) as http,
        ):
            posting = Posting(http, servers)
            posters = [asyncio.create_task(posting.run(k)) for k in range(POSTERS)]
            try:
                await posting.until(acknowledged=BEFORE)
                primary.kill()
                await posting.until(refused=1)
                # pg_ctl blocks until the standby takes writes; the posters go on meanwhile.
                await asyncio.to_thread(standby.promote)
                promoted = len(posting.acknowledged)
                await posting.until(acknowledged=promoted + AFTER)
            finally:
                posting.stopping.set()
                async with asyncio.timeout(2 * ANSWER_BOUND):
                    await asyncio.gather(*posters)

            odd = [a for a in posting.answers if a.status not in (201, 503)]
            assert odd == [], (odd, [log_text(s)[-6000:] for s in servers])
            refusals = [a for a in posting.answers if a.status == 503]
            assert all(
                a.retry_after == str(RETRY_AFTER_SECONDS) and a.error == "unavailable"
                for a in refusals
            ), refusals
            slowest = max(a.took for a in posting.answers)
            assert slowest < ANSWER_BOUND, slowest
            assert all(s.process.returncode is None for s in servers)

            # The truth is the promoted standby's, read from it alone.
            acknowledged = posting.acknowledged
            async with opened(Settings(database=hosts_url(database, [standby]))) as store:
                stored = await store.log.events_after(ThreadKey(SITE, THREAD), 0, 1_000_000)
            truth = Truth.of(stored)
            total = len(truth.events)
            assert [e.seq for e in truth.events] == list(range(1, total + 1))
            assert truth.lost(acknowledged) == set()
            assert len(set(acknowledged)) == len(acknowledged)
            by_seq = {e.seq: _subject(e) for e in truth.events}
            for r in readers:
                await r.reach(total, within=WAIT)
                report = check(truth, r)
                assert report.clean, report
                assert [e.seq for e in r.received] == list(range(1, total + 1)), r.name
                # The same event at each seq: none a reader saw was lost with the old primary.
                assert {e.seq: _subject(e) for e in r.received} == by_seq, r.name


@pytest.mark.timeout(90)
async def test_with_the_synchronous_standby_away_a_post_is_not_acknowledged_until_it_is_back(
    replicated: tuple[PostgresServer, PostgresServer],
) -> None:
    """With the synchronous standby stopped, a post (and its retry with the same
    Idempotency-Key) answers 503 with Retry-After within the bound, not 201: its commit waits
    for a standby that is not there. Once the standby is back, the retry answers 201 with the
    first attempt's comment, stored once."""
    primary, standby = replicated
    settings = Settings(
        database=hosts_url(primary.database(), [primary, standby]),
        rate_limit=False,
        statement_timeout=STATEMENT_TIMEOUT,
    )
    await provision(settings)
    key = {"Idempotency-Key": "standby-away-1"}
    async with (
        serve(settings) as server,
        httpx.AsyncClient(base_url=server.http, timeout=2 * ANSWER_BOUND) as http,
    ):
        first = await http.post("/api/v1/comments", json=comment_json("replicated"))
        assert first.status_code == 201, first.text
        await asyncio.to_thread(standby.stop)
        try:
            for attempt in range(2):
                started = time.monotonic()
                answer = await http.post(
                    "/api/v1/comments", json=comment_json("waits"), headers=key
                )
                took = time.monotonic() - started
                assert answer.status_code == 503, (attempt, answer.text)
                assert answer.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
                assert took < ANSWER_BOUND, took
        finally:
            await asyncio.to_thread(standby.start)

        answers: list[httpx.Response] = []

        async def acknowledged() -> bool:
            answers.append(
                await http.post("/api/v1/comments", json=comment_json("waits"), headers=key)
            )
            return answers[-1].status_code == 201

        # Bounded: the standby reconnects and is counted synchronous again within seconds.
        await eventually(acknowledged, within=SWITCH)
        assert {a.status_code for a in answers[:-1]} <= {503}, [a.text for a in answers]
        snapshot = await http.get("/api/v1/threads", params={"site": SITE, "thread": THREAD})
        stored = [c for c in snapshot.json()["comments"] if c["html"] == "<p>waits</p>"]
        assert [c["id"] for c in stored] == [answers[-1].json()["comment"]["id"]]


@pytest.mark.timeout(60)
async def test_a_url_listing_the_standby_first_still_writes_to_the_primary(
    replicated: tuple[PostgresServer, PostgresServer],
) -> None:
    """A URL listing the standby before the primary, without target_session_attrs: the store
    opens (migrating, so writing) on the primary, and every pooled connection is to it."""
    primary, standby = replicated
    # The cluster's first database: in the standby's base backup, so there on both hosts.
    plain = hosts_url(primary.url, [standby, primary]).partition("?")[0]
    db = PostgresDatabase(plain, pool_size=4, statement_timeout=STATEMENT_TIMEOUT)
    await db.open()
    try:
        await db.writable(STATEMENT_TIMEOUT)

        together = asyncio.Barrier(4)

        async def port() -> int:
            async with db.connection() as conn:
                found = int(await conn.fetchval("SELECT inet_server_port()"))
                # Held until all four are out: four connections, every one the pool can make.
                await together.wait()
                return found

        async with asyncio.timeout(WAIT):
            ports = await asyncio.gather(*(port() for _ in range(4)))
        assert ports == [primary.port] * 4
    finally:
        await db.close()


def _subject(event: events.DurableEvent) -> str:
    return event.comment.id if isinstance(event, events.CommentCreated) else type(event).__name__
