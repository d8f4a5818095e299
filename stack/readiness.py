"""Readiness checks: each answers "is this component serving yet?" without waiting itself.

The native backend polls them with a deadline and, on timeout, reports the last error seen and
the tail of the component's log (see StackStartError).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import psycopg
import redis
import requests

from alertdrill.stack.ports import connect_error

__all__ = ["Check", "http_ok", "postgres_accepts", "redis_pings", "tcp_open"]


@dataclass(frozen=True)
class Check:
    """A named probe returning None when ready, or a short reason why not."""

    description: str
    probe: Callable[[], str | None]


def http_ok(url: str) -> Check:
    def probe() -> str | None:
        try:
            response = requests.get(url, timeout=1.0)
        except requests.RequestException as exc:
            return f"GET {url}: {type(exc).__name__}"
        return None if response.status_code == 200 else f"GET {url}: HTTP {response.status_code}"

    return Check(f"HTTP 200 from {url}", probe)


def tcp_open(host: str, port: int) -> Check:
    return Check(f"TCP {host}:{port} accepting", lambda: connect_error(host, port))


def postgres_accepts(dsn: str) -> Check:
    def probe() -> str | None:
        try:
            with psycopg.connect(dsn, connect_timeout=2, autocommit=True) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            return f"postgres: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}"
        return None

    return Check("Postgres accepting connections", probe)


def redis_pings(url: str) -> Check:
    def probe() -> str | None:
        try:
            client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
            try:
                client.ping()
            finally:
                client.close()
        except redis.RedisError as exc:
            return f"redis: {exc}"
        return None

    return Check("Redis answering PING", probe)
