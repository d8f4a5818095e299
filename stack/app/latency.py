"""Maximum request latency over a sliding time window, per endpoint.

Prometheus histograms give averages and quantiles but not the true maximum, which the seed's
dashboard shows. Each worker keeps the maximum per one-second slot for the last ``window_s`` seconds,
so the maximum ages out after the window instead of sticking forever like a plain "max seen" gauge.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

__all__ = ["SlidingMax"]


class SlidingMax:
    """Maximum of observed values per key within the last ``window_s`` seconds (1 s resolution)."""

    def __init__(self, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._slots = max(1, math.ceil(window_s))
        self._clock = clock
        self._lock = threading.Lock()
        # key -> {slot number (whole seconds): max value in that second}
        self._maxima: dict[str, dict[int, float]] = {}

    def observe(self, key: str, value: float) -> float:
        """Record ``value`` for ``key``; return the key's current window maximum."""
        second = int(self._clock())
        with self._lock:
            slots = self._maxima.setdefault(key, {})
            slots[second] = max(value, slots.get(second, value))
            return self._window_max(slots, second)

    def snapshot(self) -> dict[str, float]:
        """Window maximum of every key seen so far (0.0 once its observations have aged out)."""
        second = int(self._clock())
        with self._lock:
            return {key: self._window_max(slots, second) for key, slots in self._maxima.items()}

    def _window_max(self, slots: dict[int, float], second: int) -> float:
        oldest = second - self._slots + 1
        for stale in [s for s in slots if s < oldest]:
            del slots[stale]
        return max(slots.values(), default=0.0)
