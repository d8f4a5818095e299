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
        # Dropped, not failed: no scrape of the job was cancelled into an `up 0` by the reload.
        assert _lowest_up(stack_info, "redis") == 1.0
    with open(f"{stack_info.run_dir}/prometheus/prometheus.yml") as handle:
        assert handle.read() == before
    assert _jobs(stack_info)["redis"] == "up"


def _lowest_up(stack_info, job: str) -> float:
    """The lowest `up` sample of ``job`` in the last minute (raw samples: a dropped job's too)."""
    result = requests.get(stack_info.prometheus_url + "/api/v1/query", timeout=10,
                          params={"query": f'min_over_time(up{{job="{job}"}}[1m])'}).json()["data"]["result"]
    return min(float(r["value"][1]) for r in result)


def test_the_drop_reloads_right_after_a_completed_scrape(faults):
    """A reload cancels a scrape in flight, which Prometheus records as `up 0`: the drop waits for one to end."""
    fault = faults.build("prometheus-drop-job", job="redis")
    (before,) = fault._targets()
    fault._after_a_scrape()
    (after,) = fault._targets()
    assert after["lastScrape"] != before["lastScrape"]


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
