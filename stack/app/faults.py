"""The fault switch: a local JSON file that makes the app misbehave on purpose for chaos drills.

The file (``ALERTDRILL_APP_FAULT_FILE``) may hold::

    {"error_ratio": 0.5, "latency_ms": 300, "drop_writes": true}

* ``error_ratio`` (0..1): that fraction of requests gets a JSON 500 ``{"error": "injected fault"}``.
* ``latency_ms`` (>= 0): sleep added before the request is handled.
* ``drop_writes`` (bool): ``POST /items`` answers 201 with an id but rolls the insert back.

A file on disk (not an HTTP endpoint) keeps the switch reachable only from the host. It is checked
at most every 100 ms per worker and re-read only when its mtime, size or inode change, so the cost
per request is one clock read and occasionally one ``stat``. A missing file means no fault; an
invalid file logs a warning and means no fault, it never breaks the app.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["NO_FAULT", "FaultConfig", "FaultSwitch", "parse_fault"]

log = logging.getLogger(__name__)

CHECK_INTERVAL_S = 0.1
MAX_LATENCY_MS = 120_000.0


@dataclass(frozen=True)
class FaultConfig:
    """What to inject right now; the default injects nothing."""

    error_ratio: float = 0.0
    latency_ms: float = 0.0
    drop_writes: bool = False

    @property
    def active(self) -> bool:
        return self.error_ratio > 0 or self.latency_ms > 0 or self.drop_writes


NO_FAULT = FaultConfig()


def parse_fault(document: Any) -> FaultConfig:
    """Validate a decoded fault document; raise ValueError with the reason when it is not valid."""
    if not isinstance(document, dict):
        raise ValueError("the fault file must hold a JSON object")
    unknown = sorted(set(document) - {"error_ratio", "latency_ms", "drop_writes"})
    if unknown:
        raise ValueError(f"unknown keys {unknown}")
    error_ratio = document.get("error_ratio", 0.0)
    latency_ms = document.get("latency_ms", 0.0)
    drop_writes = document.get("drop_writes", False)
    if isinstance(error_ratio, bool) or not isinstance(error_ratio, int | float) or not 0 <= error_ratio <= 1:
        raise ValueError(f"error_ratio must be a number in 0..1, got {error_ratio!r}")
    if (isinstance(latency_ms, bool) or not isinstance(latency_ms, int | float)
            or not 0 <= latency_ms <= MAX_LATENCY_MS):
        raise ValueError(f"latency_ms must be a number in 0..{MAX_LATENCY_MS:.0f}, got {latency_ms!r}")
    if not isinstance(drop_writes, bool):
        raise ValueError(f"drop_writes must be true or false, got {drop_writes!r}")
    return FaultConfig(float(error_ratio), float(latency_ms), drop_writes)


class FaultSwitch:
    """Reads the fault file lazily and caches the result; thread-safe, never raises."""

    def __init__(self, path: Path | None, check_interval_s: float = CHECK_INTERVAL_S) -> None:
        self._path = path
        self._check_interval_s = check_interval_s
        self._lock = threading.Lock()
        self._next_check = 0.0
        self._signature: tuple[int, int, int] | None = None
        self._current = NO_FAULT

    @property
    def path(self) -> Path | None:
        return self._path

    def current(self) -> FaultConfig:
        """The fault in effect, at most ``check_interval_s`` stale."""
        if self._path is None:
            return NO_FAULT
        now = time.monotonic()
        if now < self._next_check:
            return self._current
        with self._lock:
            if now >= self._next_check:
                self._refresh()
                self._next_check = time.monotonic() + self._check_interval_s
            return self._current

    def _refresh(self) -> None:
        assert self._path is not None
        try:
            st = self._path.stat()
        except OSError:
            if self._signature is not None:
                log.info("fault file %s removed: no fault", self._path)
            self._signature, self._current = None, NO_FAULT
            return
        signature = (st.st_mtime_ns, st.st_size, st.st_ino)
        if signature == self._signature:
            return
        self._signature = signature
        try:
            config = parse_fault(json.loads(self._path.read_text(encoding="utf-8") or "{}"))
        except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            log.warning("ignoring invalid fault file %s (%s): no fault", self._path, exc)
            config = NO_FAULT
        if config != self._current:
            log.warning("fault switch %s: %s", self._path, config if config.active else "off")
        self._current = config
