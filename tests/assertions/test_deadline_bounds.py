"""The fire deadline is bounded on both sides, against real Prometheus 2.42 and Alertmanager 0.25.

A tiny exporter the test controls (a prometheus_client collector whose values follow ``Faults.at``)
feeds one rule per kind of expression: plain, ``rate()`` over a threshold, ``increase() > 0``,
``max_over_time``, ``absent()``, ``absent_over_time`` and an age. One "fault" switches all inputs at
once; for each rule the measured time to fire (Prometheus' own firing evaluation) must lie between
the best case (``for``) and the computed deadline, and the deadline must be at most twice the worst
case of the ideal pipeline for that rule, computed here by hand:

    worst = scrape 1 s + evaluation 1 s + what the expression waits for + for + one evaluation 1 s

so a deadline that counts a window the rule does not wait for (``increase() > 0`` over 30 s) fails.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from alertdrill.assertions.deadlines import Slack, Term
from alertdrill.assertions.expectations import expect_alert
from alertdrill.drill import wait_quiet

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

LOOKBACK = 4.0  # --query.lookback-delta: how long absent() may still see a series that left without a stale marker

RULES = """\
groups:
  - name: deadline-bounds
    interval: 1s
    rules:
      - {alert: BoundsPlain, expr: bounds_plain == 1, for: 2s, labels: {severity: warning}}
      - {alert: BoundsRate, expr: "rate(bounds_requests_total[8s]) > 8", for: 1s, labels: {severity: warning}}
      - {alert: BoundsIncrease, expr: "increase(bounds_rejected_total[30s]) > 0", for: 1s,
         labels: {severity: warning}}
      - {alert: BoundsPeak, expr: "max_over_time(bounds_errors[30s]) > 0", for: 1s, labels: {severity: warning}}
      - {alert: BoundsAbsent, expr: absent(bounds_heartbeat), for: 1s, labels: {severity: warning}}
      - {alert: BoundsAbsentOverTime, expr: "absent_over_time(bounds_beacon[6s])", for: 1s,
         labels: {severity: warning}}
      - {alert: BoundsAge, expr: bounds_job_age_seconds > 4, for: 1s, labels: {severity: warning}}
"""

#: alert -> (seconds its expression waits for after the fault, `for`): the ideal pipeline, by hand.
IDEAL = {
    "BoundsPlain": (0.0, 2.0),
    "BoundsRate": (8.0, 1.0),  # rate 10/s against 8/s: 80 % of the 8 s window must hold fault samples
    "BoundsIncrease": (0.0, 1.0),  # the first sample after the step decides
    "BoundsPeak": (0.0, 1.0),  # one sample above 0 decides
    "BoundsAbsent": (LOOKBACK, 1.0),  # the lookback bounds a vanished series (job removed: no stale marker)
    "BoundsAbsentOverTime": (6.0, 1.0),  # the last sample must leave the 6 s window
    "BoundsAge": (4.0, 1.0),  # the age reaches 4 s four seconds after the fault, whatever the timing
}
SCRAPE = EVALUATION = 1.0


class Faults:
    """The exporter: before ``at`` every input is quiet; from ``at`` each one shows its fault."""

    def __init__(self) -> None:
        self.at: float | None = None

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        now = time.time()
        age = max(0.0, now - self.at) if self.at is not None else 0.0
        on = self.at is not None
        yield GaugeMetricFamily("bounds_plain", "1 during the fault", value=1.0 if on else 0.0)
        requests = CounterMetricFamily("bounds_requests", "10 per second during the fault")
        requests.add_metric([], 10.0 * age)
        yield requests
        rejected = CounterMetricFamily("bounds_rejected", "one step at the fault")
        rejected.add_metric([], 1.0 if on else 0.0)
        yield rejected
        yield GaugeMetricFamily("bounds_errors", "1 during the fault", value=1.0 if on else 0.0)
        if not on:
            yield GaugeMetricFamily("bounds_heartbeat", "gone during the fault", value=1.0)
            yield GaugeMetricFamily("bounds_beacon", "gone during the fault", value=1.0)
        yield GaugeMetricFamily("bounds_job_age_seconds", "seconds since the fault", value=age)


@pytest.fixture(scope="module")
def bounds(tmp_path_factory: pytest.TempPathFactory, start_stack) -> Iterator[tuple[object, Faults]]:
    faults = Faults()
    registry = CollectorRegistry()
    registry.register(faults)  # type: ignore[arg-type]
    with start_stack(tmp_path_factory.mktemp("deadline-bounds"), RULES, registry,
                           (f"--query.lookback-delta={LOOKBACK:g}s",)) as live:
        yield live, faults


def test_measured_fire_time_lies_between_best_case_and_deadline_at_most_twice_the_worst_case(bounds):
    live, faults = bounds
    clients = {"prometheus": live.prometheus, "alertmanager": live.alertmanager, "sink_client": live.sink}
    alerts = {name: expect_alert(name, **clients) for name in IDEAL}
    # absent() fires before the exporter's first scrape: wait as long as resolving may take.
    wait_quiet(live.prometheus, timeout=max(a.deadline("resolve").seconds for a in alerts.values()))
    for alert in alerts.values():
        alert.precondition()
    facts = {name: alert.timings() for name, alert in alerts.items()}
    deadlines = {name: alert.deadline("fire") for name, alert in alerts.items()}

    injected = time.time()
    faults.at = injected
    try:
        fired = {name: alert.fires(since=injected) for name, alert in alerts.items()}
    finally:
        faults.at = None

    report = []
    for name, (waits, for_) in IDEAL.items():
        worst = SCRAPE + EVALUATION + waits + for_ + EVALUATION
        measured, deadline = fired[name].measured, deadlines[name].seconds
        report.append(f"{name}: best {for_:g} s <= measured {measured:.2f} s <= deadline {deadline:.2f} s "
                      f"<= 2 x worst {2 * worst:g} s ({deadlines[name].explain()})")
        bounds_ = facts[name].bounds()
        assert (bounds_.best_fire, bounds_.worst_fire) == (for_, worst), report[-1]
        assert for_ <= measured <= deadline <= 2 * worst, report[-1]
    print("\n" + "\n".join(report))
    # An age or a window to empty is a real wait: without its term the rule could not fire in time.
    assert fired["BoundsAge"].measured >= 4.0 + 1.0
    assert fired["BoundsAbsentOverTime"].measured >= 6.0 - SCRAPE + 1.0
    # The rate needs most of its window: 8/s of 10/s in an 8 s window cannot happen in the first 5 s.
    assert fired["BoundsRate"].measured >= 5.0


def test_the_guard_rejects_a_deadline_that_counts_a_window_the_rule_does_not_wait_for(bounds):
    """The old model added the longest range window to every rule: for ``increase(...[30s]) > 0``
    that deadline is more than twice the ideal worst case, which the guard above refuses."""
    live, _ = bounds
    alert = expect_alert("BoundsIncrease", prometheus=live.prometheus, alertmanager=live.alertmanager,
                         sink_client=live.sink)
    facts = alert.timings()
    assert facts.needs.seconds == 0 and facts.range_window.seconds == 30
    worst = SCRAPE + EVALUATION + 0.0 + 1.0 + EVALUATION
    old = dataclasses.replace(facts, needs=Term("range window to fill", facts.range_window.seconds, "old model"))
    assert old.fire(Slack()).seconds > 2 * worst >= facts.fire(Slack()).seconds
