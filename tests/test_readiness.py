"""/readyz under a running server on PostgreSQL and Redis: 503 naming what is away while the
bus or the database is stopped, 200 again once each is back; /healthz stays liveness; /metrics
follows the bus's state and counts its reconnect."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from server.settings import Settings
from tests.support.clients import WAIT, provision
from tests.support.postgres import PostgresServer
from tests.support.redis_server import RedisServer
from tests.support.server import serve
from tests.support.waiting import eventually


async def bus_metrics(http: httpx.AsyncClient) -> dict[str, float]:
    """livethread_bus_* samples of /metrics, by name."""
    text = (await http.get("/metrics")).text
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        if family.name.startswith("livethread_bus_")
        for sample in family.samples
    }


@pytest.fixture
def outage_postgres() -> Iterator[PostgresServer]:
    """A cluster of this test's own: the test stops and starts it."""
    with PostgresServer() as server:
        yield server


@pytest.mark.timeout(120)
async def test_readyz_follows_redis_and_postgresql_going_away_and_coming_back(
    outage_postgres: PostgresServer,
) -> None:
    """Stopping redis-server makes /readyz 503 with `bus: disconnected`, and stopping
    PostgreSQL makes it 503 with the database's reason; each restarted, 200 again without a
    restart of livethread; /healthz answers 200 while only the bus is away; /metrics shows
    the bus disconnected, then connected with one reconnect more."""
    with RedisServer() as redis_server:
        settings = Settings(
            database=outage_postgres.database(),
            redis=redis_server.url,
            rate_limit=False,
            statement_timeout=2.0,
        )
        await provision(settings)
        async with (
            serve(settings) as server,
            httpx.AsyncClient(base_url=server.http, timeout=WAIT) as http,
        ):

            async def ready_is(status: int) -> bool:
                return (await http.get("/readyz")).status_code == status

            await eventually(lambda: ready_is(200))
            assert (await http.get("/readyz")).json() == {
                "status": "ready",
                "database": "writable",
                "bus": "connected",
            }
            before = await bus_metrics(http)
            assert before["livethread_bus_connected"] == 1
            redis_server.stop()
            await eventually(lambda: ready_is(503))
            answer = (await http.get("/readyz")).json()
            assert answer["bus"] == "disconnected" and answer["database"] == "writable"
            assert (await http.get("/healthz")).status_code == 200
            assert (await bus_metrics(http))["livethread_bus_connected"] == 0
            redis_server.start()
            await eventually(lambda: ready_is(200))
            after = await bus_metrics(http)
            assert after["livethread_bus_connected"] == 1
            reconnects = "livethread_bus_reconnects_total"
            assert after[reconnects] == before[reconnects] + 1

            outage_postgres.stop(graceful=False)
            try:
                await eventually(lambda: ready_is(503))
                answer = (await http.get("/readyz")).json()
                assert answer["status"] == "unavailable" and answer["database"] != "writable"
                assert answer["bus"] == "connected"
            finally:
                outage_postgres.start()
            await eventually(lambda: ready_is(200), within=2 * WAIT)
