"""A scrape job dropped from the real Prometheus: its targets and `up` series vanish, and come back."""

from __future__ import annotations

import pytest
import requests

from alertdrill.errors import ConfigError

pytestmark = pytest.mark.integration


def _jobs(stack_info) -> dict[str, str]:
    targets = requests.get(stack_info.prometheus_url + "/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
    return {t["labels"]["job"]: t["health"] for t in targets}


def test_dropped_job_disappears_and_is_scraped_again_after_revert(faults, stack_info):
    with open(f"{stack_info.run_dir}/prometheus/prometheus.yml") as handle:
        before = handle.read()
    with faults.build("prometheus-drop-job", job="redis") as fault:
        evidence = fault.prove()
        assert evidence.facts == {"job": "redis", "targets": 0, "up_series": 0}
        assert "redis" not in _jobs(stack_info)
    with open(f"{stack_info.run_dir}/prometheus/prometheus.yml") as handle:
        assert handle.read() == before
    assert _jobs(stack_info)["redis"] == "up"


def test_unknown_and_self_jobs_are_refused(faults):
    with pytest.raises(ConfigError, match=r"prometheus-drop-job job must be one of .*, got 'nope'"):
        faults.build("prometheus-drop-job", job="nope")
    with pytest.raises(ConfigError, match="dropping the prometheus job would hide nothing"):
        faults.build("prometheus-drop-job", job="prometheus")


def test_a_dropped_job_is_reverted_from_its_journal_entry_by_another_process(faults, native_stack, stack_info):
    """What `alertdrill recover` does after a crash: rebuild the fault while its job is dropped, then revert."""
    from alertdrill.chaos.journal import Journal
    from alertdrill.chaos.registry import rebuild

    fault = faults.build("prometheus-drop-job", job="redis").inject()
    try:
        (entry,) = [e for e in Journal(stack_info.journal_dir).scan()[0] if e.id == fault.id]
        assert "redis" not in _jobs(stack_info)
        rebuild(entry, native_stack).revert()
        assert _jobs(stack_info)["redis"] == "up"
    finally:
        fault.revert()
