"""Postgres access for one worker: a small psycopg pool, the ``items`` schema and the queries.

Why the pool is configured the way it is:

* ``open(wait=False)``: start-up never blocks on Postgres, so the worker boots (and answers
  ``/status``) while Postgres is down.
* ``check=ConnectionPool.check_connection``: every connection is tested before it is handed out, so
  connections broken by a Postgres restart are dropped instead of failing a request.
* ``reconnect_timeout`` of a few seconds: psycopg_pool retries a failed connection with exponential
  backoff (1, 2, 4, ... s) for ``reconnect_timeout``; with the 5 minute default the pool can keep
  answering 503 for minutes after Postgres is back. Giving up early lets the next request start a
  fresh attempt.
* ``configure`` creates the table on the first connection that succeeds, so the schema appears at
  start-up when Postgres is up, or lazily on the first connection after it comes back.
* autocommit, with explicit transactions for writes: reads cost one round trip, and every round trip
  happens inside the :class:`RoundTripWatchdog` guard, so a frozen server cannot hang a thread.
* fail fast while Postgres is down (:class:`~.breaker.Breaker`): after a failure, requests answer 503
  at once for ``FAIL_FAST_S`` and then one request at a time probes again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from .breaker import Breaker
from .exceptions import DependencyUnavailable
from .settings import Settings
from .watchdog import RoundTripWatchdog

__all__ = ["Database"]

log = logging.getLogger(__name__)

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS items (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    value bigint NOT NULL,
    created_at timestamptz DEFAULT now()
)
"""
# Concurrent CREATE TABLE IF NOT EXISTS from several workers can still fail on the catalog's unique
# index; an advisory lock serialises them. The key is arbitrary but fixed ("alertdrl" in ASCII).
SCHEMA_LOCK_KEY = 0x616C65727464726C

#: After Postgres failed, answer 503 without trying for this long; then one request probes.
FAIL_FAST_S = 1.0

# Failures that mean "Postgres cannot serve us right now" (down, restarting, too slow).
_UNAVAILABLE = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout, PoolClosed)


class Database:
    """One worker's connection pool plus the few queries the routes need."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._schema_ready = False
        self._schema_lock = threading.Lock()
        self._breaker = Breaker("postgres", FAIL_FAST_S)
        # Past the server-side statement_timeout plus a margin, the server is not answering at all.
        self._watchdog = RoundTripWatchdog(settings.statement_timeout_ms / 1000.0 + 1.0)
        self._pool: ConnectionPool[psycopg.Connection[dict[str, Any]]] = ConnectionPool(
            settings.database_url,
            kwargs={
                "connect_timeout": settings.db_connect_timeout_s,
                "options": f"-c statement_timeout={settings.statement_timeout_ms}",
                "application_name": "alertdrill-app",
                "row_factory": dict_row,
                "autocommit": True,
            },
            min_size=settings.db_pool_max_size,  # full from the start (Settings)
            max_size=settings.db_pool_max_size,
            timeout=settings.db_pool_timeout_s,
            reconnect_timeout=settings.db_reconnect_timeout_s,
            check=self._check,
            configure=self._ensure_schema,
            name="alertdrill-app",
            open=False,
        )

    def open(self) -> None:
        """Start the pool in the background; never waits for Postgres."""
        self._pool.open(wait=False)

    def close(self) -> None:
        """Close every connection and stop the pool's threads."""
        self._pool.close(timeout=2.0)

    @property
    def schema_ready(self) -> bool:
        """True once this worker has created (or found) the ``items`` table."""
        return self._schema_ready

    def _check(self, conn: psycopg.Connection[Any]) -> None:
        """Pool ``check`` hook: a round trip before a connection is handed out, under the deadline."""
        with self._watchdog.guard(conn):
            ConnectionPool.check_connection(conn)

    def _ensure_schema(self, conn: psycopg.Connection[Any]) -> None:
        """Pool ``configure`` hook: create the table once per worker, on its first good connection."""
        if self._schema_ready:
            return
        with self._schema_lock, self._watchdog.guard(conn):
            if self._schema_ready:
                return
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
                conn.execute(SCHEMA_SQL)
            self._schema_ready = True
            log.info("items table is ready")

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        """Borrow a connection; turn 'Postgres is unavailable' failures into DependencyUnavailable."""
        with self._breaker.call():
            try:
                with self._pool.connection() as conn, self._watchdog.guard(conn):
                    yield conn
            except _UNAVAILABLE as exc:
                raise DependencyUnavailable("postgres", _one_line(exc)) from exc

    def ping(self) -> None:
        """Raise DependencyUnavailable unless Postgres answers a trivial query."""
        with self._connection() as conn:
            conn.execute("SELECT 1")

    def greeting(self) -> str:
        """The seed's hello world, produced by Postgres so /helloworld can work without Redis."""
        with self._connection() as conn:
            row = conn.execute("SELECT 'Hello World' AS msg").fetchone()
        assert row is not None
        return str(row["msg"])

    def insert_item(self, name: str, value: int, *, keep: bool = True) -> int:
        """Insert an item and return its id once committed; ``keep=False`` rolls the insert back."""
        with self._connection() as conn, conn.transaction() as tx:
            row = conn.execute(
                "INSERT INTO items (name, value) VALUES (%s, %s) RETURNING id", (name, value)
            ).fetchone()
            assert row is not None
            if not keep:
                raise psycopg.Rollback(tx)  # leaves the transaction block rolled back, no error
        return int(row["id"])

    def get_item(self, item_id: int) -> dict[str, Any] | None:
        """One item as a JSON-ready dict, or None when no such id exists."""
        with self._connection() as conn:
            row = conn.execute(
                "SELECT id, name, value, created_at FROM items WHERE id = %s", (item_id,)
            ).fetchone()
        return _item(row) if row else None

    def list_items(self, limit: int) -> list[dict[str, Any]]:
        """The ``limit`` most recent items, newest first."""
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT id, name, value, created_at FROM items ORDER BY created_at DESC, id DESC LIMIT %s",
                (limit,),
            ).fetchall()
        return [_item(row) for row in rows]


def _item(row: dict[str, Any]) -> dict[str, Any]:
    created: datetime | None = row["created_at"]
    return {
        "id": int(row["id"]),
        "name": row["name"],
        "value": int(row["value"]),
        "created_at": created.isoformat() if created else None,
    }


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
