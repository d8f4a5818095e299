"""The negative check: under steady load, a healthy stack fires no alert at all."""

import time

import pytest

pytestmark = [pytest.mark.chaos, pytest.mark.monitoring, pytest.mark.baseline]


def test_steady_load_fires_no_alert(observers, steady_load):
    """Watch for as long as the slowest rule needs to fire; nothing may fire, nothing may stay pending."""
    from alertdrill.drill import wait_quiet
    from alertdrill.waiting import poll_until

    prometheus = observers.prometheus
    rules = prometheus.rules()
    evaluation = max((r.group_interval or 1.0) for r in rules)
    config = prometheus.config()
    scrape = max([config.scrape_interval, *config.job_scrape_intervals.values()])
    window = max(r.duration for r in rules) + scrape + 2 * evaluation
    wait_quiet(prometheus, timeout=window)
    start = time.time()
    fired, firing = poll_until(lambda: [a for a in prometheus.alerts() if a.state == "firing"], timeout=window,
                               interval=0.5, accept=bool)
    assert not fired, "alerts fired at baseline: " + ", ".join(f"{a.name}{a.labels}" for a in firing or [])
    series = prometheus.query_range('ALERTS{alertstate="firing"}', start, time.time(), evaluation)
    assert series == [], f"ALERTS shows firing alerts during the {window:.0f}s baseline: {series}"
    assert steady_load.running, "the steady load stopped during the baseline"
