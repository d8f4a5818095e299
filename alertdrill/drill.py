"""One scenario run end to end: baseline, inject, prove, fire, deliver, revert, resolve, ledger.

The drill is the contract of DESIGN.md made executable. It knows nothing about pytest: scenarios
call :func:`run_drill` with the scenario from the catalogue, a way to build its fault, the
observers of the live stack and, optionally, the load whose ledger must show no lost write. Every
step is recorded (:mod:`alertdrill.steps`), every measured time is kept next to its deadline and
the theoretical minimum, and a failure is classified (never fired, fired at baseline, not delivered,
did not resolve, flapped, a silent alert fired) with the expectation's own diagnosis.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from alertdrill.assertions.alertmanager import AlertmanagerClient
from alertdrill.assertions.expectations import AlertExpectation, expect_alert
from alertdrill.assertions.notifications import SinkClient
from alertdrill.assertions.prometheus import PrometheusClient
from alertdrill.assertions.timeline import Timeline
from alertdrill.catalogue import AlertContract, Scenario
from alertdrill.diagnosis.failure import diagnose_failure
from alertdrill.errors import ExpectationError
from alertdrill.steps import StepRecorder

__all__ = ["AlertResult", "DrillResult", "Observers", "ProvableFault", "run_drill", "wait_quiet"]


class ProvableFault(Protocol):
    def __enter__(self) -> Any: ...
    def __exit__(self, *exc: object) -> Any: ...
    def prove(self) -> Any: ...


@dataclass(frozen=True)
class Observers:
    """Read access to the live monitoring pipeline."""

    prometheus: PrometheusClient
    alertmanager: AlertmanagerClient
    sink: SinkClient


@dataclass
class AlertResult:
    """What one alert did in one scenario, measured against its deadlines."""

    alert: str
    labels: dict[str, str]
    receiver: str | None
    theoretical_min: float | None = None
    fired_after: float | None = None
    fire_deadline: float | None = None
    delivered_after: float | None = None
    deliver_deadline: float | None = None
    delivered_to: str | None = None
    inhibited: bool | None = None
    resolved_after: float | None = None
    resolve_deadline: float | None = None
    deadline_explanations: dict[str, str] = field(default_factory=dict)
    notification_labels: dict[str, str] = field(default_factory=dict)
    status: str = "not run"
    diagnosis: str | None = None
    cause: str | None = None  # issue 14: the rule's root cause in one line (summary matrix, report)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class DrillResult:
    scenario: str
    component: str
    fault: str
    alerts: list[AlertResult]
    started: float
    ended: float | None = None
    evidence: Any = None
    injected_at: float | None = None
    reverted_at: float | None = None
    status: str = "running"
    diagnosis: str | None = None
    steps: list[dict] = field(default_factory=list)
    timeline: list[dict] = field(default_factory=list)
    silent_checked: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["alerts"] = [a.to_dict() for a in self.alerts]
        return data


def _evidence_data(evidence: Any) -> Any:
    if hasattr(evidence, "to_dict"):
        return evidence.to_dict()
    return evidence


def _classify(step: str, contract: AlertContract, exc: BaseException) -> str:
    reasons = {
        "baseline": "fired at baseline, or its rule cannot work (see the selectors)",
        "fire": "never fired",
        "deliver": f"fired but was not delivered to {contract.receiver!r} with the expected labels",
        "inhibit": f"was not inhibited by {contract.inhibited_by}",
        "resolve": "did not resolve",
        "flapping": "flapped",
    }
    if step == "silent":
        return str(exc)  # names the scenario and every alert that should have stayed silent
    return f"{contract.title} {reasons.get(step, step)}: {exc}"


def run_drill(
    scenario: Scenario,
    *,
    make_fault: Callable[[Scenario], AbstractContextManager],
    observers: Observers,
    steps: StepRecorder | None = None,
    after_revert: Callable[[DrillResult], None] | None = None,
    quiet_timeout: float = 30.0,
) -> DrillResult:
    """Run ``scenario``; return its result, raising ExpectationError (with the result attached) on failure."""
    steps = steps or StepRecorder()
    result = DrillResult(scenario=scenario.id, component=scenario.component, fault=scenario.fault,
                         alerts=[AlertResult(a.name, dict(a.labels), a.receiver) for a in scenario.alerts],
                         started=time.time())
    names = sorted(scenario.alert_names() | set(scenario.silent))
    timeline = Timeline(prometheus=observers.prometheus, alertmanager=observers.alertmanager,
                        sink=observers.sink, alerts=names)
    expectations: list[AlertExpectation] = []
    current = ("baseline", scenario.alerts[0])
    try:
        with steps.step("baseline: stack quiet, alert silent, every selector returns series"):
            wait_quiet(observers.prometheus, timeout=quiet_timeout)
            observers.sink.clear()
            for contract in scenario.alerts:
                current = ("baseline", contract)
                exp = expect_alert(contract.name, contract.labels, prometheus=observers.prometheus,
                                   alertmanager=observers.alertmanager, sink_client=observers.sink,
                                   timeline=timeline)
                exp.precondition()
                expectations.append(exp)
            for res, exp in zip(result.alerts, expectations, strict=True):
                exp.timings(None)  # read while every component is up (the fault may stop Alertmanager)
                facts = exp.timings(res.receiver)
                res.theoretical_min = round(facts.scrape.seconds + facts.evaluation.seconds + facts.for_.seconds
                                            + facts.group_wait.seconds, 3)
        timeline.start()
        fault = make_fault(scenario)
        with steps.step(f"inject: {scenario.fault}", params=scenario.params):
            result.injected_at = timeline.mark("injected", scenario.fault).time
            fault.__enter__()
        try:
            with steps.step("prove: the fault is in effect") as record:
                result.evidence = _evidence_data(fault.prove())
                record.detail["evidence"] = result.evidence
                timeline.mark("proven", scenario.fault)
            for res, contract, exp in zip(result.alerts, scenario.alerts, expectations, strict=True):
                if contract.inhibited_by:
                    continue
                current = ("fire", contract)
                with steps.step(f"fire: {contract.title}"):
                    outcome = exp.fires()
                    res.fired_after, res.fire_deadline = _measure(outcome, result.injected_at)
                    res.deadline_explanations["fire"] = outcome.deadline.explain() if outcome.deadline else ""
                if contract.receiver:
                    current = ("deliver", contract)
                    with steps.step(f"deliver: {contract.title} to {contract.receiver}"):
                        outcome = exp.delivered_to(contract.receiver, labels=contract.labels)
                        res.delivered_after, res.deliver_deadline = _measure(outcome, result.injected_at)
                        res.delivered_to = contract.receiver
                        res.deadline_explanations["deliver"] = outcome.deadline.explain() if outcome.deadline else ""
                        res.notification_labels = _notified_labels(outcome.evidence, contract.name)
                else:
                    res.diagnosis = contract.not_delivered_because
            for res, contract, exp in zip(result.alerts, scenario.alerts, expectations, strict=True):
                if contract.inhibited_by:
                    current = ("inhibit", contract)
                    with steps.step(f"inhibit: {contract.title} suppressed by {contract.inhibited_by}"):
                        outcome = exp.fires()
                        res.fired_after, res.fire_deadline = _measure(outcome, result.injected_at)
                        exp.is_inhibited(by=contract.inhibited_by)
                        res.inhibited = True
        finally:
            with steps.step(f"revert: {scenario.fault}"):
                reverting_at = timeline.mark("reverting", scenario.fault).time
                fault.__exit__(None, None, None)
                result.reverted_at = timeline.mark("reverted", scenario.fault).time
        current = ("silent", scenario.alerts[0])
        with steps.step("silent: no must-stay-silent alert fired during the fault") as record:
            result.silent_checked = list(scenario.silent)
            fired = _fired_between(observers.prometheus, scenario.silent, result.injected_at, result.reverted_at)
            record.detail["fired"] = fired
            if fired:
                raise ExpectationError(f"scenario {scenario.id}: must-stay-silent alerts fired during the fault: "
                                       + ", ".join(fired))
        for res, contract, exp in zip(result.alerts, scenario.alerts, expectations, strict=True):
            current = ("resolve", contract)
            with steps.step(f"resolve: {contract.title}"):
                if contract.receiver:
                    outcome = exp.resolves(receiver=contract.receiver, seen_from=reverting_at)
                else:
                    outcome = _resolved_in_prometheus(exp, observers.prometheus, result.reverted_at)
                res.resolved_after, res.resolve_deadline = _measure(outcome, result.reverted_at)
                res.deadline_explanations["resolve"] = outcome.deadline.explain() if outcome.deadline else ""
            current = ("flapping", contract)
            exp.no_flapping()
            res.status = "passed"
        if after_revert is not None:
            with steps.step("ledger: every acknowledged write is in Postgres"):
                after_revert(result)
        result.status = "passed"
        return result
    except BaseException as exc:
        step, contract = current
        result.status = "failed" if isinstance(exc, AssertionError) else "broken"
        result.diagnosis = _classify(step, contract, exc) if isinstance(exc, ExpectationError) else str(exc)
        cause = None
        # --- issue 14: the failed rule's root cause at the top of the failure (kind, evidence, fix) ---
        if isinstance(exc, ExpectationError):
            found = diagnose_failure(scenario, step, contract.name, observers.prometheus, str(exc))
            if found.causes:  # the cause first; a rule without one keeps today's first line
                cause = found.one_line()
                result.diagnosis = f"{found.text()}\n{result.diagnosis}"
                exc.args = (f"{found.text()}\n{exc}",)
            else:
                result.diagnosis = f"{result.diagnosis}\n  {found.text()}"
        # --- end issue 14 ---
        for res in result.alerts:
            if res.status == "not run" and res.alert == contract.name and res.labels == contract.labels:
                res.status, res.diagnosis, res.cause = result.status, result.diagnosis, cause
        exc.drill_result = result  # type: ignore[attr-defined]  # the caller records failed runs too
        raise
    finally:
        timeline.stop()
        result.ended = time.time()
        result.steps = steps.to_list()
        result.timeline = [dict(zip(("t", "source", "kind", "alert", "labels", "detail"), row, strict=False))
                           for row in timeline.as_rows(relative_to=result.injected_at)]


def _measure(outcome: Any, anchor: float | None) -> tuple[float | None, float | None]:
    deadline = round(outcome.deadline.seconds, 3) if outcome.deadline else None
    start = anchor if anchor is not None else outcome.anchor
    return round(outcome.at - start, 3), deadline


def _notified_labels(evidence: Any, name: str) -> dict[str, str]:
    for alert in getattr(evidence, "alerts", []) or []:
        if getattr(alert, "name", None) == name:
            return dict(alert.labels)
    return {}


@dataclass(frozen=True)
class _PrometheusOnly:
    anchor: float
    at: float
    deadline: Any


def _resolved_in_prometheus(exp: AlertExpectation, prometheus: PrometheusClient, anchor: float | None) -> Any:
    """For an alert that was never notified (inhibited, or its Alertmanager was down): inactive in time.

    No resolved notification can come for an alert that was never sent, so only Prometheus is judged.
    """
    from alertdrill.waiting import poll_until

    anchor = anchor or time.time()
    deadline = exp.deadline("resolve")

    def active() -> list:
        return [a for a in prometheus.alerts() if a.name == exp.name and a.state in ("pending", "firing")
                and all(a.labels.get(k) == v for k, v in exp.labels.items())]

    ok, still = poll_until(active, timeout=max(0.0, anchor + deadline.seconds - time.time()), interval=0.1,
                           accept=lambda alerts: not alerts)
    if not ok:
        raise ExpectationError(f"{exp.title} still {still[0].state if still else 'active'} "
                               f"{time.time() - anchor:.1f}s after the fault was reverted; deadline "
                               f"{deadline.explain()}")
    return _PrometheusOnly(anchor=anchor, at=time.time(), deadline=deadline)


def _fired_between(prometheus: PrometheusClient, names: tuple[str, ...], start: float | None,
                   end: float | None) -> list[str]:
    if not names or start is None or end is None:
        return []
    pattern = "|".join(names)
    series = prometheus.query_range(f'ALERTS{{alertstate="firing",alertname=~"{pattern}"}}', start, max(end, start + 1),
                                    1.0)
    return sorted({s.labels.get("alertname", "?") + _fmt(s.labels) for s in series})


def _fmt(labels: dict[str, str]) -> str:
    keep = {k: v for k, v in labels.items() if k not in ("alertname", "alertstate", "__name__")}
    return "{" + ",".join(f"{k}={v}" for k, v in sorted(keep.items())) + "}"


def wait_quiet(prometheus: PrometheusClient, *, timeout: float) -> None:
    """Wait until no alert is pending or firing: a scenario starts from a quiet stack."""
    from alertdrill.waiting import poll_until

    ok, active = poll_until(lambda: [a for a in prometheus.alerts() if a.state in ("pending", "firing")],
                            timeout=timeout, interval=0.2, accept=lambda alerts: not alerts)
    if not ok:
        listing = ", ".join(f"{a.name}({a.state})" for a in active or [])
        raise ExpectationError(f"the stack did not become quiet within {timeout:g}s; still active: {listing}")
