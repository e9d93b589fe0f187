"""Which PostgreSQL driver for the PostgreSQL store: asyncpg or psycopg 3 (with psycopg-pool).

    python -m bench.pg_drivers [--ops N] [--tasks N] [--runs N]

A private cluster (tests/support/postgres.py, durability on) and, per driver, the shape of a
post: one transaction that locks its thread's row, inserts a comment and an event, and moves
the thread's seq; `tasks` at once over 100 threads through a pool of 10 connections. Runs
alternate the drivers. Printed: transactions/s and the client's CPU per transaction (this
process's user + system time), medians over the runs, and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable

import asyncpg
import psycopg
import psycopg_pool

from tests.support.postgres import PostgresServer

SCHEMA = """
DROP TABLE IF EXISTS bench_events, bench_comments, bench_threads;
CREATE TABLE bench_threads (thread TEXT PRIMARY KEY, seq BIGINT NOT NULL DEFAULT 0);
CREATE TABLE bench_comments (id TEXT PRIMARY KEY, thread TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE bench_events (thread TEXT, seq BIGINT, payload BYTEA, PRIMARY KEY (thread, seq));
INSERT INTO bench_threads (thread) SELECT 't' || n FROM generate_series(0, 99) AS n;
"""
LOCK = "SELECT seq FROM bench_threads WHERE thread = $1 FOR UPDATE"
COMMENT = "INSERT INTO bench_comments (id, thread, body) VALUES ($1, $2, $3)"
EVENT = "INSERT INTO bench_events (thread, seq, payload) VALUES ($1, $2, $3)"
MOVE = "UPDATE bench_threads SET seq = $1 WHERE thread = $2"
BODY = "a comment of ordinary length, " * 8
PAYLOAD = b'{"type":"comment.created","seq":0,"comment":{}}' * 6


def _psycopg(sql: str) -> str:
    # psycopg's placeholders are %s; the statements are the same.
    for n in range(4, 0, -1):
        sql = sql.replace(f"${n}", "%s")
    return sql


async def _asyncpg_post(pool: asyncpg.Pool, n: int) -> None:
    thread = f"t{random.randrange(100)}"
    async with pool.acquire() as conn, conn.transaction():
        seq = await conn.fetchval(LOCK, thread) + 1
        await conn.execute(COMMENT, f"c{n}", thread, BODY)
        await conn.execute(EVENT, thread, seq, PAYLOAD)
        await conn.execute(MOVE, seq, thread)


async def _psycopg_post(pool: psycopg_pool.AsyncConnectionPool, n: int) -> None:
    thread = f"t{random.randrange(100)}"
    async with pool.connection() as conn, conn.transaction():
        row = await (await conn.execute(_psycopg(LOCK), (thread,))).fetchone()
        assert row is not None
        seq = int(row[0]) + 1
        await conn.execute(_psycopg(COMMENT), (f"c{n}", thread, BODY))
        await conn.execute(_psycopg(EVENT), (thread, seq, PAYLOAD))
        await conn.execute(_psycopg(MOVE), (seq, thread))


async def _drive(
    post: Callable[[int], Awaitable[None]], ops: int, tasks: int
) -> tuple[float, float]:
    counter = iter(range(ops))

    async def worker() -> None:
        for n in counter:
            await post(n)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(tasks)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return ops / wall, cpu / ops * 1e6


async def _reset(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(SCHEMA)
    finally:
        await conn.close()


async def run_asyncpg(url: str, ops: int, tasks: int) -> tuple[float, float]:
    await _reset(url)
    pool = await asyncpg.create_pool(url, min_size=10, max_size=10)
    try:
        return await _drive(lambda n: _asyncpg_post(pool, n), ops, tasks)
    finally:
        await pool.close()


async def run_psycopg(url: str, ops: int, tasks: int) -> tuple[float, float]:
    await _reset(url)
    pool = psycopg_pool.AsyncConnectionPool(url, min_size=10, max_size=10, open=False)
    await pool.open(wait=True)
    try:
        return await _drive(lambda n: _psycopg_post(pool, n), ops, tasks)
    finally:
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ops", type=int, default=3000)
    parser.add_argument("--tasks", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float]]] = {"asyncpg": [], "psycopg 3": []}
    with PostgresServer() as server:
        for _ in range(args.runs):
            results["asyncpg"].append(asyncio.run(run_asyncpg(server.url, args.ops, args.tasks)))
            results["psycopg 3"].append(asyncio.run(run_psycopg(server.url, args.ops, args.tasks)))
    print(f"# PostgreSQL drivers: a post's transaction, {args.tasks} at once, pool of 10")
    print(f"(psycopg {psycopg.__version__}, psycopg-pool {psycopg_pool.__version__}, ", end="")
    print(f"asyncpg {asyncpg.__version__}; medians of {args.runs} alternating runs)\n")
    print("| driver | transactions/s | client CPU per transaction (µs) |")
    print("|---|---:|---:|")
    medians = {
        name: (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
        for name, runs in results.items()
    }
    for name, (rate, cpu) in medians.items():
        print(f"| {name} | {rate:,.0f} | {cpu:,.0f} |")
    (a_rate, a_cpu), (p_rate, p_cpu) = medians["asyncpg"], medians["psycopg 3"]
    print(f"\nasyncpg / psycopg 3: {a_rate / p_rate:.2f}x the rate, {a_cpu / p_cpu:.2f}x the CPU")


if __name__ == "__main__":
    main()
