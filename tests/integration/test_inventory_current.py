"""The shipped inventory (stack/prometheus/inventory.yml) is what the native stack exports today.

`prove` shapes its series after it offline; if an exporter, the app or the custom queries change,
this test names the metrics whose names, types or label names differ, and how to capture it again.
"""

from __future__ import annotations

import pytest
import requests

from alertdrill.assertions.prometheus import PrometheusClient
from alertdrill.prove import load_inventory, shipped_inventory_path
from alertdrill.prove.inventory import differences
from alertdrill.prove.native import native_inventory

pytestmark = pytest.mark.integration

#: Targets whose series `prove` shapes rules after; Prometheus' and Alertmanager's own series come
#: and go with their internal state (API handlers hit, WAL segments), so they are not compared.
EXPORTER_JOBS = ("app", "postgres", "redis")
#: Series that exist only after an event (the app raised an exception).
EVENT_DRIVEN = ("http_request_exceptions_total",)
RECAPTURE = ("alertdrill up && alertdrill inventory --exercise --out stack/prometheus/inventory.yml "
             "&& alertdrill down")


@pytest.fixture(scope="module")
def fresh_stack(worker_id):
    """A stack of this test's own: faults other tests ran on the session stack add labels (redis_exporter's
    `err` after a failed scrape) that a stack a user starts does not have."""
    from alertdrill.stack.backends.native import NativeStack

    stack = NativeStack(name=f"inventory-{worker_id}")
    with stack:  # started, and stopped however the tests end
        yield stack


def test_the_shipped_inventory_is_current(fresh_stack) -> None:
    from alertdrill.waiting import poll_until

    stack_info = fresh_stack.info
    client = PrometheusClient(stack_info.prometheus_url)
    # Redis' keyspace series (redis_db_*) exist once the app has cached something and the exporter has
    # scraped it: a stack a user runs has them; a stack this fresh gets them within a few scrapes.
    requests.get(stack_info.app_url + "/helloworld", timeout=5)
    scrape = client.config().scrape_interval_for("redis")
    ok, _ = poll_until(lambda: client.query("redis_db_avg_ttl_seconds"), timeout=10 * scrape, interval=scrape / 4)
    assert ok, f"redis_db_avg_ttl_seconds never appeared within {10 * scrape:g} s (10 scrapes of the redis job)"
    live = native_inventory(client, stack_info.app_url, scrape_interval=client.config().scrape_interval_for("app"))
    shipped = load_inventory(shipped_inventory_path())
    found = differences(live, shipped, jobs=EXPORTER_JOBS, ignore=EVENT_DRIVEN)
    assert found == [], f"the native stack's series changed ({'; '.join(found[:10])}); capture again: {RECAPTURE}"
    jobs = [{s.labels["job"] for s in inv.metrics["up"].series} for inv in (live, shipped)]
    assert jobs[0] == jobs[1], f"scrape jobs {jobs[1]} shipped, {jobs[0]} live; capture again: {RECAPTURE}"
