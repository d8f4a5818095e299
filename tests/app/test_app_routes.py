"""Every endpoint and every 4xx path, through Flask's test client against real Postgres and Redis."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import psycopg
import pytest
from flask.testing import FlaskClient

if TYPE_CHECKING:
    from conftest import Backends

pytestmark = pytest.mark.timeout(180)


def test_status_is_up(client: FlaskClient) -> None:
    response = client.get("/status")
    assert response.status_code == 200
    assert response.get_json() == {"status": "Up"}


def test_ready_when_both_dependencies_answer(client: FlaskClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {"postgres": "up", "redis": "up"}}


def test_helloworld_is_cached_in_redis_for_30s(client: FlaskClient, backends: Backends) -> None:
    first = client.get("/helloworld")
    assert first.status_code == 200
    assert first.get_json() == {"msg": "Hello World", "source": "database"}

    with backends.redis.client() as redis_client:
        assert json.loads(redis_client.get("helloworld")) == {"msg": "Hello World"}
        assert 0 < redis_client.ttl("helloworld") <= 30

    second = client.get("/helloworld")
    assert second.get_json() == {"msg": "Hello World", "source": "cache"}


def test_create_then_read_an_item(client: FlaskClient, backends: Backends) -> None:
    created = client.post("/items", json={"name": "widget", "value": 42})
    assert created.status_code == 201
    item_id = created.get_json()["id"]
    assert isinstance(item_id, int)
    assert created.headers["Location"] == f"/items/{item_id}"

    with psycopg.connect(backends.postgres.dsn) as conn:
        row = conn.execute("SELECT name, value FROM items WHERE id = %s", (item_id,)).fetchone()
    assert row == ("widget", 42)

    first = client.get(f"/items/{item_id}")
    assert first.status_code == 200
    assert first.headers["X-Source"] == "database"
    body = first.get_json()
    assert {k: body[k] for k in ("id", "name", "value")} == {"id": item_id, "name": "widget", "value": 42}
    assert body["created_at"]

    with backends.redis.client() as redis_client:
        assert 0 < redis_client.ttl(f"item:{item_id}") <= 30

    second = client.get(f"/items/{item_id}")
    assert second.headers["X-Source"] == "cache"
    assert second.get_json() == body


def test_list_items_newest_first_with_limit(client: FlaskClient) -> None:
    ids = [client.post("/items", json={"name": f"n{i}", "value": i}).get_json()["id"] for i in range(3)]

    listed = client.get("/items?limit=2")
    assert listed.status_code == 200
    body = listed.get_json()
    assert body["limit"] == 2
    assert body["count"] == 2
    assert [item["id"] for item in body["items"]] == [ids[2], ids[1]]

    default = client.get("/items").get_json()
    assert default["limit"] == 20
    assert default["items"][0]["id"] == ids[2]


def test_extreme_but_valid_values_are_stored(client: FlaskClient) -> None:
    for value in (-(2**63), 2**63 - 1, 0):
        created = client.post("/items", json={"name": "x" * 200, "value": value})
        assert created.status_code == 201
        assert client.get(f"/items/{created.get_json()['id']}").get_json()["value"] == value


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "invalid JSON"),
        (b"", "must be a JSON object"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"value": 1}', "missing fields: name"),
        (b'{"name": "a"}', "missing fields: value"),
        (b'{"name": 5, "value": 1}', "name must be a string"),
        (b'{"name": "", "value": 1}', "name must be 1..200 characters"),
        (json.dumps({"name": "x" * 201, "value": 1}).encode(), "name must be 1..200 characters"),
        (b'{"name": "a", "value": "1"}', "value must be an integer"),
        (b'{"name": "a", "value": 1.5}', "value must be an integer"),
        (b'{"name": "a", "value": true}', "value must be an integer"),
        (json.dumps({"name": "a", "value": 2**63}).encode(), "signed 64-bit"),
        (b'{"name": "a", "value": 1, "extra": 2}', "unknown fields: extra"),
        (b"\xff\xfe", "invalid JSON"),
        (b"[" * 60000, "invalid JSON"),
        (b'{"name": "a", "value": 1e400}', "value must be an integer"),
    ],
)
def test_bad_item_bodies_are_400_with_a_reason(client: FlaskClient, body: bytes, reason: str) -> None:
    response = client.post("/items", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.is_json
    assert reason in response.get_json()["error"]


def test_too_large_body_is_413_json(client: FlaskClient) -> None:
    response = client.post("/items", data=b"x" * (65 * 1024), content_type="application/json")
    assert response.status_code == 413
    assert "error" in response.get_json()


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "", "1.5", "%C2%B2", "%205", "0x10"])
def test_bad_limit_is_400(client: FlaskClient, limit: str) -> None:
    response = client.get(f"/items?limit={limit}")
    assert response.status_code == 400
    assert "limit must be an integer in 1..100" in response.get_json()["error"]


@pytest.mark.parametrize("path", ["/items/999999999", "/items/99999999999999999999999"])
def test_unknown_item_is_404(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "not found" in response.get_json()["error"]


@pytest.mark.parametrize("path", ["/nope", "/items/abc", "/items/-1"])
def test_unknown_route_is_404_json(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.get_json() == {"error": f"not found: GET {path}"}


def test_wrong_method_is_405_json_with_allow(client: FlaskClient) -> None:
    response = client.delete("/items")
    assert response.status_code == 405
    assert response.get_json() == {"error": "method not allowed: DELETE /items"}
    assert "POST" in response.headers["Allow"]


def test_unhandled_exception_is_500_json_not_html(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from alertdrill.stack.app.state import EXTENSION_KEY

    state = client.application.extensions[EXTENSION_KEY]

    def boom(limit: int) -> list[dict[str, object]]:
        raise RuntimeError("bug")

    monkeypatch.setattr(state.db, "list_items", boom)
    response = client.get("/items")
    assert response.status_code == 500
    assert response.get_json() == {"error": "internal server error", "exception": "RuntimeError"}


def test_metrics_endpoint_is_prometheus_text(client: FlaskClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    assert b"app_workers" in response.data
