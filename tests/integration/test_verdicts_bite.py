"""Every check of an alert contract can fail: deliberately wrong rules and faults against a real stack.

One native stack of this module's own loads the shipped rules plus the mutants below. Each test runs a
real drill whose contract a mutant breaks in exactly one way, and asserts the drill fails with the
message that names it: a silent alert that only goes pending, an alert that fires twice, a warning that
reaches the sink before its critical inhibits it, a fault too weak for its rule, and a rule whose
aggregation drops ``instance``. (A load that acknowledges no write cannot be had on demand from a
healthy stack: tests/unit/test_write_floor.py reaches that path.)
"""

from __future__ import annotations

import pytest

from alertdrill.assertions.alertmanager import AlertmanagerClient
from alertdrill.assertions.notifications import SinkClient
from alertdrill.assertions.prometheus import PrometheusClient
from alertdrill.catalogue import AlertContract, FaultSpec, Scenario
from alertdrill.drill import Observers, quiet_timeout, run_drill
from alertdrill.errors import ExpectationError, FaultTooWeakError
from alertdrill.stack.backends.native import NativeStack
from alertdrill.stack.layout import shipped_rule_files
from alertdrill.stack.rendering import StackTiming
from alertdrill.stack.timescale import RuleTiming

pytestmark = pytest.mark.integration

MUTANTS = """
groups:
  - name: mutants
    rules:
      # Goes pending when Redis is down, but its `for` is far longer than any fault: only a check of
      # the pending state can see it misbehave.
      - alert: MutantPendingOnRedisDown
        expr: redis_up == 0
        for: 1h
        labels: {severity: warning, service: redis}
      # Fires while Redis is down, resolves when it is back, and fires again 4..12 s later.
      - alert: MutantFiresTwice
        expr: |
          redis_up == 0
            or on (instance)
          (redis_up == 1 and on (instance) (time() - max_over_time(timestamp(redis_up == 0)[40s:1s])) > 4
                         and on (instance) (time() - max_over_time(timestamp(redis_up == 0)[40s:1s])) < 12)
        labels: {severity: critical, service: redis}
      # The warning fires (and is delivered) seconds before the critical that inhibits it.
      - alert: MutantInhibited
        expr: redis_up == 0
        labels: {severity: warning, service: redis}
      - alert: MutantInhibited
        expr: redis_up == 0
        for: 4s
        labels: {severity: critical, service: redis}
      # The aggregation keeps only `job`: the contract's instance label can never match.
      - alert: MutantDropsInstance
        expr: max by (job) (redis_up) == 0
        labels: {severity: critical, service: redis}
"""

UNSCALED = RuleTiming(time_scale=1.0, why="the mutant's durations are part of what it tests")
CRITICAL = {"severity": "critical", "service": "redis"}
WARNING = {"severity": "warning", "service": "redis"}


@pytest.fixture(scope="module")
def mutant_stack(tmp_path_factory) -> NativeStack:
    rules = tmp_path_factory.mktemp("mutants") / "mutants.yml"
    rules.write_text(MUTANTS)
    stack = NativeStack(name="mutants", timing=StackTiming(time_scale=60),
                        rule_files=[*shipped_rule_files(), rules],
                        rule_overrides={name: UNSCALED for name in ("MutantFiresTwice", "MutantInhibited",
                                                                     "MutantPendingOnRedisDown")})
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def observers(mutant_stack) -> Observers:
    info = mutant_stack.info
    return Observers(PrometheusClient(info.prometheus_url), AlertmanagerClient(info.alertmanager_url),
                     SinkClient(info.sink_url))


def _redis_down(*alerts: AlertContract, silent: tuple[str, ...] = (), scenario_id: str = "mutant") -> Scenario:
    return Scenario(id=scenario_id, component="redis", description="", fault=FaultSpec.parse("service-stop",
                    {"component": "redis"}), alerts=alerts, silent=silent)


def _fails(scenario: Scenario, stack, observers, **kw) -> str:
    with pytest.raises((ExpectationError, FaultTooWeakError)) as info:
        run_drill(scenario, backend=stack, observers=observers, quiet_timeout=quiet_timeout(observers), **kw)
    result = info.value.drill_result  # type: ignore[attr-defined]
    assert result.status in ("failed", "broken")
    return result.diagnosis or ""


def test_a_silent_alert_that_only_goes_pending_fails_the_contract(mutant_stack, observers):
    scenario = _redis_down(AlertContract("RedisDown", CRITICAL, "critical"), silent=("MutantPendingOnRedisDown",))
    why = _fails(scenario, mutant_stack, observers)
    assert "must-stay-silent alerts went active during the fault" in why
    assert "MutantPendingOnRedisDown" in why and "pending" in why


def test_an_alert_that_fires_again_after_resolving_fails(mutant_stack, observers):
    scenario = _redis_down(AlertContract("MutantFiresTwice", CRITICAL, "critical"))
    why = _fails(scenario, mutant_stack, observers)
    assert "a second firing episode after it resolved" in why


def test_an_inhibited_warning_that_reached_the_sink_fails(mutant_stack, observers):
    scenario = _redis_down(AlertContract("MutantInhibited", CRITICAL, "critical"),
                           AlertContract("MutantInhibited", WARNING, inhibited_by="MutantInhibited"))
    why = _fails(scenario, mutant_stack, observers)
    assert "is inhibited in Alertmanager, yet its firing notification reached the sink" in why


def test_a_rule_that_drops_instance_is_named(mutant_stack, observers):
    address = f"127.0.0.1:{mutant_stack.info.ports['redis_exporter']}"
    scenario = _redis_down(AlertContract("MutantDropsInstance", {**CRITICAL, "instance": address}, "critical"))
    why = _fails(scenario, mutant_stack, observers)
    assert f'expected label instance="{address}", it has none' in why
    assert "the rule's `max by (job)` drops it" in why


def test_a_fault_too_weak_for_its_threshold_says_so(mutant_stack, observers):
    scenario = Scenario(id="weak-memory", component="redis", description="",
                        fault=FaultSpec.parse("redis-memory-fill", {"fraction": 0.5}),
                        alerts=(AlertContract("RedisOutOfMemory", WARNING, "warning"),))
    why = _fails(scenario, mutant_stack, observers)
    assert "too weak: used_memory / maxmemory measured 0.5" in why and "the rule needs > 0.9" in why
