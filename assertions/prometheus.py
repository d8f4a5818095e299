"""Prometheus HTTP API client: rules, alerts, ``ALERTS`` series, queries, targets and config.

Expectations read every timing they need (scrape and evaluation intervals, ``for``,
``keep_firing_for``) from here, from the running Prometheus, so deadlines follow the live
configuration. Failures are :class:`ObservationError` lines naming the URL (see :mod:`.httpapi`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import yaml

from alertdrill.errors import ConfigError, ObservationError

from .durations import parse_duration
from .httpapi import DEFAULT_TIMEOUT, JsonApi, parse_time

__all__ = [
    "ActiveAlert",
    "AlertSeries",
    "AlertingRule",
    "PrometheusClient",
    "PrometheusConfig",
    "Sample",
    "Series",
    "Target",
]


class Sample(NamedTuple):
    """One instant-query result: a label set and its value (scalars have no labels)."""

    labels: dict[str, str]
    value: float


class Series(NamedTuple):
    """One range-query result: a label set and its ``(unix time, value)`` points."""

    labels: dict[str, str]
    values: list[tuple[float, float]]


@dataclass(frozen=True)
class ActiveAlert:
    """An alert Prometheus holds as pending or firing (``/api/v1/alerts``)."""

    name: str
    labels: dict[str, str]
    annotations: dict[str, str]
    state: str
    active_at: float | None
    value: float


@dataclass(frozen=True)
class AlertingRule:
    """An alerting rule as loaded by Prometheus (``/api/v1/rules``); durations in seconds."""

    name: str
    query: str
    duration: float
    keep_firing_for: float
    labels: dict[str, str]
    annotations: dict[str, str]
    state: str
    health: str
    last_error: str
    group: str
    file: str
    group_interval: float
    group_last_evaluation: float | None
    alerts: tuple[ActiveAlert, ...] = ()


@dataclass(frozen=True)
class AlertSeries:
    """An alert as the ``ALERTS`` series shows it, with ``ALERTS_FOR_STATE``'s active-since time."""

    labels: dict[str, str]
    state: str
    active_at: float | None


@dataclass(frozen=True)
class Target:
    """An active scrape target (``/api/v1/targets``)."""

    job: str
    instance: str
    health: str
    last_error: str
    scrape_url: str
    scrape_interval: float | None
    last_scrape: float | None
    labels: dict[str, str]


@dataclass(frozen=True)
class PrometheusConfig:
    """The loaded configuration (``/api/v1/status/config``), intervals in seconds."""

    scrape_interval: float
    evaluation_interval: float
    job_scrape_intervals: dict[str, float]
    raw: dict[str, Any] = field(repr=False)
    scrape_timeout: float = 10.0
    job_scrape_timeouts: dict[str, float] = field(default_factory=dict)

    def scrape_interval_for(self, job: str) -> float:
        """The scrape interval of ``job``, or the global one when the job sets none or is unknown."""
        return self.job_scrape_intervals.get(job, self.scrape_interval)

    def scrape_timeout_for(self, job: str) -> float:
        """How long one scrape of ``job`` may take: its scrape_timeout, never more than its interval."""
        return min(self.job_scrape_timeouts.get(job, self.scrape_timeout), self.scrape_interval_for(job))


