"""Dependency outages: 503s that name the dependency, the Redis fallback, and recovery after restart."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import psycopg
import pytest
from apptest_support import wait_for
from flask import Flask
from flask.testing import FlaskClient

from alertdrill.stack.app.exceptions import DependencyUnavailable
from alertdrill.stack.app.settings import Settings
from alertdrill.stack.app.state import EXTENSION_KEY

if TYPE_CHECKING:
    from conftest import Backends

pytestmark = pytest.mark.timeout(180)

RECOVERY_TIMEOUT_S = 20.0


def _ready(client: FlaskClient) -> bool:
    return client.get("/ready").status_code == 200


def test_postgres_down_is_503_naming_postgres_then_recovers(client: FlaskClient, backends: Backends) -> None:
    assert client.get("/helloworld").status_code == 200  # warms the cache
    item_id = client.post("/items", json={"name": "before", "value": 1}).get_json()["id"]

    with backends.postgres.stopped():
        ready = client.get("/ready")
        assert ready.status_code == 503
        body = ready.get_json()
        assert body["dependency"] == "postgres"
        assert body["checks"] == {"postgres": "down", "redis": "up"}

        for response in (client.post("/items", json={"name": "during", "value": 2}), client.get("/items")):
            assert response.status_code == 503
            assert response.get_json()["dependency"] == "postgres"
            assert "postgres" in response.get_json()["error"]

        missing = client.get(f"/items/{item_id + 1000}")  # not cached: needs Postgres
        assert missing.status_code == 503

        # Served from Redis while Postgres is away, and liveness never depends on anyone.
        assert client.get("/helloworld").get_json() == {"msg": "Hello World", "source": "cache"}
        assert client.get("/status").status_code == 200

    wait_for(lambda: _ready(client), RECOVERY_TIMEOUT_S, "/ready after the postgres restart")
    created = client.post("/items", json={"name": "after", "value": 3})
    assert created.status_code == 201
    assert client.get(f"/items/{created.get_json()['id']}").status_code == 200


def test_redis_down_falls_back_to_postgres_then_recovers(client: FlaskClient, backends: Backends) -> None:
    item_id = client.post("/items", json={"name": "cached", "value": 7}).get_json()["id"]
    assert client.get(f"/items/{item_id}").headers["X-Source"] == "database"

    with backends.redis.stopped():
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.get_json()["dependency"] == "redis"
        assert ready.get_json()["checks"] == {"postgres": "up", "redis": "down"}

        hello = client.get("/helloworld")
        assert hello.status_code == 200
        assert hello.get_json() == {"msg": "Hello World", "source": "database"}

        item = client.get(f"/items/{item_id}")
        assert item.status_code == 200
        assert item.headers["X-Source"] == "database"
        assert item.get_json()["value"] == 7
        assert client.post("/items", json={"name": "no cache needed", "value": 8}).status_code == 201

    wait_for(lambda: _ready(client), RECOVERY_TIMEOUT_S, "/ready after the redis restart")
    assert client.get("/helloworld").get_json()["source"] == "database"  # the restart emptied the cache
    assert client.get("/helloworld").get_json()["source"] == "cache"


def test_both_down_helloworld_is_503_naming_both(client: FlaskClient, backends: Backends) -> None:
    with backends.redis.stopped(), backends.postgres.stopped():
        hello = client.get("/helloworld")
        assert hello.status_code == 503
        body = hello.get_json()
        assert body["dependencies"] == ["redis", "postgres"]
        assert "redis" in body["error"]
        assert "postgres" in body["error"]
        ready = client.get("/ready").get_json()
        assert ready["dependencies"] == ["postgres", "redis"]
    wait_for(lambda: _ready(client), RECOVERY_TIMEOUT_S, "/ready after both restarts")


def test_starts_fast_while_both_are_down_and_creates_the_table_later(
    make_app: Callable[[Settings], Flask], settings: Settings, backends: Backends
) -> None:
    dbname = f"lazy_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(backends.postgres.dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {dbname}")
    lazy_settings = replace(settings, database_url=backends.postgres.dsn_for(dbname))

    with backends.redis.stopped(), backends.postgres.stopped():
        started = time.monotonic()
        client = make_app(lazy_settings).test_client()
        assert client.get("/status").status_code == 200
        assert time.monotonic() - started < 1.0
        assert client.get("/ready").status_code == 503
        assert client.post("/items", json={"name": "a", "value": 1}).status_code == 503

    wait_for(lambda: _ready(client), RECOVERY_TIMEOUT_S, "/ready once both are up")
    created = client.post("/items", json={"name": "lazy", "value": 1})
    assert created.status_code == 201
    with psycopg.connect(backends.postgres.dsn_for(dbname)) as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (1,)


def test_holds_at_least_three_redis_connections_and_reopens_them(app: Flask, backends: Backends) -> None:
    name = f"alertdrill-app-{os.getpid()}"

    def held() -> int:
        return backends.redis.clients_named(name).get(name, 0)

    wait_for(lambda: held() >= 3, 10.0, "3 redis connections held by the app")
    with backends.redis.stopped():
        pass
    wait_for(lambda: held() >= 3, 10.0, "3 redis connections re-opened after the redis restart")


def test_frozen_postgres_answers_503_instead_of_hanging(
    make_app: Callable[[Settings], Flask], settings: Settings, backends: Backends
) -> None:
    # statement_timeout cannot fire on a stopped server; the client-side deadline (statement_timeout
    # + 1 s) must cut the connection. Without it the request below would hang until SIGCONT.
    client = make_app(replace(settings, statement_timeout_ms=300)).test_client()
    assert client.post("/items", json={"name": "warm", "value": 1}).status_code == 201
    with backends.postgres.paused():
        started = time.monotonic()
        response = client.get("/items")
        elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert response.get_json()["dependency"] == "postgres"
        assert elapsed < 10.0
        assert client.get("/status").status_code == 200
    wait_for(lambda: client.get("/items").status_code == 200, RECOVERY_TIMEOUT_S, "postgres after SIGCONT")


def test_frozen_redis_falls_back_to_postgres_quickly(client: FlaskClient, backends: Backends) -> None:
    assert client.get("/helloworld").status_code == 200
    with backends.redis.paused():
        started = time.monotonic()
        hello = client.get("/helloworld")
        assert hello.get_json() == {"msg": "Hello World", "source": "database"}
        assert time.monotonic() - started < 10.0  # socket timeouts: ~1 s per attempt, 2 attempts
    wait_for(lambda: client.get("/helloworld").get_json()["source"] == "cache", RECOVERY_TIMEOUT_S,
             "the cache after SIGCONT")


def test_statement_timeout_turns_a_slow_query_into_unavailable(
    make_app: Callable[[Settings], Flask], settings: Settings
) -> None:
    app = make_app(replace(settings, statement_timeout_ms=100))
    db = app.extensions[EXTENSION_KEY].db
    with pytest.raises(DependencyUnavailable) as caught, db._connection() as conn:
        conn.execute("SELECT pg_sleep(2)")
    assert caught.value.dependency == "postgres"
    assert "QueryCanceled" in caught.value.detail
