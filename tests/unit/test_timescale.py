"""Scaling rule durations for fast runs, and reporting each change."""

import pytest

from alertdrill.errors import ConfigError
from alertdrill.stack.timescale import RuleTiming, scale_expr, scale_rule_groups


def test_range_windows_offsets_and_subqueries_scale():
    assert scale_expr("rate(x[5m])", 60) == "rate(x[5s])"
    assert scale_expr("rate(x[1h] offset 1d)", 60) == "rate(x[1m] offset 24m)"
    assert scale_expr("max_over_time(x[1h:5m])", 60) == "max_over_time(x[1m:5s])"


def test_range_window_never_shrinks_below_the_floor():
    assert scale_expr("increase(x[1m])", 60, min_range=4) == "increase(x[4s])"


def test_strings_are_not_touched():
    assert scale_expr('x{a="[5m]"} > 120', 60, thresholds=(120,)) == 'x{a="[5m]"} > 2'


def test_only_named_thresholds_scale():
    assert scale_expr("x_seconds > 120 and y > 120.5", 60, thresholds=(120,)) == "x_seconds > 2 and y > 120.5"
    assert scale_expr("x_seconds > 120", 60) == "x_seconds > 120"


def _doc(**rule):
    return {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "rate(x[5m]) > 1", **rule}]}]}


def test_rule_for_and_expr_scale_with_differences_reported():
    scaled, diffs = scale_rule_groups(_doc(**{"for": "5m"}), time_scale=60, min_range=4)
    rule = scaled["groups"][0]["rules"][0]
    assert rule["for"] == "5s"
    assert rule["expr"] == "rate(x[5s]) > 1"
    assert {(d.what, d.shipped, d.tested) for d in diffs} == {("for", "5m", "5s"),
                                                              ("expr", "rate(x[5m]) > 1", "rate(x[5s]) > 1")}


def test_time_scale_one_changes_nothing():
    doc = _doc(**{"for": "5m"})
    scaled, diffs = scale_rule_groups(doc, time_scale=1, min_range=60)
    assert scaled == doc and diffs == []


def test_catalogue_override_wins_and_is_labelled():
    scaled, diffs = scale_rule_groups(_doc(**{"for": "10m"}), time_scale=60, min_range=4,
                                      overrides={"A": RuleTiming(time_scale=600)})
    assert scaled["groups"][0]["rules"][0]["for"] == "1s"
    assert all("catalogue override" in d.why for d in diffs)


def test_nonpositive_time_scale_is_refused():
    with pytest.raises(ConfigError, match="time scale must be > 0"):
        scale_rule_groups(_doc(), time_scale=0, min_range=1)


def test_absent_rules_keep_for_above_a_fresh_prometheus_first_scrape():
    """monitor_target_missing (absent(), for: 5m) would fire at every stack start at time scale 60 (for 5 s)
    because Prometheus evaluates before its first scrape; its `for` is floored, and the report says why."""
    doc = {"groups": [{"name": "g", "rules": [
        {"alert": "Gone", "expr": 'absent(up{job="app"})', "for": "5m"},
        {"alert": "Plain", "expr": "up == 0", "for": "5m"},
        {"alert": "AtOnce", "expr": 'absent(up{job="x"})', "for": "2s"},
    ]}]}
    scaled, diffs = scale_rule_groups(doc, time_scale=60, min_range=4, absent_for_floor=8)
    rules = {r["alert"]: r for r in scaled["groups"][0]["rules"]}
    assert rules["Gone"]["for"] == "8s"
    assert rules["Plain"]["for"] == "5s"
    assert rules["AtOnce"]["for"] == "2s"  # the floor never makes a rule slower than shipped
    gone = next(d for d in diffs if d.alert == "Gone" and d.what == "for")
    assert "absent()" in gone.why and "5 s tick" in gone.why


def test_stack_timing_floor_covers_discovery_scrape_and_evaluation():
    from alertdrill.stack.rendering import StackTiming

    assert StackTiming(time_scale=60).absent_for_floor() == 5 + 2 + 1  # postgres job scrapes every 2 s
    assert StackTiming.production().absent_for_floor() == 0
