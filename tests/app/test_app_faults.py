"""The fault switch file: injected errors, latency and dropped writes, visible in the metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from apptest_support import Samples, parse_metrics, sample, wait_for
from flask.testing import FlaskClient

if TYPE_CHECKING:
    from conftest import Backends

pytestmark = pytest.mark.timeout(180)

SetFault = Callable[[dict[str, Any] | str | None], None]
SWITCH_TIMEOUT_S = 5.0


def scrape(client: FlaskClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    return parse_metrics(response.get_data(as_text=True))


def test_error_ratio_one_fails_every_request_and_is_counted(client: FlaskClient, set_fault: SetFault) -> None:
    set_fault({"error_ratio": 1.0})
    wait_for(lambda: client.get("/items?limit=1").status_code == 500, SWITCH_TIMEOUT_S, "the injected 500s")

    before = scrape(client)
    for _ in range(5):
        response = client.get("/items?limit=1")
        assert response.status_code == 500
        assert response.get_json() == {"error": "injected fault"}
    after = scrape(client)

    labels = {"method": "GET", "endpoint": "/items"}
    assert sample(after, "http_requests_total", **labels, status="500") - sample(
        before, "http_requests_total", **labels, status="500") == 5
    assert sample(after, "http_request_duration_seconds_count", **labels) - sample(
        before, "http_request_duration_seconds_count", **labels) == 5
    exc = {"endpoint": "/items", "exception": "InjectedFault"}
    assert sample(after, "http_request_exceptions_total", **exc) - sample(
        before, "http_request_exceptions_total", **exc) == 5

    # Liveness and the metrics endpoint are never faulted.
    assert client.get("/status").status_code == 200
    assert client.get("/metrics").status_code == 200

    set_fault(None)
    wait_for(lambda: client.get("/items?limit=1").status_code == 200, SWITCH_TIMEOUT_S, "the fault to clear")


def test_latency_is_added_and_measured(client: FlaskClient, set_fault: SetFault) -> None:
    # A whole second, so "slow" and "not slowed" stay far apart even on a busy host.
    set_fault({"latency_ms": 1000})

    def slow() -> bool:
        started = time.perf_counter()
        client.get("/helloworld")
        return time.perf_counter() - started >= 1.0

    wait_for(slow, SWITCH_TIMEOUT_S, "the injected latency")
    before = scrape(client)
    started = time.perf_counter()
    assert client.get("/helloworld").status_code == 200
    assert time.perf_counter() - started >= 1.0
    after = scrape(client)

    labels = {"method": "GET", "endpoint": "/helloworld"}
    assert sample(after, "http_request_duration_seconds_sum", **labels) - sample(
        before, "http_request_duration_seconds_sum", **labels) >= 1.0
    assert sample(after, "http_request_duration_seconds_bucket", **labels, le="1.0") == sample(
        before, "http_request_duration_seconds_bucket", **labels, le="1.0")
    assert sample(after, "http_request_duration_seconds_bucket", **labels, le="+Inf") - sample(
        before, "http_request_duration_seconds_bucket", **labels, le="+Inf") == 1
    assert sample(after, "http_request_duration_max_seconds", endpoint="/helloworld") >= 1.0

    started = time.perf_counter()
    assert client.get("/status").status_code == 200
    assert time.perf_counter() - started < 1.0
    set_fault(None)


def test_drop_writes_acknowledges_but_loses_the_write(
    client: FlaskClient, set_fault: SetFault, backends: Backends
) -> None:
    set_fault({"drop_writes": True})

    def dropped_id() -> int | None:
        created = client.post("/items", json={"name": "ghost", "value": 13})
        assert created.status_code == 201
        item_id: int = created.get_json()["id"]
        return item_id if client.get(f"/items/{item_id}").status_code == 404 else None

    item_id = wait_for(dropped_id, SWITCH_TIMEOUT_S, "a dropped write")
    with psycopg.connect(backends.postgres.dsn) as conn:
        assert conn.execute("SELECT count(*) FROM items WHERE id = %s", (item_id,)).fetchone() == (0,)

    set_fault(None)

    def kept() -> bool:
        created = client.post("/items", json={"name": "real", "value": 14})
        return client.get(f"/items/{created.get_json()['id']}").status_code == 200

    wait_for(kept, SWITCH_TIMEOUT_S, "writes to be kept again")


@pytest.mark.parametrize("content", ["{not json", '{"error_ratio": 7}', "[]"])
def test_invalid_fault_file_means_no_fault_and_a_warning(
    client: FlaskClient, set_fault: SetFault, content: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="alertdrill.stack.app.faults"):
        set_fault(content)
        # Only faultable endpoints consult the switch, so poll one of them.
        wait_for(lambda: client.get("/items?limit=1").status_code == 200
                 and "ignoring invalid fault file" in caplog.text, SWITCH_TIMEOUT_S, "the warning")
        for _ in range(3):
            assert client.get("/items?limit=1").status_code == 200
