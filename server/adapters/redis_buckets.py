"""The `Buckets` port on Redis (one server, or a Redis Cluster): flood and velocity limits
shared by every process of a deployment, on the Redis its bus uses.

One take is one EVALSHA of a short Lua script, run atomically by Redis: the generic cell rate
algorithm, a token bucket kept as a single number, the moment the bucket will be full again (in
microseconds of Redis's own clock, `TIME`, so hosts whose clocks differ still agree). A refused
take writes nothing; an allowed one sets the key with an expiry at that moment, so an idle key
vanishes exactly when it would allow a full burst again. Keys are `{prefix}bucket:{KEY}`, the
caller's key as the hash tag: a take touches one key and so one slot, and a take of several
keys at once would need them to share a tag.

Every call is bounded by `timeout` (connecting included): Redis stopped, unreachable or hung
raises BucketsUnavailable by then, never hangs (`Fallback`, in server/limits.py, then limits
per process). Until a first call has succeeded the bound is `setup_timeout` instead: the first
contact also loads the script and, on a cluster, reads the slot map and the command table
(0.1 to 0.3 s on a busy test machine), which must not count as Redis being away. Nothing is
kept here but the connections.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisClusterException, RedisError

from server.adapters.redis_cluster_nodes import cluster_nodes, credentials, tls_options
from server.limits import BucketsUnavailable, Rate

# ARGV[1]: microseconds between two tokens (an integer); ARGV[2]: the burst, in tokens.
# Returns 0 (taken) or the microseconds until a token is there.
TAKE = """
local interval = tonumber(ARGV[1])
local burst = interval * tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local full_at = tonumber(redis.call('GET', KEYS[1]) or now)
if full_at < now then full_at = now end
local after = full_at + interval
local wait = after - burst - now
if wait > 0 then return wait end
redis.call('SET', KEYS[1], string.format('%d', after), 'PX', math.ceil((after - now) / 1000))
return 0
"""

# What an unreachable, refusing or confused store raises: redis-py wraps most socket errors,
# not all (asyncio's TimeoutError is an OSError); the cluster client has errors of its own.
_UNAVAILABLE = (RedisError, RedisClusterException, OSError)


class RedisBuckets:
    """Token buckets in Redis, shared by every process using the same Redis and prefix."""

    def __init__(
        self,
        client: Redis | RedisCluster,
        prefix: str,
        *,
        timeout: float,
        connections: int,
        setup_timeout: float = 2.0,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._timeout = timeout
        self._setup_timeout = max(timeout, setup_timeout)
        self._ready = False  # a call has succeeded: the script is loaded, the map known
        # Callers wait here for a connection rather than make the pool refuse (redis-py's pool
        # raises when it has none left): a burst of sockets opening queues, within `timeout`.
        self._connections = asyncio.Semaphore(connections)
        self._take = client.register_script(TAKE)

    @classmethod
    def on_server(
        cls, url: str, prefix: str = "livethread:", *, timeout: float = 0.5, connections: int = 16
    ) -> RedisBuckets:
        """On one Redis server: `redis://HOST:PORT/DB`, `rediss://` for TLS (the bus's URL)."""
        client = Redis.from_url(url, max_connections=connections, **_options(timeout))
        return cls(client, prefix, timeout=timeout, connections=connections)

    @classmethod
    def on_cluster(
        cls, url: str, prefix: str = "livethread:", *, timeout: float = 0.5, connections: int = 16
    ) -> RedisBuckets:
        """On a Redis Cluster: `redis+cluster://HOST:PORT[,HOST:PORT…]`, `rediss+cluster://`
        for TLS (the bus's URL; a ValueError names what is wrong with it)."""
        username, password = credentials(url)
        tls = tls_options(url)
        client = RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in cluster_nodes(url)],
            username=username,
            password=password,
            max_connections=connections,
            # The retry (one, at once) follows a refresh of the slot map after MOVED or a lost
            # node; the call's timeout bounds it all.
            **_options(timeout),
            **({"ssl": True, **tls} if tls else {}),
        )
        return cls(client, prefix, timeout=timeout, connections=connections)

    async def take(self, key: str, rate: Rate) -> float:
        interval = max(1, math.ceil(rate.seconds * 1_000_000 / rate.count))
        try:
            async with asyncio.timeout(self._timeout if self._ready else self._setup_timeout):
                async with self._connections:
                    wait = await self._take(keys=[self.name(key)], args=[interval, rate.count])
        except _UNAVAILABLE as exc:
            raise BucketsUnavailable(f"Redis did not answer: {exc or type(exc).__name__}") from exc
        self._ready = True
        return int(wait) / 1_000_000

    def name(self, key: str) -> str:
        """The Redis key of the bucket `key`."""
        return f"{self._prefix}bucket:{{{key}}}"

    async def aclose(self) -> None:
        await self._client.aclose()


def _options(timeout: float) -> dict[str, Any]:
    return {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        # One immediate retry covers a pooled connection that went stale while Redis restarted;
        # more would only hold up the caller's fallback.
        "retry": Retry(NoBackoff(), 1),
    }
