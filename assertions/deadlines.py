"""Deadlines computed from the live configuration, each able to explain itself.

The timing model (DESIGN.md): a change in a metric is seen after at most one scrape interval, the
rule sees it at its group's next evaluation, the alert fires ``for`` later (one more evaluation
absorbs the evaluation grid), and Alertmanager sends the first notification of a new group after
``group_wait``. A resolved notification waits for the group's next ``group_interval`` tick. Every
term is read from the running Prometheus and Alertmanager, so a deadline is never a constant:

    fire    = scrape + evaluation + longest range window + lookback (absent() rules only) + for + evaluation
    deliver = fire + group_wait
    resolve = scrape + evaluation + keep_firing_for + longest range window + group_interval
    each    = (sum of terms) * (1 + slack.fraction) + slack.absolute
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from alertdrill.errors import ConfigError

from .alertmanager import AlertmanagerClient
from .durations import format_duration, parse_duration
from .prometheus import AlertingRule, PrometheusClient
from .promql import selectors

__all__ = ["Deadline", "Slack", "Term", "TimingFacts", "gather_timings"]


@dataclass(frozen=True)
class Term:
    """One addend of a deadline: its name, value in seconds and where the value was read."""

    name: str
    seconds: float
    source: str

    def __str__(self) -> str:
        return f"{self.name} {_secs(self.seconds)} ({self.source})"


@dataclass(frozen=True)
class Slack:
    """Allowance for polling, HTTP and scheduling jitter: ``fraction`` of the sum plus ``absolute`` s.

    The default (10 % + 1.0 s) covers the ~150 ms observation granularity, Prometheus' notifier
    batching and a loaded CI machine while staying well under one extra evaluation cycle in scale.
    """

    absolute: float = 1.0
    fraction: float = 0.10

    def __post_init__(self) -> None:
        if self.absolute < 0 or not 0 <= self.fraction <= 1:
            raise ConfigError(f"slack needs absolute >= 0 and 0 <= fraction <= 1, got {self}")

    def of(self, base: float) -> float:
        return base * self.fraction + self.absolute

    def __str__(self) -> str:
        return f"{_secs(self.absolute)} + {self.fraction:.0%}"


@dataclass(frozen=True)
class Deadline:
    """A limit in seconds from an anchor (fault injected/reverted), with how it was computed."""

    what: str
    terms: tuple[Term, ...]
    slack: Slack = field(default_factory=Slack)
    given: float | None = None

    @classmethod
    def fixed(cls, what: str, seconds: float) -> Deadline:
        """A deadline the caller gave explicitly (``within=``); no slack is added."""
        if seconds < 0:
            raise ConfigError(f"{what}: deadline {seconds!r} must be >= 0 seconds")
        return cls(what, (Term("given", float(seconds), "within= argument"),), Slack(0.0, 0.0), float(seconds))

    @property
    def base(self) -> float:
        return sum(t.seconds for t in self.terms)

    @property
    def slack_seconds(self) -> float:
        return self.slack.of(self.base)

    @property
    def seconds(self) -> float:
        return self.base + self.slack_seconds

    def explain(self) -> str:
        """E.g. ``6.5 s = scrape interval 1 s (...) + ... + slack 1.5 s (1 s + 10 %)``."""
        if self.given is not None:
            return f"{_secs(self.seconds)} given by the caller (within=)"
        parts = " + ".join(str(t) for t in self.terms if t.seconds or t.name in ("for",))
        return f"{_secs(self.seconds)} = {parts} + slack {_secs(self.slack_seconds)} ({self.slack})"

    def to_dict(self) -> dict[str, Any]:
        return {"what": self.what, "seconds": round(self.seconds, 3), "explain": self.explain(),
                "terms": [{"name": t.name, "seconds": t.seconds, "source": t.source} for t in self.terms]}

    def __str__(self) -> str:
        return self.explain()


def _secs(seconds: float) -> str:
    """``6.5 s``; long values also as a duration: ``446.5 s (7m27s)``."""
    text = f"{round(seconds, 2):g} s"
    return text + f" ({format_duration(int(seconds + 0.5))})" if seconds >= 120 else text


@dataclass(frozen=True)
class TimingFacts:
    """Every timing an alert's deadlines depend on, as Terms read from the live stack."""

    scrape: Term
    evaluation: Term
    for_: Term
    keep_firing_for: Term
    range_window: Term
    group_wait: Term
    group_interval: Term
    absence: Term = Term("lookback delta", 0.0, "the rule does not alert on absence")

    def fire(self, slack: Slack) -> Deadline:
        # A windowed function (rate, increase, ...) may need its whole window of fault-time samples
        # before it crosses the threshold, so the window counts here too (0 for instant rules).
        window = Term("range window to fill", self.range_window.seconds, self.range_window.source.replace(
            "old samples leave", "new samples fill"))
        return Deadline("fire", (self.scrape, self.evaluation, window, self.absence, self.for_,
                                 Term("one more evaluation", self.evaluation.seconds, "evaluation grid")), slack)

    def deliver(self, slack: Slack) -> Deadline:
        return Deadline("deliver", (*self.fire(slack).terms, self.group_wait), slack)

    def resolve(self, slack: Slack) -> Deadline:
        return Deadline("resolve", (self.scrape, self.evaluation, self.keep_firing_for, self.range_window,
                                    self.group_interval), slack)

    def inhibit(self, slack: Slack) -> Deadline:
        """Fire, then Prometheus sends the alert to Alertmanager at the next evaluation."""
        return Deadline("inhibit", (*self.fire(slack).terms,
                                    Term("send to Alertmanager", self.evaluation.seconds, "next evaluation")), slack)


