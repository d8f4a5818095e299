"""The diagnosis of a rule: every root cause found, with evidence and fix, as one typed result.

Two entry points share one set of checks. :func:`diagnose_rules` is what ``alertdrill lint`` runs
over rule files (static checks always, live ones when a Prometheus is given). :func:`diagnose_rule`
is what a failed drill calls: it takes the rule as the stack's Prometheus loaded it, so the
diagnosis is about the rule that really ran, with the scenario's contract and fault as context.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alertdrill.diagnosis.live import check_baseline, check_timestamp_zeros
from alertdrill.diagnosis.metrics import MetricTypes
from alertdrill.diagnosis.static import (
    COFIRING_CAUSES,
    check_cofiring,
    check_counter_types,
    check_labels_lost,
    check_static_matching,
    check_thresholds,
    check_timestamp_ages,
)
from alertdrill.errors import AlertdrillError, ConfigError
from alertdrill.lint.findings import Finding, by_severity, listing, shorten
from alertdrill.lint.live import LiveSeries, check_joins, check_selectors
from alertdrill.lint.promql import parse_promql
from alertdrill.lint.routing import load_alertmanager_config
from alertdrill.lint.rules import Rule, read_rules
from alertdrill.stack import layout

__all__ = ["Diagnosis", "NeededLabels", "diagnose_rule", "diagnose_rules", "needed_labels"]


@dataclass(frozen=True)
class NeededLabels:
    """Labels an alert must carry, and who needs them (for the finding's wording)."""

    names: frozenset[str]
    why: str
    group_by: tuple[str, ...] = ()


def needed_labels(config: Mapping[str, Any] | None = None) -> NeededLabels:
    """What Alertmanager groups and inhibits by (``group_by``, ``inhibit_rules[].equal``)."""
    if config is None:
        config = load_alertmanager_config(layout.ALERTMANAGER_CONFIG)
    route = config.get("route") or {}
    group_by = tuple(str(x) for x in route.get("group_by") or [] if x not in ("alertname", "..."))
    equal = {str(x) for r in config.get("inhibit_rules") or [] for x in r.get("equal") or []}
    names = frozenset(group_by) | (equal - {"alertname"})
    return NeededLabels(names, "Alertmanager's group_by and inhibit_rules", group_by)


@dataclass(frozen=True)
class Diagnosis:
    """The root causes found for one alert; ``origin`` is the Prometheus the live checks asked."""

    rule: str
    findings: tuple[Finding, ...] = ()
    origin: str = ""
    skipped: str = ""
    context: dict[str, str] = field(default_factory=dict)

    @property
    def causes(self) -> list[Finding]:
        """The broken and suspicious findings, broken first."""
        return by_severity(f for f in self.findings if f.severity in ("broken", "suspicious"))

    def one_line(self) -> str:
        """``kind: evidence`` of the first cause: the cell of the summary matrix and report."""
        causes = self.causes
        if not causes:
            return "no root cause found in the rule" + (f" ({self.skipped})" if self.skipped else "")
        first = causes[0]
        more = f" (+{len(causes) - 1} more)" if len(causes) > 1 else ""
        return f"{first.kind or first.check}: {shorten(first.problem, 160)}{more}"

    def text(self) -> str:
        """The block a failed drill starts with: per cause its kind, evidence and fix."""
        # host:port without the scheme: the text ends up in the self-contained HTML report
        where = f"live checks against Prometheus {self.origin.split('://', 1)[-1]}" if self.origin \
            else "static checks only"
        lines = [f"diagnosis of {self.rule} ({where}):"]
        for f in self.causes:
            lines.append(f"  {f.severity} {f.kind or f.check}: {f.problem}")
            lines.append(f"    fix: {f.fix}")
        if not self.causes:
            lines.append("  " + self.one_line())
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "origin": self.origin, "skipped": self.skipped, "one_line": self.one_line(),
                "findings": [f.to_dict() for f in self.causes]}


def _dedupe(static: list[Finding], live: list[Finding]) -> list[Finding]:
    """Static and live checks may see one cause twice: labels lost are told best statically (the static
    finding names the aggregation), everything else live (the live finding shows values)."""
    static_kinds = {f.kind for f in static}
    live = [f for f in live if not (f.kind == "labels-lost-by-aggregation" and f.kind in static_kinds)]
    live_kinds = {f.kind for f in live} - {"labels-lost-by-aggregation"}
    return [f for f in static if f.kind not in live_kinds] + live


def _diagnose_one(rule: Rule, *, types: MetricTypes, live: LiveSeries | None, others: Sequence[Rule],
                  needed: NeededLabels, baseline: bool) -> list[Finding]:
    try:
        tree = parse_promql(rule.expr)
    except ConfigError as exc:
        return [rule.finding("warning", "parse", f"cannot follow the expression ({exc})",
                             "report the expression to alertdrill's maintainers", severity="suspicious")]
    static = [*check_static_matching(rule, tree), *check_counter_types(rule, tree, types),
              *check_thresholds(rule, tree, types), *check_labels_lost(rule, tree, needed.names, needed.why),
              *check_cofiring(rule, tree, others)]
    if live is None:
        return _dedupe(static + check_timestamp_ages(rule, tree), [])
    found = [*check_selectors(rule, live), *check_joins(rule, live, needed.group_by),
             *check_timestamp_zeros(rule, tree, live)]
    if baseline and not any(f.kind in ("dead-selector", "timestamp-age-never") for f in found):
        found += check_baseline(rule, live)
    return _dedupe(static, found)


