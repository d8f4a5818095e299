"""Helpers for the lint tests: small rule files and Alertmanager configs written into tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import yaml
from linttest_support import RUNBOOK

from alertdrill.assertions.prometheus import PrometheusClient
from alertdrill.waiting import poll_until

#: Series that exist only after the first scrapes: the API's histogram after one request (and its
#: rate after two scrapes), postgres_exporter's custom queries after its first slow scrape.
SETTLED = ('count(rate(http_request_duration_seconds_bucket{endpoint!="/metrics"}[5m]))',
           "count(pg_table_vacuum_seconds_since_vacuum)", "count(pg_long_running_query_seconds)")


@pytest.fixture(scope="session")
def lint_stack(worker_id):
    """A stack of the lint tests' own: the session stack carries what other tests' faults left in its
    range windows (a deadlock counted a minute ago makes `increase(...[5m]) > 0` true), which would
    make a correct rule look "always met"."""
    from alertdrill.stack.backends.native import NativeStack

    stack = NativeStack(name=f"lint-{worker_id}")
    with stack:  # started, and stopped however the tests end
        yield stack


@pytest.fixture(scope="session")
def prometheus(lint_stack):
    """The lint stack's Prometheus once every series the rules and the corpus read exists."""
    stack_info = lint_stack.info
    requests.get(stack_info.app_url + "/status", timeout=5).raise_for_status()
    client = PrometheusClient(stack_info.prometheus_url)
    for query in SETTLED:
        ok, _ = poll_until(lambda q=query: client.query(q), timeout=30, interval=0.2)
        assert ok, f"Prometheus never returned {query} within 30 s"
    return client


@pytest.fixture
def write_rules(tmp_path: Path):
    """``write_rules(rule(...), ...)`` -> path of a rule file holding those rules."""
    count = [0]

    def write(*rules: dict) -> Path:
        count[0] += 1
        path = tmp_path / f"rules{count[0]}.yml"
        path.write_text(yaml.safe_dump({"groups": [{"name": "test", "rules": list(rules)}]}, sort_keys=False))
        return path

    return write


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project root with docs/runbook.md that has sections for GoodAlert and monitor_service_down."""
    root = tmp_path / "project"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "runbook.md").write_text(RUNBOOK)
    return root
