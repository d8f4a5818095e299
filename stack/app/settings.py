"""Runtime settings of the API, read once from the environment.

The stack passes everything through environment variables so the same ``wsgi:app`` works under any
backend. Missing or malformed values raise :class:`ConfigError` with one line that names every bad
variable, so a broken launch fails at start instead of serving errors later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from alertdrill.errors import ConfigError

__all__ = ["ENV_DATABASE_URL", "ENV_FAULT_FILE", "ENV_MULTIPROC_DIR", "ENV_REDIS_URL", "Settings"]

ENV_DATABASE_URL = "ALERTDRILL_DATABASE_URL"
ENV_REDIS_URL = "ALERTDRILL_REDIS_URL"
ENV_FAULT_FILE = "ALERTDRILL_APP_FAULT_FILE"
ENV_MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
ENV_STATEMENT_TIMEOUT_MS = "ALERTDRILL_DB_STATEMENT_TIMEOUT_MS"
ENV_DB_POOL_MAX_SIZE = "ALERTDRILL_DB_POOL_MAX_SIZE"
ENV_DB_POOL_TIMEOUT_S = "ALERTDRILL_DB_POOL_TIMEOUT_S"

_T = TypeVar("_T", int, float)


@dataclass(frozen=True)
class Settings:
    """Everything the app needs; defaults are tuned for fast failure and fast recovery."""

    database_url: str
    redis_url: str
    multiproc_dir: Path
    fault_file: Path | None = None
    # Postgres: fail a request within ~2 s when the server is gone, and reconnect within seconds
    # after it is back (psycopg_pool otherwise backs off for up to 5 minutes).
    statement_timeout_ms: int = 2000
    # The pool is opened full and kept full: it never has to connect while Postgres is busy or short of
    # slots (a drill holding 80 % of max_connections once stalled every request for the 2 s pool
    # timeout while the pool tried to grow).
    db_pool_max_size: int = 4
    db_pool_timeout_s: float = 2.0
    db_connect_timeout_s: int = 2
    db_reconnect_timeout_s: float = 5.0
    # Redis: a hung server costs at most ~1 s per attempt.
    redis_socket_timeout_s: float = 1.0
    redis_min_connections: int = 3
    redis_keepalive_interval_s: float = 1.0
    cache_ttl_s: int = 30
    max_latency_window_s: float = 60.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from ``environ``; raise ConfigError naming every missing or bad variable."""
        problems: list[str] = []
        database_url = environ.get(ENV_DATABASE_URL, "").strip()
        redis_url = environ.get(ENV_REDIS_URL, "").strip()
        multiproc_dir = environ.get(ENV_MULTIPROC_DIR, "").strip()
        fault_file = environ.get(ENV_FAULT_FILE, "").strip()

        if not database_url:
            problems.append(f"{ENV_DATABASE_URL} is not set (postgresql://user@127.0.0.1:5432/db)")
        elif not database_url.startswith(("postgresql://", "postgres://")):
            problems.append(f"{ENV_DATABASE_URL} must be a postgresql:// URL, got {database_url!r}")
        if not redis_url:
            problems.append(f"{ENV_REDIS_URL} is not set (redis://127.0.0.1:6379/0)")
        elif not redis_url.startswith("redis://"):
            problems.append(f"{ENV_REDIS_URL} must be a redis:// URL, got {redis_url!r}")
        if not multiproc_dir:
            problems.append(f"{ENV_MULTIPROC_DIR} is not set (a writable directory for worker metrics)")
        elif Path(multiproc_dir).exists() and not Path(multiproc_dir).is_dir():
            problems.append(f"{ENV_MULTIPROC_DIR}={multiproc_dir} exists and is not a directory")

        statement_timeout_ms = _number(environ, ENV_STATEMENT_TIMEOUT_MS, int, cls.statement_timeout_ms,
                                       problems)
        pool_max = _number(environ, ENV_DB_POOL_MAX_SIZE, int, cls.db_pool_max_size, problems)
        pool_timeout = _number(environ, ENV_DB_POOL_TIMEOUT_S, float, cls.db_pool_timeout_s, problems)

        if problems:
            raise ConfigError("alertdrill app: " + "; ".join(problems))
        return cls(
            database_url=database_url,
            redis_url=redis_url,
            multiproc_dir=Path(multiproc_dir),
            fault_file=Path(fault_file) if fault_file else None,
            statement_timeout_ms=statement_timeout_ms,
            db_pool_max_size=pool_max,
            db_pool_timeout_s=pool_timeout,
        )


def _number(environ: Mapping[str, str], name: str, kind: Callable[[str], _T], default: _T,
            problems: list[str]) -> _T:
    """Parse an optional positive number; record a problem instead of raising so all are reported."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        problems.append(f"{name} must be a number, got {raw!r}")
        return default
    if value <= 0:
        problems.append(f"{name} must be positive, got {raw!r}")
        return default
    return value
