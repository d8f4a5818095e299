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
from alertdrill.assertions.deadlines import Deadline, Slack, gather_timings
from alertdrill.assertions.expectations import AlertExpectation, expect_alert
from alertdrill.assertions.notifications import SinkClient
from alertdrill.assertions.prometheus import PrometheusClient
from alertdrill.assertions.thresholds import thresholds
from alertdrill.assertions.timeline import Timeline, format_labels
from alertdrill.catalogue import AlertContract, Scenario
from alertdrill.chaos import MAX_MAX_DURATION, fault_class
from alertdrill.diagnosis.failure import diagnose_failure
from alertdrill.errors import ConfigError, ExpectationError
from alertdrill.results import AlertResult, DrillResult, FaultHold, TimelineRow
from alertdrill.steps import StepRecorder
from alertdrill.waiting import poll_until

__all__ = ["LIFETIME_MARGIN", "LIFETIME_SLACK", "Observers", "drill_time_bound", "fault_lifetime_for", "quiet_timeout",
           "run_drill", "wait_quiet"]

#: A fault lives at most this many times what the scenario needs it for (see ``_Drill.fault_lifetime``),
#: plus LIFETIME_SLACK seconds: long enough for a slow machine, short enough to bound a hang.
LIFETIME_MARGIN = 2.0
LIFETIME_SLACK = 10.0


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
        #: Each must-stay-silent alert's deadline to become pending, had the fault triggered it.
        self.silent_pending: dict[str, Deadline] = {}

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
        with self.phase("baseline", "quiet: no alert pending or firing (the previous drill's have resolved)"):
            wait_quiet(self.observers.prometheus, timeout=quiet_timeout)
        with self.phase("baseline", "baseline: stack quiet, alert silent, every selector returns series"):
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
                bounds = facts.bounds()
                res.best_case, res.worst_case = ((bounds.best_deliver, bounds.worst_deliver) if res.receiver
                                                 else (bounds.best_fire, bounds.worst_fire))
            self.silent_pending = self._silent_deadlines()

    def _silent_deadlines(self) -> dict[str, Deadline]:
        """How long each must-stay-silent alert needs to become pending: scrape + evaluation + the range
        window to fill (+ lookback for absence), per its rule as loaded; the fault is held that long."""
        rules = self.observers.prometheus.rules()
        out: dict[str, Deadline] = {}
        for name in self.scenario.silent:
            named = [r for r in rules if r.name == name]
            if not named:
                raise ConfigError(f"scenario {self.scenario.id}: must-stay-silent alert {name} is not in the rules "
                                  "under test; fix the catalogue's `silent` list")
            for rule in named:
                facts = gather_timings(rule, self.observers.prometheus, self.observers.alertmanager, {})
                deadline = facts.pending(Slack())
                if name not in out or deadline.seconds > out[name].seconds:
                    out[name] = deadline
        return out

    def fault_lifetime(self) -> float:
        """How long the fault may live: LIFETIME_MARGIN x (the longest deliver, inhibit or resolve deadline,
        or the silent hold) + LIFETIME_SLACK; refused when above the faults' own ceiling."""
        needed = max([self.hold_seconds(), *(exp.deadline("inhibit" if c.inhibited_by else "deliver", r.receiver
                                                           if not c.inhibited_by else None).seconds
                                             for r, c, exp in self.contracts()),
                      *(exp.deadline("resolve", r.receiver).seconds for r, _, exp in self.contracts())])
        lifetime = fault_lifetime_for(needed)
        if lifetime > MAX_MAX_DURATION:
            raise ConfigError(f"scenario {self.scenario.id} needs its fault for {needed:.0f} s (lifetime "
                              f"{lifetime:.0f} s), above the {MAX_MAX_DURATION:.0f} s a fault may last; use a larger "
                              "--time-scale or shorter rule durations")
        return lifetime

    def hold_seconds(self) -> float:
        """Seconds after injection until every must-stay-silent alert could have become pending."""
        return max([d.seconds for d in self.silent_pending.values()] or [0.0])

    def magnitude_needs(self, kind: str) -> list[Any]:
        """The thresholds of the rules under test that the fault of ``kind`` must reach."""
        metric = fault_class(kind).magnitude_metric
        if not metric:
            return []
        seen, needs = set(), []
        for _, _, exp in self.contracts():
            for need in thresholds(exp.rule.query, metric):
                if (need.op, need.value, need.depth) not in seen:
                    seen.add((need.op, need.value, need.depth))
                    needs.append(need)
        return needs

    @contextmanager
    def fault_window(self, fault: Any) -> Iterator[None]:
        """Inject ``fault``; revert it when the block ends, keeping the block's failure as the failure."""
        kind = self.scenario.fault.kind
        with self.steps.step(f"inject: {kind}", params=self.scenario.fault.params):
            fault.inject()  # a failed inject has reverted itself
            # Deadlines count from when the fault took effect: a stop from its first signal, a fault
            # that builds up (memory filled, 120 connections opened) from when inject returned.
            self.result.injected_at = self.timeline.mark("injected", kind, at=fault.effective_at).time
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
        """Direct evidence the fault is in effect and reaches the rule's thresholds, within the longest
        fire deadline (a query must age, a rate must build up): a fault too weak fails here, not as
        "did not fire"."""
        limit = max(exp.deadline("fire").seconds for _, _, exp in self.contracts())
        remaining = max(0.5, (self.result.injected_at or time.time()) + limit - time.time())
        with self.steps.step("prove: the fault is in effect and strong enough", needs=[str(n) for n in fault.needs]
                             ) as record:
            self.result.evidence = fault.wait_until_proven(timeout=remaining).to_dict()
            record.detail["evidence"] = self.result.evidence
            self.timeline.mark("proven", self.scenario.fault.kind)

    def hold(self) -> None:
        """Keep the fault in effect until every must-stay-silent alert could have become pending, and
        fail at once if one does; the report says how long the fault was held and why."""
        assert self.result.injected_at is not None
        until = self.result.injected_at + self.hold_seconds()
        longest = max(self.silent_pending.items(), key=lambda kv: kv[1].seconds, default=None)
        reason = (f"until {longest[0]} could have become pending: {longest[1].explain()}" if longest
                  else "no must-stay-silent alert to wait for")
        with self.phase("silent", f"hold: the fault stays in effect {self.hold_seconds():.1f} s", **{"why": reason}):
            names = set(self.scenario.silent)

            def active() -> list[Any]:
                return [a for a in self.observers.prometheus.alerts() if a.name in names
                        and a.state in ("pending", "firing")]

            ok, seen = poll_until(active, timeout=max(0.0, until - time.time()), interval=0.2,
                                  accept=lambda alerts: bool(alerts))
            if ok:
                raise ExpectationError(f"scenario {self.scenario.id}: must-stay-silent alerts went active during "
                                       "the fault: " + ", ".join(f"{a.name}{format_labels(a.labels)} {a.state}"
                                                                 for a in seen))
        held = time.time() - self.result.injected_at
        self.result.fault_hold = FaultHold(held_seconds=round(held, 3), required_seconds=round(self.hold_seconds(), 3),
                                           reason=reason)

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
        """No must-stay-silent alert was pending or firing at any moment of the fault window, as
        Prometheus' own ALERTS series (every evaluation) and the timeline recorded it."""
        with self.phase("silent", "silent: no must-stay-silent alert was pending or firing during the fault"
                        ) as record:
            self.result.silent_checked = list(self.scenario.silent)
            active = _active_between(self.observers.prometheus, self.scenario.silent, self.result.injected_at,
                                     self.result.reverted_at)
            start, end = self.result.injected_at or 0.0, self.result.reverted_at or time.time()
            active += sorted({f"{e.alert}{format_labels(e.labels)} {e.kind}" for e in self.timeline.events()
                              if e.source == "prometheus" and e.kind in ("pending", "firing")
                              and e.alert in self.scenario.silent and start <= e.time <= end} - set(active))
            record.detail["active"] = active
            if active:
                raise ExpectationError(f"scenario {self.scenario.id}: must-stay-silent alerts went active during the "
                                       "fault: " + ", ".join(active))

    def inhibited_never_delivered(self) -> None:
        """An inhibited alert's firing notification never reached the sink while the fault was in."""
        start, end = self.result.injected_at or 0.0, self.result.reverted_at or time.time()
        for _, contract, _ in self.contracts():
            if not contract.inhibited_by:
                continue
            with self.phase("inhibit", f"inhibit: no notification of {contract.title} during the fault", contract):
                leaked = [n for n in self.observers.sink.notifications()
                          if start <= n.received_at <= end and n.alerts_named(contract.name, contract.labels, "firing")]
                if leaked:
                    raise ExpectationError(
                        f"{contract.title} is inhibited in Alertmanager, yet its firing notification reached the sink "
                        f"{leaked[0].received_at - start:.2f} s after injection (receiver {leaked[0].receiver}): the "
                        f"inhibit rule does not hold it back from delivery")

    def resolve(self) -> None:
        """Every alert resolves; then each stays resolved for one more fire deadline from its own
        resolution (the windows of a scenario's alerts overlap: they are watched together)."""
        resolved_at: list[float] = []
        for res, contract, exp in self.contracts():
            with self.phase("resolve", f"resolve: {contract.title}", contract):
                if contract.receiver:
                    outcome = exp.resolves(receiver=contract.receiver, seen_from=self.reverting_at)
                else:
                    outcome = exp.inactive(since=self.result.reverted_at)
                res.resolved_after, res.resolve_deadline = self.measure(outcome, res, "resolve",
                                                                        anchor=self.result.reverted_at)
                resolved_at.append(outcome.at)
            with self.phase("flapping", f"no flapping: {contract.title}", contract):
                exp.no_flapping()
        for (res, contract, exp), since in zip(self.contracts(), resolved_at, strict=True):
            quiet = exp.deadline("fire")
            with self.phase("flapping", f"stays resolved: {contract.title} for {quiet.seconds:.1f} s", contract):
                exp.stays_silent(during=quiet.seconds, since=since,
                                 why="a second firing episode after it resolved (it fired twice)")
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
        cause = None
        # --- issue 14: the failed rule's root cause at the top of the failure (kind, evidence, fix) ---
        if isinstance(exc, ExpectationError):
            alert = (contract or self.scenario.alerts[0]).name
            found = diagnose_failure(self.scenario, phase or "", alert, self.observers.prometheus, str(exc))
            if found.causes:  # the cause first; a rule without one keeps today's first line
                cause = found.one_line()
                result.diagnosis = f"{found.text()}\n{result.diagnosis}"
                exc.args = (f"{found.text()}\n{exc}",)
            else:
                result.diagnosis += f"\n  {found.text()}"
        # --- end issue 14 ---
        for res in result.alerts:
            broken = contract is None or (res.alert == contract.name and res.labels == contract.labels)
            if res.status == "not run" and broken:
                res.status, res.diagnosis, res.cause = result.status, result.diagnosis, cause

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
    quiet_timeout: float,
    steps: StepRecorder | None = None,
    after_revert: Callable[[DrillResult], None] | None = None,
) -> DrillResult:
    """Run ``scenario``; return its result, or raise with the result attached as ``exc.drill_result``.

    ``quiet_timeout`` bounds the wait for the previous scenario's alerts to resolve (the longest
    resolve deadline of the rules under test). The fault's lifetime follows from this scenario's
    deadlines (:meth:`_Drill.fault_lifetime`).
    """
    drill = _Drill(scenario, observers, steps or StepRecorder())
    try:
        drill.baseline(quiet_timeout)
        drill.timeline.start()
        fault = scenario.fault.build(backend, max_duration=drill.fault_lifetime())
        fault.require(drill.magnitude_needs(scenario.fault.kind))
        with drill.fault_window(fault):
            drill.prove(fault)
            drill.fire_and_deliver()
            drill.inhibited()
            drill.hold()
        drill.silent()
        drill.inhibited_never_delivered()
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


