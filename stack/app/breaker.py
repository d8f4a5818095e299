"""Fail fast while a dependency is down: after a failure, calls fail at once for ``open_s`` seconds,
then one call at a time probes again.

Without it every request waits its dependency's timeouts, the worker threads fill up, and even
``/metrics`` and ``/status`` queue behind them: the chaos drills saw the API's own scrape time out
(ApiDown pending, monitor_service_down{job="app"}) while only Postgres, or only Redis, was down.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from .exceptions import DependencyUnavailable

__all__ = ["Breaker"]


class Breaker:
    """One dependency's breaker; wrap every call in :meth:`call`."""

    def __init__(self, dependency: str, open_s: float) -> None:
        self.dependency = dependency
        self.open_s = open_s
        self._lock = threading.Lock()
        self._open_until = 0.0  # monotonic time until which calls fail fast; 0: the dependency is fine
        self._probing = False
        self._last_failure = ""

    @contextmanager
    def call(self) -> Iterator[None]:
        """Admit the call (or raise DependencyUnavailable at once); a DependencyUnavailable raised inside
        opens the breaker, a call that returns closes it."""
        probe = self._admit()
        try:
            yield
        except DependencyUnavailable as exc:
            with self._lock:
                self._open_until = time.monotonic() + self.open_s
                self._last_failure = exc.detail
            raise
        else:
            with self._lock:
                self._open_until = 0.0
        finally:
            if probe:
                with self._lock:
                    self._probing = False

    def _admit(self) -> bool:
        """True when this call is the one probing after a failure."""
        with self._lock:
            if self._open_until == 0.0:
                return False
            if time.monotonic() < self._open_until or self._probing:
                raise DependencyUnavailable(self.dependency, f"failing fast after: {self._last_failure}")
            self._probing = True
            return True
