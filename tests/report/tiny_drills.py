"""A tiny chaos run for the report test, run by pytest in a subprocess with --alluredir.

It uses the real session fixtures (native stack, catalogue, drill results) and the same calls as
scenarios/conftest.py's ``drill`` fixture, with a stop/start fault of its own so it depends on no
fault code. The second drill injects nothing, so RedisDown never fires: a failed run, as a reviewer
would see one. Copied into the test's tmp dir; not collected from here (no ``test_`` prefix).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from alertdrill.assertions.alertmanager import AlertmanagerClient
from alertdrill.assertions.notifications import SinkClient
from alertdrill.assertions.prometheus import PrometheusClient
from alertdrill.drill import Observers, run_drill
from alertdrill.report import attach_drill

pytestmark = pytest.mark.chaos


class StopComponent:
    """Stop a component of the session's stack; start it again on exit."""

    def __init__(self, stack, component: str, *, really: bool = True) -> None:
        self.stack, self.component, self.really = stack, component, really

    def __enter__(self):
        if self.really:
            self.stack.stop_component(self.component)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.really:
            self.stack.start_component(self.component)

    def prove(self) -> dict:
        alive = self.stack.process(self.component).is_alive()
        assert alive != self.really, f"{self.component} alive={alive}"
        return {"component": self.component, "stopped": not alive}


@pytest.fixture(scope="session")
def observers(stack_info) -> Observers:
    return Observers(PrometheusClient(stack_info.prometheus_url), AlertmanagerClient(stack_info.alertmanager_url),
                     SinkClient(stack_info.sink_url))


def _drill(scenario, fault, observers, stack_info, drill_results):
    try:
        result = run_drill(scenario, make_fault=lambda s: fault, observers=observers)
    except BaseException as exc:
        failed = getattr(exc, "drill_result", None)
        if failed is not None:
            report = attach_drill(failed, scenario=scenario, observers=observers, stack_info=stack_info)
            assert report is not None and not report.problems, report
            drill_results.append(failed.to_dict())
        raise
    report = attach_drill(result, scenario=scenario, observers=observers, stack_info=stack_info)
    assert report is not None and not report.problems, report
    drill_results.append(result.to_dict())
    return result


def test_redis_down(native_stack, stack_info, catalogue, observers, drill_results):
    result = _drill(catalogue.scenario("redis-down"), StopComponent(native_stack, "redis"), observers, stack_info,
                    drill_results)
    assert result.status == "passed", result.diagnosis


def test_redis_down_without_a_fault(native_stack, stack_info, catalogue, observers, drill_results):
    scenario = replace(catalogue.scenario("redis-down"), id="redis-down-no-fault",
                       description="Nothing is injected: RedisDown must not fire, so the drill fails.")
    _drill(scenario, StopComponent(native_stack, "redis", really=False), observers, stack_info, drill_results)
