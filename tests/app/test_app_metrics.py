"""The request and process metrics at /metrics, through the test client (one process)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from apptest_support import Samples, parse_metrics, sample, wait_for
from flask.testing import FlaskClient

from alertdrill.stack.app.metrics import DURATION_BUCKETS

pytestmark = pytest.mark.timeout(180)

SetFault = Callable[[dict[str, Any] | str | None], None]


def scrape(client: FlaskClient) -> Samples:
    return parse_metrics(client.get("/metrics").get_data(as_text=True))


def delta(after: Samples, before: Samples, name: str, **labels: str) -> float:
    return sample(after, name, **labels) - sample(before, name, **labels)


def test_requests_are_counted_by_url_rule_and_status(client: FlaskClient) -> None:
    item_id = client.post("/items", json={"name": "m", "value": 1}).get_json()["id"]
    before = scrape(client)
    client.get(f"/items/{item_id}")
    client.get(f"/items/{item_id}")
    client.get("/items/123456789")
    client.get("/no/such/route")
    client.post("/items", data=b"{", content_type="application/json")
    after = scrape(client)

    rule = "/items/<int:item_id>"
    assert delta(after, before, "http_requests_total", method="GET", endpoint=rule, status="200") == 2
    assert delta(after, before, "http_requests_total", method="GET", endpoint=rule, status="404") == 1
    assert delta(after, before, "http_requests_total", method="GET", endpoint="unmatched", status="404") == 1
    assert delta(after, before, "http_requests_total", method="POST", endpoint="/items", status="400") == 1
    assert delta(after, before, "http_request_duration_seconds_count", method="GET", endpoint=rule) == 3
    # Raw paths never become label values.
    assert not any(f"/items/{item_id}" in dict(labels).values() for _, labels in after)


def test_metrics_endpoint_is_not_measured(client: FlaskClient) -> None:
    for _ in range(3):
        client.get("/metrics")
    samples = scrape(client)
    assert not any(dict(labels).get("endpoint") == "/metrics" for _, labels in samples)


def test_histogram_has_the_documented_buckets(client: FlaskClient) -> None:
    client.get("/status")
    samples = scrape(client)
    buckets = {dict(labels)["le"] for name, labels in samples
               if name == "http_request_duration_seconds_bucket" and dict(labels)["endpoint"] == "/status"}
    assert {float(le) for le in buckets} == {*DURATION_BUCKETS, float("inf")}
    for le in ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0"):
        assert le in buckets


def test_unhandled_exceptions_are_counted_by_class(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from alertdrill.stack.app.state import EXTENSION_KEY

    def boom(item_id: int) -> None:
        raise KeyError("bug")

    monkeypatch.setattr(client.application.extensions[EXTENSION_KEY].db, "get_item", boom)
    before = scrape(client)
    assert client.get("/items/424242").status_code == 500
    after = scrape(client)
    labels = {"endpoint": "/items/<int:item_id>", "exception": "KeyError"}
    assert delta(after, before, "http_request_exceptions_total", **labels) == 1
    assert delta(after, before, "http_requests_total", method="GET", endpoint="/items/<int:item_id>",
                 status="500") == 1


def test_in_flight_counts_a_slow_request(client: FlaskClient, set_fault: SetFault) -> None:
    assert sample(scrape(client), "http_requests_in_flight") == 0
    set_fault({"latency_ms": 1500})
    slow = threading.Thread(target=lambda: client.application.test_client().get("/helloworld"))
    slow.start()
    try:
        wait_for(lambda: sample(scrape(client), "http_requests_in_flight") >= 1, 5.0, "an in-flight request")
    finally:
        slow.join(timeout=10)
        set_fault(None)
    assert sample(scrape(client), "http_requests_in_flight") == 0


def test_max_latency_gauge_reports_the_slowest_request(client: FlaskClient, set_fault: SetFault) -> None:
    set_fault({"latency_ms": 200})

    def slow_seen() -> bool:
        client.get("/ready")
        return sample(scrape(client), "http_request_duration_max_seconds", endpoint="/ready") >= 0.2

    wait_for(slow_seen, 5.0, "a 200 ms maximum on /ready")
    set_fault(None)


def test_process_metrics_describe_this_process_without_gunicorn(client: FlaskClient) -> None:
    samples = scrape(client)
    assert sample(samples, "app_workers") == 1
    assert sample(samples, "app_process_resident_memory_bytes") > 10_000_000
    assert sample(samples, "app_process_cpu_seconds_total") > 0
    started = sample(samples, "app_process_start_time_seconds")
    assert time.time() - 24 * 3600 < started < time.time()
    # Only the tree-wide process metrics: no per-worker process_*/python_* series from the defaults.
    assert not [name for name, _ in samples if name.startswith(("process_", "python_"))]
