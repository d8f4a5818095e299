"""Service faults on the real stack: stop, kill -9, pause and restart, then the component serves again."""

from __future__ import annotations

import pytest
import requests

from alertdrill.errors import FaultInjectError
from alertdrill.stack.components import SCRAPE_JOBS, Addresses, readiness_check
from alertdrill.waiting import poll_until

pytestmark = pytest.mark.integration

CASES = [
    ("stop", "redis"), ("stop", "postgres_exporter"), ("stop", "alertmanager"),
    ("kill", "postgres"), ("kill", "app"), ("kill", "redis_exporter"),
    ("pause", "redis"), ("pause", "postgres"), ("pause", "app"), ("pause", "postgres_exporter"),
    ("pause", "redis_exporter"), ("pause", "alertmanager"),
    ("restart", "redis"), ("restart", "postgres"),
]


def _serves(info, component: str) -> str | None:
    return readiness_check(component, Addresses(dict(info.ports))).probe()


@pytest.mark.parametrize(("action", "component"), CASES, ids=[f"{a}-{c}" for a, c in CASES])
def test_service_fault_is_proven_and_reverted(faults, native_stack, action, component):
    info = native_stack.info
    old_pid = native_stack.process(component).pid
    fault = faults.build(f"service-{action}", component=component)
    with fault:
        evidence = fault.prove()
        facts = evidence.facts
        if action in ("stop", "kill"):
            assert facts["alive"] is False and facts["port_open"] is False and facts["group_processes_left"] == []
            assert _serves(info, component) is not None
        elif action == "pause":
            assert facts["process_states"] and set(facts["process_states"].values()) <= {"T"}
            if component == "postgres":  # backends too (they run in their own sessions), not just the postmaster
                assert len(facts["process_states"]) > 3
        else:
            assert facts["old_pid"] == old_pid and facts["new_pid"] != old_pid and facts["serving"]
    proc = native_stack.process(component)
    assert proc.is_alive() and not proc.is_stopped()
    assert _serves(info, component) is None
    print(f"{action} {component}: {evidence.summary}; timings {fault.timings()}")


def test_a_component_that_is_not_running_cannot_be_stopped_again(faults):
    with faults.build("service-stop", component="redis_exporter"), \
            pytest.raises(FaultInjectError, match="cannot kill redis_exporter"):
        faults.build("service-kill", component="redis_exporter").inject()


def test_monitoring_sees_every_target_up_after_the_service_faults(native_stack):
    url = native_stack.info.prometheus_url + "/api/v1/targets"

    def down() -> list[str]:
        targets = requests.get(url, timeout=5).json()["data"]["activeTargets"]
        return sorted(t["labels"]["job"] for t in targets if t["health"] != "up")

    ok, last = poll_until(down, timeout=20, interval=0.2, accept=lambda jobs: jobs == [])
    assert ok, f"targets still down: {last} (jobs {sorted(SCRAPE_JOBS)})"
