"""Deadlines computed from the live configuration, each able to explain itself.

The timing model (DESIGN.md): a change in a metric is seen after at most one scrape interval plus
the scrape itself (its job's ``scrape_timeout`` bounds how long it takes), the rule sees it at its
group's next evaluation, the expression may need more time before it can turn true (a range window
to fill or to empty, an age to reach, a vanished series to leave the lookback: :mod:`.needs` says
which, per function), the alert fires ``for`` later (one more evaluation absorbs the evaluation grid),
and Alertmanager sends the first notification of a new group after ``group_wait``. A resolved
notification waits for the group's next ``group_interval`` tick. Every term is read from the running
Prometheus and Alertmanager, so a deadline is never a constant:

    fire    = scrape + scrape timeout + evaluation + expression needs + lookback (absent() only) + for + evaluation
    deliver = fire + group_wait
    resolve = scrape + evaluation + keep_firing_for + longest range window + group_interval
    each    = (sum of terms) * (1 + slack.fraction) + slack.absolute

The bounds of the ideal pipeline, which the report shows next to each measured time:

    best case  = for (+ group_wait for delivery): the fault seen at once, the first evaluation in time
    worst case = scrape + evaluation + expression needs + lookback + for + evaluation (+ group_wait)

A deadline is its worst case plus the scrape's own duration and slack; the test suite checks against
real Prometheus that it stays under twice the worst case (tests/assertions/test_deadline_bounds.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from alertdrill.errors import ConfigError

from .alertmanager import AlertmanagerClient
from .durations import format_duration, parse_duration
from .needs import age_needs, window_needs
from .prometheus import AlertingRule, PrometheusClient
from .promql import selectors

__all__ = ["Bounds", "Deadline", "Slack", "Term", "TimingFacts", "gather_timings"]


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
class Bounds:
    """The ideal pipeline's best and worst case in seconds from the fault, to fire and to deliver."""

    best_fire: float
    worst_fire: float
    best_deliver: float
    worst_deliver: float


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
    #: How long the scrape that sees the fault may take (the job's scrape_timeout).
    scrape_duration: Term = Term("scrape timeout", 0.0, "not read")
    #: What the expression waits for before it can turn true: a window to fill/empty, an age (see .needs).
    needs: Term = Term("expression needs", 0.0, "no range window or age to wait for")

    def _worst_fire_terms(self) -> tuple[Term, ...]:
        return (self.scrape, self.evaluation, self.needs, self.absence, self.for_,
                Term("one more evaluation", self.evaluation.seconds, "evaluation grid"))

    def fire(self, slack: Slack) -> Deadline:
        worst = self._worst_fire_terms()
        return Deadline("fire", (worst[0], self.scrape_duration, *worst[1:]), slack)

    def pending(self, slack: Slack) -> Deadline:
        """How long the alert may take to become pending: the fire deadline without ``for`` and the
        evaluation grid (what a must-stay-silent alert's hold needs)."""
        return Deadline("pending", (self.scrape, self.scrape_duration, self.evaluation, self.needs, self.absence),
                        slack)

    def deliver(self, slack: Slack) -> Deadline:
        return Deadline("deliver", (*self.fire(slack).terms, self.group_wait), slack)

    def resolve(self, slack: Slack) -> Deadline:
        return Deadline("resolve", (self.scrape, self.evaluation, self.keep_firing_for, self.range_window,
                                    self.group_interval), slack)

    def inhibit(self, slack: Slack) -> Deadline:
        """Fire, then Prometheus sends the alert to Alertmanager at the next evaluation."""
        return Deadline("inhibit", (*self.fire(slack).terms,
                                    Term("send to Alertmanager", self.evaluation.seconds, "next evaluation")), slack)

    def bounds(self) -> Bounds:
        """Best and worst case of the ideal pipeline (no scrape duration, no slack)."""
        worst = sum(t.seconds for t in self._worst_fire_terms())
        return Bounds(best_fire=self.for_.seconds, worst_fire=worst,
                      best_deliver=self.for_.seconds + self.group_wait.seconds,
                      worst_deliver=worst + self.group_wait.seconds)


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


def _scrape_duration_term(prometheus: PrometheusClient, scrape: Term, job: str | None) -> Term:
    """The job's scrape_timeout: a hanging exporter answers (or fails) only when it expires."""
    config = prometheus.config()
    if job is None:
        return Term("scrape timeout", min(config.scrape_timeout, scrape.seconds),
                    "global scrape_timeout, /api/v1/status/config")
    return Term("scrape timeout", config.scrape_timeout_for(job), f"job '{job}', /api/v1/status/config")


def _job(scrape: Term) -> str | None:
    source = scrape.source
    return source.split("'")[1] if source.startswith("job '") else None


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


def _needs_term(rule: AlertingRule, scrape: Term) -> Term:
    """The longest wait the expression itself imposes: a window to fill or empty, an age, two samples."""
    try:
        needs, ages = window_needs(rule.query), age_needs(rule.query)
    except ConfigError as exc:  # a syntax the tree does not model: assume the longest window must fill
        window = _longest_window(rule)
        return Term("expression needs", window.seconds, f"longest range window, expression not analysed ({exc})")
    candidates = [(0.0, "no range window or age to wait for")]
    for need in needs:
        if need.waits:
            candidates.append((need.seconds, need.why()))
        elif need.kind == "two samples":
            candidates.append((scrape.seconds, need.why() + " (one more scrape)"))
    for age in ages:
        candidates.append((age.seconds, f"{age.selector} {age.comparison}: an age reaches its threshold"))
    seconds, why = max(candidates, key=lambda c: c[0])
    skipped = [n for n in needs if not n.waits and n.kind != "two samples"]
    if skipped and seconds == 0:
        why = "; ".join(n.why() for n in skipped)
    return Term("expression needs", seconds, why)


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
    scrape = _scrape_term(prometheus, rule)
    return TimingFacts(
        scrape=scrape,
        evaluation=Term("evaluation interval", evaluation, f"group '{rule.group}', /api/v1/rules"),
        for_=Term("for", rule.duration, f"rule {rule.name}"),
        keep_firing_for=Term("keep_firing_for", rule.keep_firing_for, f"rule {rule.name}"),
        range_window=_longest_window(rule),
        group_wait=Term("group_wait", timings.group_wait, route),
        group_interval=Term("group_interval", timings.group_interval, route),
        absence=_absence_term(prometheus, rule),
        scrape_duration=_scrape_duration_term(prometheus, scrape, _job(scrape)),
        needs=_needs_term(rule, scrape),
    )


def _absence_term(prometheus: PrometheusClient, rule: AlertingRule) -> Term:
    """An absent() rule sees a vanished series only after the lookback delta: Prometheus 2.42 writes
    no staleness markers when a whole scrape job is removed, so the last sample stays visible."""
    if "absent(" not in rule.query:  # absent_over_time() reads a range: its window is in .needs
        return Term("lookback delta", 0.0, "the rule does not alert on absence")
    lookback = prometheus.flags().get("query.lookback-delta", "5m")
    return Term("lookback delta", parse_duration(lookback, what="query.lookback-delta"),
                "--query.lookback-delta, /api/v1/status/flags: a removed series stays visible this long")
