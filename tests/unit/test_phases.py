"""The phase breakdown sums each drill step into its phase once, and the idle share follows the wall."""

from __future__ import annotations

from alertdrill.phases import PhaseBreakdown, phase_of
from alertdrill.results import DrillResult, RunSummary
from alertdrill.steps import StepRecord


def test_steps_fall_into_their_phase_and_nested_baselines_count_once():
    steps = [StepRecord("quiet: no alert pending or firing", 0.0, 2.0, "passed"),
             StepRecord("baseline: stack quiet, alert silent", 2.0, 3.0, "passed"),
             StepRecord("baseline: RedisDown", 2.1, 2.9, "passed"),
             StepRecord("fire: RedisDown", 3.0, 6.0, "passed"),
             StepRecord("stays resolved: RedisDown for 5.4 s", 8.0, 13.4, "passed")]
    result = DrillResult("s", "redis", "service-stop", [], started=0.0, ended=20.0, steps=steps, stack="pytest-gw0",
                         stack_startup_seconds=4.5)
    breakdown = PhaseBreakdown.of(RunSummary([result], wall_seconds=40.0))
    assert breakdown.seconds["waiting for the stack to be quiet"] == 2.0
    assert breakdown.seconds["baseline"] == 1.0 and breakdown.seconds["inject -> fire"] == 3.0
    assert breakdown.stack_startup == {"pytest-gw0": 4.5}
    assert breakdown.idle_share == 0.5
    assert phase_of("something new") == "other"
    assert any("idle share 50%" in line for line in breakdown.lines())