def diagnose_rules(rules: Sequence[Rule], *, prometheus: Any = None, others: Sequence[Rule] | None = None,
                   needed: NeededLabels | None = None, baseline: bool = True) -> list[Finding]:
    """Every root-cause finding for ``rules``: static always, live when ``prometheus`` is a client.

    ``others`` are the rules an alert may co-fire with (default: ``rules`` plus the shipped ones).
    ``baseline`` also reports expressions that are true now (lint runs against an idle stack).
    """
    types = MetricTypes.from_prometheus(prometheus) if prometheus is not None else MetricTypes()
    live = LiveSeries(prometheus) if prometheus is not None else None
    if others is None:
        others = [*rules, *(r for p in layout.shipped_rule_files() for r in read_rules(p))]
    needed = needed or needed_labels()
    out: list[Finding] = []
    for rule in rules:
        out += _diagnose_one(rule, types=types, live=live, others=others, needed=needed, baseline=baseline)
    return out


def _as_rule(loaded: Any) -> Rule:
    """A rule as Prometheus loaded it (``/api/v1/rules``) in lint's form."""
    return Rule(name=loaded.name, expr=loaded.query, labels=dict(loaded.labels),
                annotations=dict(loaded.annotations), file=Path(loaded.file or "prometheus"), group=loaded.group)


def _fault_kind(scenario: Any) -> str:
    """The catalogue's fault kind (a FaultSpec's ``kind``, or the kind itself in older catalogues)."""
    return str(getattr(scenario.fault, "kind", scenario.fault))


def _silent_cofiring(rule: Rule, scenario: Any, known: Iterable[Finding]) -> list[Finding]:
    """The rule fired during a fault meant for other alerts: one cause, two alerts."""
    if any(f.kind == "co-firing" for f in known):
        return []
    expected = sorted(scenario.alert_names())
    signals = [c.signal for c in COFIRING_CAUSES if c.signal.split("_")[0] in scenario.component]
    guard = f"`and on (instance) {signals[0]} == 1`" if signals else "a guard on the cause's own signal"
    return [rule.finding(
        "error", "cofiring", f"{rule.name} fired during the fault {_fault_kind(scenario)!r} of scenario {scenario.id}, "
        f"whose one cause {listing(expected)} already reports", f"separate them with {guard}, or inhibit "
        f"{rule.name} while {listing(expected)} fires", kind="co-firing")]


def diagnose_rule(rule_name: str, prometheus: Any, *, scenario: Any = None, step: str | None = None,
                  alertmanager_config: Path | None = None) -> Diagnosis:
    """Why ``rule_name`` failed its drill, from the rule the stack's ``prometheus`` loaded.

    ``scenario`` (a catalogue Scenario) adds its contract (labels, instance) and fault; ``step`` is the
    drill step that failed: only a failure at baseline reports "true right now" as a cause, since after
    a fault the stack is not idle. Never raises for an unreachable Prometheus: the diagnosis says so.
    """
    origin = getattr(prometheus, "url", "")
    try:
        loaded = [_as_rule(r) for r in prometheus.rules()]
    except AlertdrillError as exc:
        return Diagnosis(rule_name, origin=origin, skipped=f"Prometheus unavailable: {shorten(str(exc), 120)}")
    mine = [r for r in loaded if r.name == rule_name]
    if not mine:
        return Diagnosis(rule_name, origin=origin, skipped=f"Prometheus at {origin} has no rule {rule_name}")
    needed = needed_labels(load_alertmanager_config(alertmanager_config or layout.ALERTMANAGER_CONFIG))
    context: dict[str, str] = {}
    if scenario is not None:
        contract = {k for a in scenario.alerts if a.name == rule_name for k in a.labels}
        if getattr(scenario, "instance", None):
            contract.add("instance")
        needed = NeededLabels(needed.names | contract, needed.why + " and the scenario's contract", needed.group_by)
        context = {"scenario": scenario.id, "fault": _fault_kind(scenario)}
    try:
        findings = diagnose_rules(mine, prometheus=prometheus, others=loaded, needed=needed,
                                  baseline=step in (None, "baseline"))
    except AlertdrillError as exc:
        return Diagnosis(rule_name, origin=origin, skipped=f"diagnosis failed: {shorten(str(exc), 120)}")
    if scenario is not None and step == "silent" and rule_name in scenario.silent:
        findings += _silent_cofiring(mine[0], scenario, findings)
    return Diagnosis(rule_name, tuple(by_severity(f for f in findings if f.severity != "policy")), origin,
                     context=context)


def causes_only(findings: Collection[Finding]) -> list[Finding]:
    """The broken and suspicious findings (what a drill's failure shows)."""
    return [f for f in findings if f.severity in ("broken", "suspicious")]
