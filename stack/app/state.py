"""The per-worker resources a running app holds, reachable from request handlers."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from prometheus_client import CollectorRegistry

from .cache import Cache
from .db import Database
from .faults import FaultSwitch
from .metrics import AppMetrics
from .settings import Settings

__all__ = ["EXTENSION_KEY", "AppState", "current_state"]

EXTENSION_KEY = "alertdrill"


@dataclass
class AppState:
    """Settings plus the open pools of this worker; :meth:`close` releases them (tests, shutdown)."""

    settings: Settings
    db: Database
    cache: Cache
    faults: FaultSwitch
    metrics: AppMetrics
    registry: CollectorRegistry

    def close(self) -> None:
        """Close the Redis and Postgres pools and stop their background threads."""
        self.cache.close()
        self.db.close()


def current_state() -> AppState:
    """The AppState of the app handling the current request."""
    state: AppState = current_app.extensions[EXTENSION_KEY]
    return state
