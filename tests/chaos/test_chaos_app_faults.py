"""App faults through its switch file on the real stack: errors, latency, lost writes; the file restored."""

from __future__ import annotations

import json
import time

import pytest
import requests

from alertdrill.waiting import poll_until

pytestmark = pytest.mark.integration


def _healthy(url: str, *, slower_than_ms: float = 250.0) -> bool:
    """Ten requests in a row answer normally and quickly (every worker has re-read the switch)."""
    for _ in range(10):
        began = time.monotonic()
        response = requests.get(url + "/helloworld", timeout=10)
        if response.status_code != 200 or (time.monotonic() - began) * 1000 > slower_than_ms:
            return False
    return True


def test_error_ratio_fails_requests_with_injected_500s(faults, stack_info):
    with faults.build("app-errors", ratio=0.5) as fault:
        evidence = fault.prove()
        assert evidence.facts["injected_errors"] > 0 and 0.1 < evidence.facts["observed_ratio"] < 0.9
        assert json.loads(stack_info.fault_file.read_text()) == {"error_ratio": 0.5}
    assert poll_until(lambda: _healthy(stack_info.app_url), timeout=5)[0]


def test_latency_delays_every_request(faults, stack_info):
    with faults.build("app-latency", latency_ms=300) as fault:
        evidence = fault.prove()
        assert min(evidence.facts["measured_ms"]) >= 300
    assert poll_until(lambda: _healthy(stack_info.app_url), timeout=5)[0]


def test_dropped_writes_are_acknowledged_but_lost(faults, stack_info):
    with faults.build("app-drop-writes") as fault:
        evidence = fault.prove()
        assert evidence.facts["post_status"] == 201 and evidence.facts["get_status"] == 404
    created = requests.post(stack_info.app_url + "/items", json={"name": "after-revert", "value": 1}, timeout=10)
    assert requests.get(f"{stack_info.app_url}/items/{created.json()['id']}", timeout=10).status_code == 200


def test_overlapping_app_faults_restore_the_switch_in_any_order(faults, stack_info):
    stack_info.fault_file.write_text(json.dumps({"latency_ms": 0}))  # an operator's own setting
    try:
        errors = faults.build("app-errors", ratio=1.0).inject()
        latency = faults.build("app-latency", latency_ms=50).inject()
        assert json.loads(stack_info.fault_file.read_text()) == {"error_ratio": 1.0, "latency_ms": 50.0}
        errors.revert()  # not the last one injected
        assert json.loads(stack_info.fault_file.read_text()) == {"latency_ms": 50.0}
        latency.revert()
        assert json.loads(stack_info.fault_file.read_text()) == {"latency_ms": 0}
    finally:
        stack_info.fault_file.unlink(missing_ok=True)
