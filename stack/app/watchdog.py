"""A client-side deadline for Postgres round trips.

Why: ``statement_timeout`` is enforced by the server, so it does nothing when the server process is
frozen (the chaos library's "pause" fault sends SIGSTOP; the kernel keeps the TCP connection open, so
the client waits forever). Every gthread worker thread would then block on Postgres, ``/status`` and
``/metrics`` would stop answering and the app would look dead instead of answering 503. The watchdog
tracks connections in use and, past their deadline, shuts their socket down: the blocked call fails
at once with "server closed the connection", the request answers 503 and the pool drops the
connection.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["RoundTripWatchdog"]

log = logging.getLogger(__name__)


class RoundTripWatchdog:
    """One daemon thread that severs connections kept busy longer than ``limit_s``."""

    def __init__(self, limit_s: float, tick_s: float = 0.1) -> None:
        self._limit_s = limit_s
        self._tick_s = tick_s
        self._lock = threading.Lock()
        self._active: dict[int, tuple[float, Any]] = {}
        self._next_token = 0
        self._thread = threading.Thread(target=self._run, name="pg-round-trip-watchdog", daemon=True)
        self._thread.start()

    @contextmanager
    def guard(self, conn: Any) -> Iterator[None]:
        """Sever ``conn`` if the block has not finished within the limit."""
        with self._lock:
            self._next_token += 1
            token = self._next_token
            self._active[token] = (time.monotonic() + self._limit_s, conn)
        try:
            yield
        finally:
            # Severing happens under the same lock, so once this returns the connection is never cut.
            with self._lock:
                del self._active[token]

    def _run(self) -> None:
        while True:
            time.sleep(self._tick_s)
            now = time.monotonic()
            with self._lock:
                overdue = [(token, conn) for token, (deadline, conn) in self._active.items() if deadline <= now]
                for token, conn in overdue:
                    self._active[token] = (float("inf"), conn)  # sever once
                    _sever(conn)


def _sever(conn: Any) -> None:
    """Shut the connection's socket down so a thread blocked on it wakes up with an error."""
    try:
        fd = conn.pgconn.socket
        sock = socket.socket(fileno=fd)
    except Exception as exc:  # the connection is already closed: nothing to cut
        log.debug("cannot sever postgres connection: %s", exc)
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
        log.warning("postgres did not answer within the deadline: connection cut")
    except OSError as exc:
        log.debug("cannot sever postgres connection: %s", exc)
    finally:
        sock.detach()  # the fd belongs to libpq: do not close it
