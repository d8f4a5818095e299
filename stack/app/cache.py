"""Redis access for one worker: a JSON cache with short timeouts and a floor of open connections.

The client fails fast (1 s socket timeouts, one immediate retry that transparently replaces a socket
killed by a Redis restart) so a Redis outage turns into a quick fallback to Postgres, not a hang; and
while Redis is down a breaker skips it altogether (:class:`~.breaker.Breaker`).
"""

from __future__ import annotations

import json
import os
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .breaker import Breaker
from .exceptions import DependencyUnavailable
from .keeper import ConnectionKeeper
from .settings import Settings

__all__ = ["FAIL_FAST_S", "Cache"]

#: After Redis failed, skip it for this long; then one request probes.
FAIL_FAST_S = 1.0


class Cache:
    """JSON get/set on Redis; every Redis failure becomes DependencyUnavailable('redis')."""

    def __init__(self, settings: Settings) -> None:
        self._pool = redis.ConnectionPool.from_url(
            settings.redis_url,
            socket_timeout=settings.redis_socket_timeout_s,
            socket_connect_timeout=settings.redis_socket_timeout_s,
            retry=Retry(NoBackoff(), 1),
            health_check_interval=5,
            # The name lets operators (and tests) count this worker's connections in CLIENT LIST.
            client_name=f"alertdrill-app-{os.getpid()}",
            max_connections=64,
        )
        self._client = redis.Redis(connection_pool=self._pool)
        self._breaker = Breaker("redis", FAIL_FAST_S)
        self._keeper = ConnectionKeeper(
            self._pool, settings.redis_min_connections, settings.redis_keepalive_interval_s
        )

    def open(self) -> None:
        """Start holding the minimum number of connections; returns at once."""
        self._keeper.start()

    def close(self) -> None:
        """Stop the keeper and close every connection."""
        self._keeper.stop()
        self._pool.disconnect()

    def ping(self) -> None:
        """Raise DependencyUnavailable unless Redis answers PING."""
        with self._breaker.call():
            try:
                self._client.ping()
            except (redis.RedisError, OSError) as exc:
                raise DependencyUnavailable("redis", f"{type(exc).__name__}: {exc}") from exc

    def get_json(self, key: str) -> Any | None:
        """The cached value for ``key``, or None on a miss."""
        with self._breaker.call():
            try:
                raw = self._client.get(key)
            except (redis.RedisError, OSError) as exc:
                raise DependencyUnavailable("redis", f"{type(exc).__name__}: {exc}") from exc
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None  # not ours or corrupted: a miss, the caller rewrites it

    def set_json(self, key: str, value: Any, ttl_s: int) -> None:
        """Cache ``value`` under ``key`` for ``ttl_s`` seconds."""
        with self._breaker.call():
            try:
                self._client.set(key, json.dumps(value, separators=(",", ":")), ex=ttl_s)
            except (redis.RedisError, OSError) as exc:
                raise DependencyUnavailable("redis", f"{type(exc).__name__}: {exc}") from exc
