"""One scenario run end to end: baseline, inject, prove, fire, deliver, revert, resolve, ledger.

The drill is the alert contract made executable, and it reads in that order. It knows nothing about
pytest: scenarios call :func:`run_drill` with the scenario from the catalogue, the backend its fault
acts on, the observers of the live stack and, optionally, a check to run after the revert (the write
ledger). Every step is recorded (:mod:`alertdrill.steps`); every measured time is kept next to its
deadline; a failure names the phase and the contract it broke, with the expectation's own diagnosis.
A revert that fails while a check is failing is added to that failure as a note, never replacing it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from alertdrill.assertions.alertmanager import AlertmanagerClient
from alertdrill.assertions.expectations import AlertExpectation, Outcome, expect_alert
from alertdrill.assertions.notifications import SinkClient
from alertdrill.assertions.prometheus import PrometheusClient
from alertdrill.assertions.timeline import Timeline
from alertdrill.catalogue import AlertContract, Scenario
from alertdrill.errors import ExpectationError
from alertdrill.results import AlertResult, DrillResult, TimelineRow
from alertdrill.steps import StepRecorder
from alertdrill.waiting import poll_until

__all__ = ["Observers", "run_drill", "wait_quiet"]


@dataclass(frozen=True)
class Observers:
    """Read access to the live monitoring pipeline."""

    prometheus: PrometheusClient
    alertmanager: AlertmanagerClient
    sink: SinkClient


#: What a failure in each phase means, in the words of the contract.
_BROKEN_PROMISE = {
    "baseline": "fired at baseline, or its rule cannot work (see the selectors)",
    "fire": "never fired",
    "deliver": "fired but was not delivered to {receiver!r} with the expected labels",
    "inhibit": "was not inhibited by {inhibited_by}",
    "resolve": "did not resolve",
    "flapping": "flapped",
}


class _Drill:
    """The state one run of :func:`run_drill` carries between its phases."""

    def __init__(self, scenario: Scenario, observers: Observers, steps: StepRecorder) -> None:
        self.scenario, self.observers, self.steps = scenario, observers, steps
        self.result = DrillResult(scenario=scenario.id, component=scenario.component, fault=scenario.fault.kind,
                                  params=dict(scenario.fault.params), started=time.time(),
                                  alerts=[AlertResult(a.name, dict(a.labels), a.receiver) for a in scenario.alerts])
        names = sorted(scenario.alert_names() | set(scenario.silent))
        self.timeline = Timeline(prometheus=observers.prometheus, alertmanager=observers.alertmanager,
                                 sink=observers.sink, alerts=names)
        self.expectations: list[AlertExpectation] = []
        self.reverting_at: float | None = None

    def contracts(self) -> Iterator[tuple[AlertResult, AlertContract, AlertExpectation]]:
        yield from zip(self.result.alerts, self.scenario.alerts, self.expectations, strict=True)

    @contextmanager
    def phase(self, phase: str, title: str, contract: AlertContract | None = None, **detail: Any) -> Iterator[Any]:
        """A recorded step; an ExpectationError leaving it is marked with the phase and contract it broke."""
        with self.steps.step(title, **detail) as record:
            try:
                yield record
            except ExpectationError as exc:
                if not hasattr(exc, "drill_phase"):
                    exc.drill_phase = (phase, contract)  # type: ignore[attr-defined]
                raise

    # -- the phases, in the order they run ---------------------------------------------------------

    def baseline(self, quiet_timeout: float) -> None:
        with self.phase("baseline", "baseline: stack quiet, alert silent, every selector returns series"):
            wait_quiet(self.observers.prometheus, timeout=quiet_timeout)
            self.observers.sink.clear()
            for contract in self.scenario.alerts:
                with self.phase("baseline", f"baseline: {contract.title}", contract):
                    exp = expect_alert(contract.name, contract.labels, prometheus=self.observers.prometheus,
                                       alertmanager=self.observers.alertmanager, sink_client=self.observers.sink,
                                       timeline=self.timeline)
                    exp.precondition()
                    self.expectations.append(exp)
            for res, _, exp in self.contracts():
                exp.timings(None)  # read while every component is up (the fault may stop Alertmanager)
                facts = exp.timings(res.receiver)
                res.theoretical_min = round(facts.scrape.seconds + facts.evaluation.seconds + facts.for_.seconds
                                            + facts.group_wait.seconds, 3)

    @contextmanager
    def fault_window(self, fault: Any) -> Iterator[None]:
        """Inject ``fault``; revert it when the block ends, keeping the block's failure as the failure."""
        kind = self.scenario.fault.kind
        with self.steps.step(f"inject: {kind}", params=self.scenario.fault.params):
            self.result.injected_at = self.timeline.mark("injected", kind).time
            fault.inject()  # a failed inject has reverted itself
        try:
            yield
        except BaseException as exc:
            try:
                self.revert(fault)
            except Exception as revert_error:
                exc.add_note(f"while unwinding, the revert failed too: {revert_error}")
            raise
        self.revert(fault)

    def revert(self, fault: Any) -> None:
        kind = self.scenario.fault.kind
        with self.steps.step(f"revert: {kind}"):
            self.reverting_at = self.timeline.mark("reverting", kind).time
            fault.revert()
            self.result.reverted_at = self.timeline.mark("reverted", kind).time

    def prove(self, fault: Any) -> None:
        with self.steps.step("prove: the fault is in effect") as record:
            self.result.evidence = fault.prove().to_dict()
            record.detail["evidence"] = self.result.evidence
            self.timeline.mark("proven", self.scenario.fault.kind)

    def fire_and_deliver(self) -> None:
        for res, contract, exp in self.contracts():
            if contract.inhibited_by:
                continue
            with self.phase("fire", f"fire: {contract.title}", contract):
                outcome = exp.fires()
                res.fired_after, res.fire_deadline = self.measure(outcome, res, "fire")
            if not contract.receiver:
                res.diagnosis = contract.not_delivered_because
                continue
            with self.phase("deliver", f"deliver: {contract.title} to {contract.receiver}", contract):
                outcome = exp.delivered_to(contract.receiver, labels=contract.labels)
                res.delivered_after, res.deliver_deadline = self.measure(outcome, res, "deliver")
                res.delivered_to = contract.receiver
                res.notification_labels = _notified_labels(outcome.evidence, contract.name)

    def inhibited(self) -> None:
        for res, contract, exp in self.contracts():
            if not contract.inhibited_by:
                continue
            with self.phase("inhibit", f"inhibit: {contract.title} suppressed by {contract.inhibited_by}", contract):
                outcome = exp.fires()
                res.fired_after, res.fire_deadline = self.measure(outcome, res, "fire")
                exp.is_inhibited(by=contract.inhibited_by)
                res.inhibited = True

    def silent(self) -> None:
        with self.phase("silent", "silent: no must-stay-silent alert fired during the fault") as record:
            self.result.silent_checked = list(self.scenario.silent)
            fired = _fired_between(self.observers.prometheus, self.scenario.silent, self.result.injected_at,
                                   self.result.reverted_at)
            record.detail["fired"] = fired
            if fired:
                raise ExpectationError(f"scenario {self.scenario.id}: must-stay-silent alerts fired during the "
                                       "fault: " + ", ".join(fired))

    def resolve(self) -> None:
        for res, contract, exp in self.contracts():
            with self.phase("resolve", f"resolve: {contract.title}", contract):
                if contract.receiver:
                    outcome = exp.resolves(receiver=contract.receiver, seen_from=self.reverting_at)
                else:
                    outcome = _resolved_in_prometheus(exp, self.observers.prometheus, self.result.reverted_at)
                res.resolved_after, res.resolve_deadline = self.measure(outcome, res, "resolve",
                                                                        anchor=self.result.reverted_at)
            with self.phase("flapping", f"no flapping: {contract.title}", contract):
                exp.no_flapping()
            res.status = "passed"

    # -- bookkeeping -------------------------------------------------------------------------------

    def measure(self, outcome: Any, res: AlertResult, what: str, *, anchor: float | None = None
                ) -> tuple[float, float | None]:
        """(seconds from the anchor to the evidence, the deadline); the deadline's arithmetic is kept."""
        deadline = outcome.deadline
        res.deadline_explanations[what] = deadline.explain() if deadline else ""
        start = anchor if anchor is not None else (self.result.injected_at or outcome.anchor)
        return round(outcome.at - start, 3), (round(deadline.seconds, 3) if deadline else None)

    def fail(self, exc: BaseException) -> None:
        """Classify the failure on the result and on the contract it broke."""
        result = self.result
        result.status = "failed" if isinstance(exc, AssertionError) else "broken"
        phase, contract = getattr(exc, "drill_phase", (None, None))
        if not isinstance(exc, ExpectationError) or phase in (None, "silent"):
            result.diagnosis = str(exc)  # the silent check names the scenario and every alert itself
        else:
            contract = contract or self.scenario.alerts[0]
            promise = _BROKEN_PROMISE.get(phase, phase).format(receiver=contract.receiver,
                                                               inhibited_by=contract.inhibited_by)
            result.diagnosis = f"{contract.title} {promise}: {exc}"
        notes = getattr(exc, "__notes__", None)
        if notes:
            result.diagnosis += "\n" + "\n".join(notes)
        for res in result.alerts:
            broken = contract is None or (res.alert == contract.name and res.labels == contract.labels)
            if res.status == "not run" and broken:
                res.status, res.diagnosis = result.status, result.diagnosis

    def finish(self) -> None:
        self.timeline.stop()
        self.result.ended = time.time()
        self.result.steps = list(self.steps.records)
        self.result.timeline = [TimelineRow(*row) for row in self.timeline.as_rows(relative_to=self.result.injected_at)]


