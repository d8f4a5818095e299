"""Upper bounds from the configuration: the session's longest deadline, and what is refused up front."""

import math

import pytest

from alertdrill.bounds import MAX_WAIT_SECONDS, check_bounded, check_rules_bounded, session_bounds
from alertdrill.catalogue import load_catalogue
from alertdrill.errors import ConfigError
from alertdrill.settings import MAX_TIME_SCALE, resolve_setting
from alertdrill.stack.rendering import StackTiming


def _rules(tmp_path, body: str):
    path = tmp_path / "r.yml"
    path.write_text("groups:\n  - name: g\n    rules:\n" + body)
    return [path]


@pytest.mark.parametrize("value", ["0", "-1", "inf", "-inf", "nan", str(MAX_TIME_SCALE * 2), 0.0, math.nan])
def test_unusable_time_scales_are_refused_naming_the_option(value):
    with pytest.raises(ConfigError, match=r"^--time-scale .* must be a number > 0 and at most 3600 \("):
        resolve_setting("time_scale", option=value, environ={})


@pytest.mark.parametrize("value,expected", [("60", 60.0), ("1", 1.0), (0.5, 0.5), (str(MAX_TIME_SCALE), 3600.0)])
def test_usable_time_scales_pass(value, expected):
    assert resolve_setting("time_scale", option=value, environ={}) == expected


def test_longest_deadline_follows_the_rules_and_the_timing(tmp_path):
    rules = _rules(tmp_path, "      - alert: Slow\n        expr: rate(x[10m]) > 1\n        for: 20m\n"
                             "      - alert: Fast\n        expr: up == 0\n        for: 1m\n")
    scaled = session_bounds(rules, timing=StackTiming(time_scale=60))
    assert [r.alert for r in scaled.rules] == ["Slow", "Fast"] and scaled.longest.alert == "Slow"
    slow = scaled.longest.facts
    # scrape 2 s (the slow postgres job) + its timeout 2 s + evaluation 1 s + window to fill 10 s + for 20 s
    # + evaluation 1 s
    assert (slow.scrape.seconds, slow.needs.seconds, slow.for_.seconds) == (2.0, 10.0, 20.0)
    assert scaled.longest.fire.base == 36.0
    assert scaled.longest_drill_seconds == scaled.longest.deliver.seconds + scaled.longest.resolve.seconds
    production = session_bounds(rules, timing=StackTiming.production())
    assert production.longest.facts.for_.seconds == 1200.0 and production.longest_drill_seconds > 2400
    check_bounded(production)


def test_absent_rules_count_the_lookback(tmp_path):
    rules = _rules(tmp_path, "      - alert: Gone\n        expr: absent(up{job=\"x\"})\n")
    assert session_bounds(rules, timing=StackTiming(time_scale=60)).longest.facts.absence.seconds == 8.0


def test_shipped_rules_are_within_the_ceiling_at_every_shipped_timing():
    catalogue = load_catalogue()
    for timing in (StackTiming(), StackTiming(time_scale=1), StackTiming.production()):
        bounds = check_rules_bounded(None, timing=timing, catalogue=catalogue)
        assert 0 < bounds.longest_drill_seconds < MAX_WAIT_SECONDS
    # without the catalogue's override, the table-vacuum age (a day) is more than a drill may wait
    with pytest.raises(ConfigError, match=r"alert PostgresqlTableNotVacuumed .* above the ceiling"):
        check_rules_bounded(None, timing=StackTiming())


def test_only_alerts_a_drill_waits_for_count(tmp_path):
    from dataclasses import replace

    rules = _rules(tmp_path, "      - alert: Forever\n        expr: up == 0\n        for: 100d\n")
    catalogue = load_catalogue()
    check_rules_bounded(rules, timing=StackTiming(), catalogue=catalogue)  # no scenario drills Forever
    drilled = replace(catalogue, scenarios=(replace(catalogue.scenarios[0], silent=("Forever",)),))
    with pytest.raises(ConfigError, match=r"alert Forever .* above the ceiling"):
        check_rules_bounded(rules, timing=StackTiming(), catalogue=drilled)


def test_a_wait_above_the_ceiling_is_refused_with_the_ceiling_and_why(tmp_path):
    rules = _rules(tmp_path, "      - alert: Forever\n        expr: up == 0\n        for: 100d\n")
    with pytest.raises(ConfigError, match=r"alert Forever \(.*r\.yml\) needs up to .* above the ceiling of 6h "
                                          r"\(a CI job is cancelled after 6h"):
        check_bounded(session_bounds(rules, timing=StackTiming(time_scale=60)))
    # the same rule is fine once scaled far enough
    check_bounded(session_bounds(rules, timing=StackTiming(time_scale=3600)))