def _active_between(prometheus: PrometheusClient, names: tuple[str, ...], start: float | None,
                    end: float | None) -> list[str]:
    """``Name{labels} state`` for every must-stay-silent alert ALERTS shows pending or firing in the
    window (a step of one second: no evaluation of a 1 s group is skipped)."""
    if not names or start is None or end is None:
        return []
    pattern = "|".join(names)
    series = prometheus.query_range(f'ALERTS{{alertname=~"{pattern}"}}', start, max(end, start + 1), 1.0)
    return sorted({s.labels.get("alertname", "?") + _fmt(s.labels) + " " + s.labels.get("alertstate", "?")
                   for s in series})


def _fmt(labels: dict[str, str]) -> str:
    keep = {k: v for k, v in labels.items() if k not in ("alertname", "alertstate", "__name__")}
    return format_labels(keep)


def fault_lifetime_for(needed: float) -> float:
    """A fault's lifetime for a scenario whose longest deliver, inhibit or resolve deadline (or silent hold)
    is ``needed`` seconds: LIFETIME_MARGIN x needed + LIFETIME_SLACK."""
    return LIFETIME_MARGIN * needed + LIFETIME_SLACK


def quiet_timeout(observers: Observers) -> float:
    """How long a drill may wait for the stack to be quiet: LIFETIME_MARGIN x the longest resolve
    deadline of any rule under test (the previous scenario's alerts resolving) + LIFETIME_SLACK."""
    longest = max((gather_timings(rule, observers.prometheus, observers.alertmanager, {}).resolve(Slack()).seconds
                   for rule in observers.prometheus.rules()), default=0.0)
    return LIFETIME_MARGIN * longest + LIFETIME_SLACK


