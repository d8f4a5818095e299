"""Keep a floor of open Redis connections in each worker's pool.

Why: the alert ``RedisNotEnoughConnections`` fires when Redis has fewer than 5 connected clients. A
healthy stack runs 2 gunicorn workers, and redis-py opens connections lazily and only as many as
requests need at once, so an idle stack would sit at 1-2 clients and fire a false alarm. Every
worker therefore opens ``min_connections`` (3) connections at start and keeps them in its pool:
2 workers x 3 = 6 > 5 while Redis is up. After Redis restarts the pooled sockets are dead, so a
background thread checks them out together every ``interval`` seconds, PINGs each one (which
reconnects a dead socket) and puts them back; the count recovers within one interval.
"""

from __future__ import annotations

import logging
import threading

import redis

__all__ = ["ConnectionKeeper"]

log = logging.getLogger(__name__)


class ConnectionKeeper:
    """Background thread holding at least ``min_connections`` live connections in a redis-py pool."""

    def __init__(self, pool: redis.ConnectionPool, min_connections: int, interval: float) -> None:
        self._pool = pool
        self._min_connections = min_connections
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._healthy: bool | None = None

    def start(self) -> None:
        """Open the connections now (in the background) and keep them open until :meth:`stop`."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="redis-connection-keeper", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread; the connections stay in the pool until the pool is disconnected."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def _run(self) -> None:
        while True:
            self.top_up()
            if self._stop.wait(self._interval):
                return

    def top_up(self) -> bool:
        """Check out ``min_connections`` connections at once and PING each; True if all answered."""
        held: list[redis.connection.Connection] = []
        ok = False
        try:
            for _ in range(self._min_connections):
                # get_connection() connects a new or dead connection and fails fast if Redis is down.
                held.append(self._pool.get_connection())
            for conn in held:
                conn.send_command("PING")
                conn.read_response()
            ok = True
        except (redis.RedisError, OSError) as exc:
            for conn in held:
                conn.disconnect()
            if self._healthy is not False:
                log.warning("redis connections could not be kept open: %s", exc)
        finally:
            for conn in held:
                self._pool.release(conn)
        if ok and self._healthy is False:
            log.info("redis connections re-established (%d held)", self._min_connections)
        self._healthy = ok
        return ok