def _scrape_term(prometheus: PrometheusClient, rule: AlertingRule) -> Term:
    """The largest scrape interval among the jobs that the rule's series come from."""
    config = prometheus.config()
    sels = selectors(rule.query)
    jobs = {j for s in sels if (j := s.label_value("job"))}
    if not jobs:
        jobs = prometheus.jobs_of(s.text for s in sels)
    if not jobs:
        return Term("scrape interval", config.scrape_interval,
                    "global scrape_interval; no job found for the rule's series")
    job = max(sorted(jobs), key=config.scrape_interval_for)
    others = f" (max over jobs {', '.join(sorted(jobs))})" if len(jobs) > 1 else ""
    return Term("scrape interval", config.scrape_interval_for(job), f"job '{job}'{others}, /api/v1/status/config")


def _longest_window(rule: AlertingRule) -> Term:
    windows = []
    for sel in selectors(rule.query):
        if sel.range:
            try:
                windows.append((parse_duration(sel.range.split(":")[0]), str(sel)))
            except ConfigError:
                continue
    if not windows:
        return Term("range window", 0.0, "no range vector in the expression")
    seconds, where = max(windows)
    return Term("range window", seconds, f"old samples leave {where}")


def gather_timings(rule: AlertingRule, prometheus: PrometheusClient, alertmanager: AlertmanagerClient,
                   labels: Mapping[str, str], receiver: str | None = None) -> TimingFacts:
    """Read every term for ``rule`` from Prometheus and Alertmanager now.

    ``labels`` should be the alert's full label set when it is known (routes often match on ``job``
    or ``instance``, which only the firing alert carries); the rule's static labels are added.
    """
    evaluation = rule.group_interval or prometheus.config().evaluation_interval
    route_labels = {**rule.labels, **labels, "alertname": rule.name}
    try:
        timings = alertmanager.group_timings(route_labels, receiver)
        route = f"route {timings.route} -> {timings.receiver}, /api/v2/status"
    except ConfigError:  # not routed there: use where it goes; the delivery check will fail and say so
        timings = alertmanager.group_timings(route_labels)
        route = f"route {timings.route} -> {timings.receiver}, NOT {receiver}, /api/v2/status"
    return TimingFacts(
        scrape=_scrape_term(prometheus, rule),
        evaluation=Term("evaluation interval", evaluation, f"group '{rule.group}', /api/v1/rules"),
        for_=Term("for", rule.duration, f"rule {rule.name}"),
        keep_firing_for=Term("keep_firing_for", rule.keep_firing_for, f"rule {rule.name}"),
        range_window=_longest_window(rule),
        group_wait=Term("group_wait", timings.group_wait, route),
        group_interval=Term("group_interval", timings.group_interval, route),
        absence=_absence_term(prometheus, rule),
    )


def _absence_term(prometheus: PrometheusClient, rule: AlertingRule) -> Term:
    """An absent() rule sees a vanished series only after the lookback delta: Prometheus 2.42 writes
    no staleness markers when a whole scrape job is removed, so the last sample stays visible."""
    if "absent(" not in rule.query and "absent_over_time(" not in rule.query:
        return Term("lookback delta", 0.0, "the rule does not alert on absence")
    lookback = prometheus.flags().get("query.lookback-delta", "5m")
    return Term("lookback delta", parse_duration(lookback, what="query.lookback-delta"),
                "--query.lookback-delta, /api/v1/status/flags: a removed series stays visible this long")