def run_drill(
    scenario: Scenario,
    *,
    backend: Any,
    observers: Observers,
    fault_lifetime: float,
    steps: StepRecorder | None = None,
    after_revert: Callable[[DrillResult], None] | None = None,
    quiet_timeout: float = 30.0,
) -> DrillResult:
    """Run ``scenario``; return its result, or raise with the result attached as ``exc.drill_result``.

    ``fault_lifetime`` bounds how long the fault may stay in effect (its watchdog reverts it then).
    """
    drill = _Drill(scenario, observers, steps or StepRecorder())
    try:
        drill.baseline(quiet_timeout)
        drill.timeline.start()
        fault = scenario.fault.build(backend, max_duration=fault_lifetime)
        with drill.fault_window(fault):
            drill.prove(fault)
            drill.fire_and_deliver()
            drill.inhibited()
        drill.silent()
        drill.resolve()
        if after_revert is not None:
            with drill.steps.step("ledger: every acknowledged write is in Postgres"):
                after_revert(drill.result)
        drill.result.status = "passed"
        return drill.result
    except BaseException as exc:
        drill.fail(exc)
        exc.drill_result = drill.result  # type: ignore[attr-defined]  # the caller records failed runs too
        raise
    finally:
        drill.finish()


def _notified_labels(evidence: Any, name: str) -> dict[str, str]:
    for alert in getattr(evidence, "alerts", []) or []:
        if getattr(alert, "name", None) == name:
            return dict(alert.labels)
    return {}


