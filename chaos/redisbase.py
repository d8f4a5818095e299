"""What every Redis fault shares: guarded clients named after the fault, and cleanup of leftovers.

Every connection of a fault calls itself ``alertdrill-chaos:<fault id>`` (CLIENT SETNAME), so a
later process can list and kill what a crashed one left (CLIENT KILL has no filter by name, so by
ID), and keys a fault writes live under the same prefix with a TTL past the max duration.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import urlsplit

import redis

from alertdrill.errors import FaultRevertError

from .base import Fault, poll
from .params import Param

__all__ = ["RedisFault"]

SOCKET_TIMEOUT_S = 5.0


class RedisFault(Fault):
    """A fault that acts over real connections to the stack's Redis."""

    parameters = {"url": Param(str, None, help="the stack's Redis URL (default: the stack's)")}
    url: str

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.url = self.guard.redis_url(self.url if self.url is not None else self.info.redis_url)
        parts = urlsplit(self.url)
        self.host, self.port = str(parts.hostname), int(parts.port or 0)
        self.db = int(parts.path.strip("/") or 0)
        self._connections: list[redis.connection.Connection] = []

    def target(self) -> dict[str, Any]:
        return {"stack": self.info.name, "url": self.url}

    @property
    def key_prefix(self) -> str:
        return f"{self.application_name}:"

    def ttl_s(self) -> int:
        """Keys outlive the fault only briefly even if nobody reverts it."""
        return math.ceil(self.max_duration + 60)

    # -- connections -------------------------------------------------------------------------------

    @contextmanager
    def client(self) -> Iterator[redis.Redis]:
        """A short-lived client for reading state and changing settings."""
        client = redis.Redis(host=self.host, port=self.port, db=self.db, socket_timeout=SOCKET_TIMEOUT_S,
                             socket_connect_timeout=SOCKET_TIMEOUT_S, client_name=self.application_name,
                             decode_responses=True, single_connection_client=True)
        try:
            yield client
        finally:
            client.close()

    def open_connection(self, *, socket_timeout: float | None = SOCKET_TIMEOUT_S) -> redis.connection.Connection:
        """A raw connection kept until revert (for floods and blocked clients)."""
        conn = redis.connection.Connection(host=self.host, port=self.port, db=self.db, socket_timeout=socket_timeout,
                                           socket_connect_timeout=SOCKET_TIMEOUT_S, client_name=self.application_name)
        self._connections.append(conn)
        conn.connect()
        return conn

    def close_connections(self) -> int:
        conns, self._connections = self._connections, []
        for conn in conns:
            conn.disconnect()
        return len(conns)

    def our_clients(self, client: redis.Redis) -> list[dict[str, Any]]:
        """CLIENT LIST entries named after this fault, except ``client`` itself."""
        me = client.client_id()
        return [c for c in client.client_list() if c.get("name") == self.application_name and int(c["id"]) != me]

    def kill_leftovers(self) -> int:
        """Kill every connection of this fault (also those a dead process left) and wait until gone."""
        with self.client() as client:
            killed = 0
            for entry in self.our_clients(client):
                with suppress(redis.ResponseError):  # already gone
                    killed += int(client.client_kill_filter(_id=entry["id"]))
            poll(lambda: not self.our_clients(client), timeout=10.0, interval=0.05,
                 what=f"clients named {self.application_name} gone", error=FaultRevertError)
        return killed

    def delete_our_keys(self, client: redis.Redis, *, max_batches: int = 10_000) -> int:
        """UNLINK every key under the fault's prefix; bounded by ``max_batches`` SCAN rounds."""
        deleted = 0
        cursor = 0
        for _ in range(max_batches):
            cursor, keys = client.scan(cursor=cursor, match=f"{self.key_prefix}*", count=1000)
            if keys:
                deleted += int(client.unlink(*keys))
            if cursor == 0:
                break
        return deleted

    @staticmethod
    def config(client: redis.Redis, name: str) -> str:
        return str(client.config_get(name)[name])

    @staticmethod
    def info_int(client: redis.Redis, section: str, key: str) -> int:
        return int(client.info(section)[key])

    def _revert(self) -> str:
        closed = self.close_connections()
        killed = self.kill_leftovers()
        parts = [f"closed {closed} connection(s), killed {killed} left over", *self._revert_more()]
        return "; ".join(parts)

    def _revert_more(self) -> list[str]:
        """Subclasses restore settings and delete keys; one line per thing done."""
        return []