def drill_time_bound(observers: Observers) -> float:
    """The longest one drill of any rule under test may take: the wait for quiet, the fault's lifetime
    (LIFETIME_MARGIN x its deliver + resolve deadlines + LIFETIME_SLACK), then resolve and stay resolved
    for one more fire deadline; sizes the session's load (alertdrill.plugin.load)."""
    longest = 0.0
    for rule in observers.prometheus.rules():
        facts = gather_timings(rule, observers.prometheus, observers.alertmanager, {})
        slack = Slack()
        deliver, resolve, fire = facts.deliver(slack).seconds, facts.resolve(slack).seconds, facts.fire(slack).seconds
        longest = max(longest, fault_lifetime_for(deliver + resolve) + resolve + fire)
    return quiet_timeout(observers) + longest


def wait_quiet(prometheus: PrometheusClient, *, timeout: float) -> None:
    """Wait until no alert is pending or firing: a scenario starts from a quiet stack."""
    ok, active = poll_until(lambda: [a for a in prometheus.alerts() if a.state in ("pending", "firing")],
                            timeout=timeout, interval=0.2, accept=lambda alerts: not alerts)
    if not ok:
        listing = ", ".join(f"{a.name}({a.state})" for a in active or [])
        raise ExpectationError(f"the stack did not become quiet within {timeout:g}s; still active: {listing}")
