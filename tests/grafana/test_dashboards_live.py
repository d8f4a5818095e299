"""Every dashboard query returns data on the live native stack, and none takes a rate of a gauge.

No Grafana runs on the native stack: the panels' PromQL is sent to its Prometheus directly, with
Grafana's interval variables substituted, after a bounded burst of real traffic against the app.
"""

from __future__ import annotations

import pytest
import requests
from grafanatest_support import (
    Query,
    metadata_type,
    metric_names,
    outside_range_functions,
    queries,
    range_function_arguments,
)

from alertdrill.waiting import poll_until

pytestmark = pytest.mark.integration

ROUNDS = 5
TIMEOUT = 5


def _query(prometheus_url: str, expr: str) -> dict:
    response = requests.get(prometheus_url + "/api/v1/query", params={"query": expr}, timeout=TIMEOUT)
    body = response.json()
    assert body.get("status") == "success", f"Prometheus rejected {expr!r}: {body.get('error')}"
    return body["data"]


@pytest.fixture(scope="module")
def traffic(stack_info) -> None:
    """Light real traffic touching every route the dashboards break down, then wait until it is scraped."""
    app = stack_info.app_url
    with requests.Session() as session:
        for _ in range(ROUNDS):
            assert session.get(app + "/status", timeout=TIMEOUT).status_code == 200
            assert session.get(app + "/helloworld", timeout=TIMEOUT).status_code == 200
            created = session.post(app + "/items", json={"name": "x", "value": 1}, timeout=TIMEOUT)
            assert created.status_code == 201, created.text
            item = app + f"/items/{created.json()['id']}"
            for _ in range(2):  # a cache miss, then a hit
                assert session.get(item, timeout=TIMEOUT).status_code == 200
    seen = 'min(count_over_time(http_requests_total{job="app", endpoint!="/metrics"}[1m])) >= 3'
    ok, _ = poll_until(lambda: bool(_query(stack_info.prometheus_url, seen)["result"]), timeout=30, interval=0.5)
    assert ok, f"Prometheus did not scrape the traffic within 30 s ({seen})"


@pytest.fixture(scope="module")
def metadata(stack_info) -> dict[str, list[dict]]:
    response = requests.get(stack_info.prometheus_url + "/api/v1/metadata", timeout=TIMEOUT)
    return response.json()["data"]


@pytest.mark.parametrize("query", queries(), ids=lambda q: q.id)
def test_panel_query_returns_data(stack_info, traffic, query: Query):
    expr = query.resolved()
    data = _query(stack_info.prometheus_url, expr)
    assert data["result"], (f"dashboard {query.dashboard}, panel {query.panel!r}, query {query.ref} returned "
                            f"nothing on the live stack: {expr}")


def test_no_panel_takes_a_rate_of_a_gauge(stack_info, metadata):
    problems = []
    for query in queries():
        for function, argument in range_function_arguments(query.expr):
            for name in metric_names(argument):
                if metadata_type(metadata, name) == "gauge":
                    problems.append(f"{query.id}: {function}() of gauge {name}")
    assert problems == [], "rate/irate/increase only make sense on counters:\n" + "\n".join(problems)


def test_no_panel_plots_a_raw_counter(stack_info, metadata):
    problems = []
    for query in queries():
        for name in metric_names(outside_range_functions(query.expr)):
            if metadata_type(metadata, name) in ("counter", "histogram", "summary"):
                problems.append(f"{query.id}: {name} is a {metadata_type(metadata, name)}; wrap it in rate()")
    assert problems == [], "a cumulative counter plotted as is only ever grows:\n" + "\n".join(problems)


def test_every_dashboard_metric_is_known_to_prometheus(stack_info, traffic, metadata):
    builtin = {"up", "ALERTS"}
    unknown = sorted({f"{q.id}: {name}" for q in queries() for name in metric_names(q.expr)
                      if name not in builtin and metadata_type(metadata, name) is None})
    assert unknown == [], "no such metric on the live stack (typo, or an exporter that is not run):\n" + \
        "\n".join(unknown)
