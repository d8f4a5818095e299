"""Faults on the monitoring pipeline itself: a scrape job that disappears from Prometheus.

Dropping a job from the configuration (a rename, a bad merge, broken discovery) removes its `up`
series instead of setting it to 0, so only an alert on absence can notice. The fault rewrites the
stack's rendered prometheus.yml without the job and reloads Prometheus (POST /-/reload); revert
writes the original text back, reloads, and waits until the job is scraped again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import requests
import yaml

from alertdrill.assertions.durations import parse_duration
from alertdrill.errors import ConfigError, FaultInjectError
from alertdrill.stack.components import SCRAPE_JOBS

from .base import Fault, poll
from .params import Param

__all__ = ["PrometheusDropJob"]

HTTP_TIMEOUT = 10.0
#: Prometheus hands changed targets to its scrape manager at most every 5 s, then scrapes once more.
TARGETS_TIMEOUT = 20.0


def _not_prometheus(what: str, job: str) -> None:
    if job == "prometheus":
        others = ", ".join(sorted(j for j in SCRAPE_JOBS if j != "prometheus"))
        raise ConfigError(f"{what}: dropping the prometheus job would hide nothing (nothing would evaluate its "
                          f"absence); choose a job Prometheus scrapes elsewhere ({others})")


class PrometheusDropJob(Fault):
    """Prometheus stops scraping ``job``: the job is removed from its configuration and reloaded."""

    kind = "prometheus-drop-job"
    needs_local_stack = "it rewrites the stack's Prometheus config file, which lives in the stack's run directory"

    parameters = {"job": Param(str, choices=tuple(SCRAPE_JOBS), check=_not_prometheus,
                               help="the scrape job to remove from Prometheus' configuration")}
    job: str

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = Path(self.info.run_dir) / "prometheus" / "prometheus.yml"
        self.url = self.guard.http_url(self.info.prometheus_url, "prometheus")

    def _check_targets(self) -> None:
        # Here, not in __init__: a later process rebuilding this fault for its revert (chaos/recovery.py)
        # finds the job already dropped from the configuration.
        jobs = self._jobs(self._load(self.path.read_text()))
        if self.job not in jobs:
            raise ConfigError(f"Prometheus has no scrape job {self.job!r}; jobs: {', '.join(sorted(jobs))}")

    def target(self) -> dict[str, Any]:
        return {"stack": self.info.name, "prometheus": self.url, "job": self.job}

    @staticmethod
    def _load(text: str) -> dict[str, Any]:
        return yaml.safe_load(text) or {}

    @staticmethod
    def _jobs(config: dict[str, Any]) -> set[str]:
        return {j.get("job_name") for j in config.get("scrape_configs") or []}

    def _read_original(self) -> dict[str, Any]:
        return {"config": self.path.read_text()}

    def _write_and_reload(self, text: str) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(text)
        tmp.replace(self.path)
        response = requests.post(self.url + "/-/reload", timeout=HTTP_TIMEOUT)
        if response.status_code != 200:
            raise FaultInjectError(f"Prometheus refused the reload: HTTP {response.status_code} {response.text[:200]}")

    def _targets(self) -> list[dict[str, Any]]:
        data = requests.get(self.url + "/api/v1/targets", timeout=HTTP_TIMEOUT).json()["data"]["activeTargets"]
        return [t for t in data if t["labels"].get("job") == self.job]

    def _up_series(self) -> int:
        data = requests.get(self.url + "/api/v1/query", params={"query": f'up{{job="{self.job}"}}'},
                            timeout=HTTP_TIMEOUT).json()["data"]["result"]
        return len(data)

    def _after_a_scrape(self) -> None:
        """Return right after a scrape of every target of the job has completed.

        Removing a job cancels a scrape of it that is in flight, and Prometheus 2.42 records that scrape
        as failed: `up 0`, which (no staleness marker for a removed job) stays visible for the lookback
        delta, so monitor_service_down pages for a target nothing stopped. A target's ``lastScrape``
        changes once a scrape has been reported; the reload right then has nearly a whole scrape
        interval before the next one starts (the drop would otherwise fail a scrape about as often as
        a scrape lasts per interval: 1-5 % of the drills, more on a busy machine).
        """
        first = self._targets()
        before = {t["scrapeUrl"]: t.get("lastScrape") for t in first}
        longest = max((parse_duration(t.get("scrapeInterval") or "0s") + parse_duration(t.get("scrapeTimeout") or "0s")
                       for t in first), default=0.0)
        poll(lambda: {t["scrapeUrl"]: t.get("lastScrape") for t in self._targets()},
             accept=lambda now: bool(now) and all(now.get(url) != last for url, last in before.items()),
             timeout=2 * longest + 1.0, interval=0.02, what=f"a completed scrape of every {self.job} target")

    def _inject(self) -> None:
        config = self._load(self.original["config"])
        config["scrape_configs"] = [j for j in config["scrape_configs"] if j.get("job_name") != self.job]
        self._after_a_scrape()
        self._write_and_reload(yaml.safe_dump(config, sort_keys=False))
        # The targets go first; the stopped scrape loop then marks their series stale.
        poll(lambda: not self._targets() and not self._up_series(), timeout=TARGETS_TIMEOUT, interval=0.2,
             what=f"Prometheus dropping the {self.job} targets and their up series")

    def _prove(self) -> tuple[str, dict[str, Any]]:
        targets, series = self._targets(), self._up_series()
        facts = {"job": self.job, "targets": len(targets), "up_series": series}
        if targets or series:
            raise self.not_in_effect(f"Prometheus still has {len(targets)} {self.job} target(s) and {series} "
                                     f"`up` series for it", **facts)
        return f"Prometheus scrapes no {self.job} target and has no up{{job=\"{self.job}\"}} series", facts

    def _revert(self) -> str:
        self._write_and_reload(self.original["config"])
        poll(lambda: [t["health"] for t in self._targets()], timeout=TARGETS_TIMEOUT, interval=0.2,
             accept=lambda health: bool(health) and all(h == "up" for h in health),
             what=f"Prometheus scraping the {self.job} job again")
        return f"the {self.job} job is scraped again"
