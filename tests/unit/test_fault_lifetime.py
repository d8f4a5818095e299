"""Every scenario's fault outlives what its alerts need, at any time scale alertdrill accepts."""

from __future__ import annotations

import pytest

from alertdrill.bounds import session_bounds
from alertdrill.catalogue import DEFAULT_CATALOGUE, load_catalogue
from alertdrill.chaos import MAX_MAX_DURATION
from alertdrill.drill import fault_lifetime_for
from alertdrill.settings import MAX_TIME_SCALE
from alertdrill.stack.layout import shipped_rule_files
from alertdrill.stack.rendering import StackTiming


@pytest.mark.parametrize("scale", [1.0, 60.0, MAX_TIME_SCALE])
def test_every_faults_lifetime_exceeds_its_scenarios_deadlines(scale):
    catalogue = load_catalogue(DEFAULT_CATALOGUE)
    timing = StackTiming.production() if scale == 1.0 else StackTiming(time_scale=scale)
    bounds = session_bounds(shipped_rule_files(), timing=timing, overrides=catalogue.rule_overrides)
    by_alert: dict[str, list] = {}
    for rule in bounds.rules:
        by_alert.setdefault(rule.alert, []).append(rule)
    for scenario in catalogue.scenarios:
        rules = [r for name in scenario.alert_names() for r in by_alert[name]]
        needed = max(max(r.deliver.seconds, r.resolve.seconds) for r in rules)  # as _Drill.fault_lifetime
        lifetime = fault_lifetime_for(needed)
        for rule in rules:
            assert lifetime > rule.resolve.seconds and lifetime > rule.deliver.seconds, (scale, scenario.id, rule.alert)
        assert lifetime <= MAX_MAX_DURATION, (scale, scenario.id, lifetime)