def _resolved_in_prometheus(exp: AlertExpectation, prometheus: PrometheusClient, anchor: float | None) -> Outcome:
    """For an alert that was never notified (inhibited, or its Alertmanager was down): inactive in time.

    No resolved notification can come for an alert that was never sent, so only Prometheus is judged.
    """
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
    return Outcome(check="resolved (Prometheus)", alert=exp.name, labels=exp.labels, anchor=anchor, at=time.time(),
                   deadline=deadline)


def _fired_between(prometheus: PrometheusClient, names: tuple[str, ...], start: float | None,
                   end: float | None) -> list[str]:
    if not names or start is None or end is None:
        return []
    pattern = "|".join(names)
    series = prometheus.query_range(f'ALERTS{{alertstate="firing",alertname=~"{pattern}"}}', start,
                                    max(end, start + 1), 1.0)
    return sorted({s.labels.get("alertname", "?") + _fmt(s.labels) for s in series})


def _fmt(labels: dict[str, str]) -> str:
    keep = {k: v for k, v in labels.items() if k not in ("alertname", "alertstate", "__name__")}
    return "{" + ",".join(f"{k}={v}" for k, v in sorted(keep.items())) + "}"


def wait_quiet(prometheus: PrometheusClient, *, timeout: float) -> None:
    """Wait until no alert is pending or firing: a scenario starts from a quiet stack."""
    ok, active = poll_until(lambda: [a for a in prometheus.alerts() if a.state in ("pending", "firing")],
                            timeout=timeout, interval=0.2, accept=lambda alerts: not alerts)
    if not ok:
        listing = ", ".join(f"{a.name}({a.state})" for a in active or [])
        raise ExpectationError(f"the stack did not become quiet within {timeout:g}s; still active: {listing}")