def _value(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _alert(raw: Mapping[str, Any]) -> ActiveAlert:
    labels = dict(raw.get("labels") or {})
    return ActiveAlert(
        name=labels.get("alertname", ""), labels=labels, annotations=dict(raw.get("annotations") or {}),
        state=raw.get("state", ""), active_at=parse_time(raw.get("activeAt")), value=_value(raw.get("value")))


class PrometheusClient(JsonApi):
    """Read-mostly client for one Prometheus server (``url`` like ``http://127.0.0.1:9090``)."""

    service = "Prometheus"
    hint = "check that Prometheus runs and listens there (its log, --web.listen-address)"

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT, session: Any = None) -> None:
        super().__init__(url, timeout=timeout, session=session)

    def api(self, path: str, params: Any = None, method: str = "GET") -> Any:
        """``data`` of a ``/api/v1`` answer; ``status: error`` becomes ObservationError."""
        body = self.request(method, "/api/v1" + path, params=params)
        if not isinstance(body, dict) or "status" not in body:
            raise ObservationError(f"Prometheus at {self.url}/api/v1{path}: answer has no 'status'; "
                                   "check that the URL points at Prometheus")
        if body["status"] != "success":
            raise ObservationError(
                f"Prometheus at {self.url}/api/v1{path}: {body.get('errorType', 'error')}: "
                f"{body.get('error', 'no reason given')}; check the query and Prometheus' log")
        return body.get("data")

    # --- rules and alerts -------------------------------------------------------------------------
    def rules(self) -> list[AlertingRule]:
        """Every alerting rule, with its group's evaluation interval and last evaluation."""
        out = []
        for group in self.api("/rules", {"type": "alert"}).get("groups", []):
            for rule in group.get("rules", []):
                if rule.get("type", "alerting") != "alerting":
                    continue
                out.append(AlertingRule(
                    name=rule["name"], query=rule.get("query", ""),
                    duration=float(rule.get("duration") or 0.0),
                    keep_firing_for=float(rule.get("keepFiringFor") or 0.0),
                    labels=dict(rule.get("labels") or {}), annotations=dict(rule.get("annotations") or {}),
                    state=rule.get("state", ""), health=rule.get("health", ""),
                    last_error=rule.get("lastError", ""), group=group.get("name", ""),
                    file=group.get("file", ""), group_interval=float(group.get("interval") or 0.0),
                    group_last_evaluation=parse_time(group.get("lastEvaluation")),
                    alerts=tuple(_alert(a) for a in rule.get("alerts") or ())))
        return out

    def rule(self, alert_name: str, labels: Mapping[str, str] | None = None) -> AlertingRule:
        """The alerting rule named ``alert_name`` (whose static labels agree with ``labels``).

        Raises ConfigError listing the known names when there is none.
        """
        rules = self.rules()
        named = [r for r in rules if r.name == alert_name]
        fitting = [r for r in named if all(labels.get(k, v) == v for k, v in r.labels.items())] if labels else named
        if fitting:
            return fitting[0]
        if named:
            raise ConfigError(
                f"no rule named {alert_name} in {self.url} has labels compatible with {dict(labels or {})}; "
                f"its rules have labels {[r.labels for r in named]}")
        known = ", ".join(sorted({r.name for r in rules})) or "none (no alerting rules loaded)"
        raise ConfigError(f"no rule named {alert_name} in {self.url}; known: {known}")

    def alerts(self) -> list[ActiveAlert]:
        """Alerts that are pending or firing now."""
        return [_alert(a) for a in self.api("/alerts").get("alerts", [])]

    def alerts_series(self, name: str, time: float | None = None) -> list[AlertSeries]:
        """``name``'s instances from the ``ALERTS`` series, joined with ``ALERTS_FOR_STATE``.

        ``active_at`` comes from ``ALERTS_FOR_STATE``, which Prometheus stores in whole seconds.
        """
        selector = '{{alertname="{}"}}'.format(name.replace("\\", "\\\\").replace('"', '\\"'))
        since = {_key(s.labels): s.value for s in self.query("ALERTS_FOR_STATE" + selector, time)}
        out = []
        for sample in self.query("ALERTS" + selector, time):
            labels = {k: v for k, v in sample.labels.items() if k not in ("__name__", "alertstate")}
            active = since.get(_key(labels))
            out.append(AlertSeries(labels, sample.labels.get("alertstate", ""), active))
        return out

    # --- queries ----------------------------------------------------------------------------------
    def query(self, expr: str, time: float | None = None) -> list[Sample]:
        """Instant query: one Sample per series (a scalar gives one Sample with no labels)."""
        params: dict[str, Any] = {"query": expr}
        if time is not None:
            params["time"] = f"{time:.3f}"
        data = self.api("/query", params)
        kind, result = data.get("resultType"), data.get("result")
        if kind == "vector":
            return [Sample(_plain(r.get("metric")), _value(r["value"][1])) for r in result]
        if kind == "scalar":
            return [Sample({}, _value(result[1]))]
        if kind == "matrix":
            return [Sample(_plain(r.get("metric")), _value(r["values"][-1][1])) for r in result if r["values"]]
        raise ObservationError(f"Prometheus at {self.url}: query {expr!r} gave a {kind} result, not numbers")

    def raw_samples(self, selector: str, start: float, end: float) -> list[Series]:
        """The stored samples of ``selector`` between unix times ``start`` and ``end``, at their own
        timestamps (a range-vector instant query: for rule series, the evaluation times)."""
        if end < start:
            raise ConfigError(f"raw_samples needs start <= end, got {start}, {end}")
        window = max(1, int(end - start + 0.999))
        data = self.api("/query", {"query": f"{selector}[{window}s]", "time": f"{end:.3f}"})
        if data.get("resultType") != "matrix":
            raise ObservationError(f"Prometheus at {self.url}: {selector}[{window}s] gave a "
                                   f"{data.get('resultType')} result, not a matrix")
        return [Series(_plain(r.get("metric")),
                       [(float(t), _value(v)) for t, v in r.get("values", []) if float(t) >= start])
                for r in data.get("result", [])]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        """Range query between unix times ``start`` and ``end`` every ``step`` seconds."""
        if step <= 0 or end < start:
            raise ConfigError(f"query_range needs start <= end and step > 0, got {start}, {end}, {step}")
        data = self.api("/query_range", {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}",
                                         "step": f"{step:g}"})
        return [Series(_plain(r.get("metric")), [(float(t), _value(v)) for t, v in r.get("values", [])])
                for r in data.get("result", [])]

    # --- targets, config, lifecycle ---------------------------------------------------------------
    def targets(self) -> list[Target]:
        """Active scrape targets with health, last error and scrape interval."""
        out = []
        for t in self.api("/targets", {"state": "active"}).get("activeTargets", []):
            labels = dict(t.get("labels") or {})
            interval = t.get("scrapeInterval")
            out.append(Target(
                job=labels.get("job", t.get("scrapePool", "")), instance=labels.get("instance", ""),
                health=t.get("health", ""), last_error=t.get("lastError", ""), scrape_url=t.get("scrapeUrl", ""),
                scrape_interval=parse_duration(interval, what="target scrapeInterval") if interval else None,
                last_scrape=parse_time(t.get("lastScrape")), labels=labels))
        return out

    def config(self) -> PrometheusConfig:
        """The running configuration with global and per-job scrape intervals."""
        text = self.api("/status/config").get("yaml", "")
        try:
            raw = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ObservationError(f"Prometheus at {self.url}: /api/v1/status/config is not YAML ({exc})") from exc
        glob = raw.get("global") or {}
        scrape = parse_duration(glob.get("scrape_interval", "1m"), what="global.scrape_interval")
        evaluation = parse_duration(glob.get("evaluation_interval", "1m"), what="global.evaluation_interval")
        timeout = parse_duration(glob.get("scrape_timeout", "10s"), what="global.scrape_timeout")
        configs = [job for job in raw.get("scrape_configs") or [] if "job_name" in job]
        jobs = {job["job_name"]: parse_duration(job.get("scrape_interval", scrape), what=f"{job['job_name']} interval")
                for job in configs}
        timeouts = {job["job_name"]: parse_duration(job.get("scrape_timeout", timeout),
                                                    what=f"{job['job_name']} scrape_timeout") for job in configs}
        return PrometheusConfig(scrape, evaluation, jobs, raw, timeout, timeouts)

    def flags(self) -> dict[str, str]:
        """Command-line flags Prometheus runs with."""
        return dict(self.api("/status/flags"))

    def reload(self) -> None:
        """Reload config and rules (needs ``--web.enable-lifecycle``).

        Alertmanager discovery restarts with it: alerts sent in the next few seconds may be dropped.
        """
        self.request("POST", "/-/reload", expect_json=False)

    def ready(self) -> bool:
        """True when Prometheus answers ``/-/ready`` with 200; never raises."""
        return self.is_ready("/-/ready")

    def status_hint(self, status: int) -> str:
        if status == 403:
            return "start Prometheus with --web.enable-lifecycle to allow reloads"
        if status in (400, 422):
            return "check the PromQL expression and parameters"
        return super().status_hint(status)

    def jobs_of(self, selector_texts: Iterable[str]) -> set[str]:
        """The ``job`` label values of the series the given selectors return now."""
        jobs: set[str] = set()
        for text in selector_texts:
            for sample in self.query(f"count by (job) ({text})"):
                if sample.labels.get("job"):
                    jobs.add(sample.labels["job"])
        return jobs


def _plain(metric: Mapping[str, str] | None) -> dict[str, str]:
    return dict(metric or {})


def _key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in labels.items() if k not in ("__name__", "alertstate")))
