"""What an expression waits for after a fault (assertions/needs.py): window to fill, to empty, or none."""

from __future__ import annotations

import pytest

from alertdrill.assertions.needs import age_needs, window_needs


@pytest.mark.parametrize(("expr", "expected"), [
    # averages cross a threshold only once the window holds enough fault-time samples
    ("rate(x_total[5m]) > 10", [("rate", "fill", 300)]),
    ("avg_over_time(x[2m]) > 0.9", [("avg_over_time", "fill", 120)]),
    ('sum by (i) (rate(a{s=~"5.."}[5m])) / sum by (i) (rate(a[5m])) > 0.05', [("rate", "fill", 300)] * 2),
    ("histogram_quantile(0.95, sum by (le) (rate(b_bucket[5m]))) > 0.5", [("rate", "fill", 300)]),
    ("rate(x[5m]) < 5", [("rate", "fill", 300)]),
    # "did it move" needs one differing sample, not the window
    ("increase(x_total[5m]) > 0", [("increase", "none", 300)]),
    ("0 < increase(x_total[5m])", [("increase", "none", 300)]),
    ("changes(x[5m]) > 0", [("changes", "none", 300)]),
    ("sum(rate(x_total[1m])) > 0", [("rate", "none", 60)]),
    # one sample above the threshold is enough
    ("max_over_time(e[2m]) == 1 and on (instance) up == 1", [("max_over_time", "none", 120)]),
    ("min_over_time(x[1m]) < 3", [("min_over_time", "none", 60)]),
    ("last_over_time(x[1m]) > 3", [("last_over_time", "none", 60)]),
    # the old samples must leave the window
    ("absent_over_time(x[5m])", [("absent_over_time", "empty", 300)]),
    ("max_over_time(x[1m]) < 3", [("max_over_time", "empty", 60)]),
    ("rate(x[5m]) == 0", [("rate", "empty", 300)]),
    ("changes(x[10m]) < 1", [("changes", "empty", 600)]),
    # the last two samples
    ("irate(x[1m]) > 5", [("irate", "two samples", 60)]),
    # no comparison to read: the worst case of the kind
    ("rate(x[5m])", [("rate", "fill", 300)]),
    ("max_over_time(rate(x[1m])[5m:30s]) > 3", [("rate", "fill", 60), ("subquery", "fill", 300)]),
    ("absent(up{job=\"app\"})", []),
])
def test_window_needs_per_function_and_comparison(expr, expected):
    assert [(w.function, w.kind, w.seconds) for w in window_needs(expr)] == expected


def test_only_fill_and_empty_wait_for_the_window():
    kinds = {w.kind: w.waits for e in ("rate(a[1m]) > 1", "absent_over_time(a[1m])", "increase(a[1m]) > 0",
                                        "irate(a[1m]) > 1") for w in window_needs(e)}
    assert kinds == {"fill": True, "empty": True, "none": False, "two samples": False}
    assert window_needs("increase(x_total[5m]) > 0")[0].why() == (
        "increase(x_total[5m]) > 0: one fault-time sample decides")


@pytest.mark.parametrize(("expr", "expected"), [
    ("count by (instance) (pg_long_running_query_seconds > 120) >= 3", [("pg_long_running_query_seconds", 120)]),
    ("time() - last_success_timestamp_seconds > 120", [("time() - last_success_timestamp_seconds", 120)]),
    ("max(pg_stat_activity_max_tx_duration) > 120", [("pg_stat_activity_max_tx_duration", 120)]),
    ("max_over_time(job_age_seconds[1m]) >= 30", [("job_age_seconds", 30)]),
    ("pg_table_vacuum_seconds_since_vacuum > 86400 and on (relname) pg_dead > 10",
     [("pg_table_vacuum_seconds_since_vacuum", 86400)]),
    # not ages: counters, histograms, timestamps, a comparison the wrong way, no threshold
    ("rate(http_request_duration_seconds_sum[5m]) > 1", []),
    ("process_start_time_seconds > 100", []),
    ("time() - process_start_time_seconds < 60", []),
    ("pg_up == 0", []),
])
def test_ages_inside_the_expression(expr, expected):
    assert [(a.selector, a.seconds) for a in age_needs(expr)] == expected
