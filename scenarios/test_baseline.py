"""The negative check: under steady load, a healthy stack has no alert pending or firing at all."""

import time

import pytest

pytestmark = [pytest.mark.chaos, pytest.mark.monitoring, pytest.mark.baseline]


def test_steady_load_fires_no_alert(observers, steady_load, session_quiet_timeout):
    """Watch for as long as the slowest rule needs to fire (its whole fire deadline, range windows and
    lookback included); no alert may be pending or firing at any evaluation of that window."""
    from alertdrill.assertions.deadlines import Slack, gather_timings
    from alertdrill.drill import wait_quiet
    from alertdrill.waiting import poll_until

    prometheus = observers.prometheus
    deadlines = {rule.name: gather_timings(rule, prometheus, observers.alertmanager, {}).fire(Slack())
                 for rule in prometheus.rules()}
    slowest = max(deadlines, key=lambda name: deadlines[name].seconds)
    window = deadlines[slowest].seconds
    wait_quiet(prometheus, timeout=session_quiet_timeout)
    start = time.time()
    found, active = poll_until(lambda: [a for a in prometheus.alerts() if a.state in ("pending", "firing")],
                               timeout=window, interval=0.5, accept=bool)
    assert not found, "alerts active at baseline: " + ", ".join(f"{a.name}{a.labels} {a.state}" for a in active or [])
    series = prometheus.query_range("ALERTS", start, max(time.time(), start + 1), 1.0)
    assert series == [], (f"ALERTS shows alerts pending or firing during the {window:.0f} s baseline "
                          f"(as long as {slowest} needs to fire): {[s.labels for s in series]}")
    assert steady_load.running, "the steady load stopped during the baseline"
