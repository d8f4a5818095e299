"""A tiny chaos run for the report test, run by pytest in a subprocess with --alluredir.

It uses the real session fixtures (native stack, catalogue, drill results) and the same calls as
the ``drill`` fixture. The second drill injects a harmless fault (one extra Redis client), so
RedisDown never fires: a failed run, as a reviewer would see one.
Copied into the test's tmp dir; not collected from here (no ``test_`` prefix).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from alertdrill.assertions.alertmanager import AlertmanagerClient
from alertdrill.assertions.notifications import SinkClient
from alertdrill.assertions.prometheus import PrometheusClient
from alertdrill.catalogue import FaultSpec
from alertdrill.drill import Observers, quiet_timeout, run_drill
from alertdrill.report import attach_drill

pytestmark = pytest.mark.chaos


@pytest.fixture(scope="session")
def observers(stack_info) -> Observers:
    return Observers(PrometheusClient(stack_info.prometheus_url), AlertmanagerClient(stack_info.alertmanager_url),
                     SinkClient(stack_info.sink_url))


def _drill(scenario, native_stack, observers, stack_info, drill_results):
    try:
        result = run_drill(scenario, backend=native_stack, observers=observers, quiet_timeout=quiet_timeout(observers))
    except BaseException as exc:
        failed = getattr(exc, "drill_result", None)
        if failed is not None:
            report = attach_drill(failed, scenario=scenario, observers=observers, stack_info=stack_info)
            assert report is not None and not report.problems, report
            drill_results.append(failed)
        raise
    report = attach_drill(result, scenario=scenario, observers=observers, stack_info=stack_info)
    assert report is not None and not report.problems, report
    drill_results.append(result)
    return result


def test_redis_down(native_stack, stack_info, catalogue, observers, drill_results):
    result = _drill(catalogue.scenario("redis-down"), native_stack, observers, stack_info, drill_results)
    assert result.status == "passed", result.diagnosis


def test_redis_down_without_a_fault(native_stack, stack_info, catalogue, observers, drill_results):
    scenario = replace(catalogue.scenario("redis-down"), id="redis-down-no-fault",
                       fault=FaultSpec.parse("redis-client-flood", {"clients": 1}),
                       description="Redis only gets one more client: RedisDown must not fire, so the drill fails.")
    _drill(scenario, native_stack, observers, stack_info, drill_results)
