"""The catalogue: which fault proves which alert, as data a team edits (``alertdrill init`` writes one to start from).

A scenario names the alerts it proves (by the names in the rules under test, so a rule set whose
alerts have other names is mapped by editing this file), the fault that the alerts document, the
receiver each notification must reach, and the alerts that must stay silent while the fault is in
effect. Per-alert rule overrides (a shortened threshold that cannot be waited for on a fresh stack)
live here too, each with the reason shown in the report.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from alertdrill.errors import ConfigError
from alertdrill.stack.rendering import load_yaml
from alertdrill.stack.timescale import RuleTiming

__all__ = ["COMPONENTS", "DEFAULT_CATALOGUE", "AlertContract", "Catalogue", "Coverage", "FaultSpec", "Scenario",
           "load_catalogue"]

#: The shipped alerts' catalogue, package data next to this module (what ``--catalogue`` replaces).
DEFAULT_CATALOGUE = Path(__file__).resolve().parent / "catalogue.yml"
COMPONENTS = ("postgres", "redis", "app", "monitoring")


@dataclass(frozen=True)
class AlertContract:
    """One alert a scenario proves: labels it must carry, where it must be delivered, or why not."""

    name: str
    labels: dict[str, str] = field(default_factory=dict)
    receiver: str | None = None
    inhibited_by: str | None = None
    not_delivered_because: str | None = None

    @property
    def title(self) -> str:
        inner = ",".join(f'{k}="{v}"' for k, v in sorted(self.labels.items()))
        return f"{self.name}{{{inner}}}" if inner else self.name


@dataclass(frozen=True)
class FaultSpec:
    """The fault a scenario injects: its kind (the fault's one name) and validated parameters."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, kind: str, raw: Mapping[str, Any]) -> FaultSpec:
        """Validate ``raw`` against the kind's declared parameters; one-line ConfigError otherwise."""
        from alertdrill.chaos import fault_class

        return cls(kind=kind, params=fault_class(kind).validate(dict(raw)))

    @property
    def needs_local_stack(self) -> str:
        """Why the fault needs a stack alertdrill started here ("" when it does not)."""
        from alertdrill.chaos import fault_class

        return fault_class(self.kind).needs_local_stack

    def build(self, backend: Any, *, max_duration: float) -> Any:
        """The fault, not injected yet (``with`` injects and reverts it)."""
        from alertdrill.chaos import build_fault

        return build_fault(self.kind, backend, max_duration=max_duration, **self.params)

    def __str__(self) -> str:
        return self.kind


@dataclass(frozen=True)
class Scenario:
    """A fault, the alerts it must fire, and the alerts it must not."""

    id: str
    component: str
    description: str
    fault: FaultSpec
    alerts: tuple[AlertContract, ...]
    silent: tuple[str, ...] = ()
    #: The scrape target whose address the alerts' ``instance`` label must carry (a stack component).
    instance: str | None = None

    def alert_names(self) -> set[str]:
        return {a.name for a in self.alerts}

    def with_instance(self, address: str | None) -> Scenario:
        """This scenario with ``instance=address`` added to every alert's expected labels."""
        if not address:
            return self
        alerts = tuple(replace(a, labels={**a.labels, "instance": address}) for a in self.alerts)
        return replace(self, alerts=alerts)


@dataclass(frozen=True)
class Coverage:
    """Alerts in the rules without a scenario, and scenarios whose alerts the rules lack."""

    rule_alerts: frozenset[str]
    uncovered: tuple[str, ...]
    missing_from_rules: dict[str, tuple[str, ...]]
    not_provable: dict[str, str]

    def lines(self) -> list[str]:
        out = [f"alert {name} has no scenario in the catalogue" for name in self.uncovered]
        out += [f"scenario {sid} proves {', '.join(names)}, which the rules under test do not define"
                for sid, names in self.missing_from_rules.items()]
        out += [f"alert {name}: {why}" for name, why in self.not_provable.items()]
        return out


@dataclass(frozen=True)
class Catalogue:
    path: Path
    scenarios: tuple[Scenario, ...]
    rule_overrides: dict[str, RuleTiming]
    override_reasons: dict[str, str]
    not_provable: dict[str, str]

    def for_component(self, component: str) -> list[Scenario]:
        return [s for s in self.scenarios if s.component == component]

    def scenario(self, scenario_id: str) -> Scenario:
        for scenario in self.scenarios:
            if scenario.id == scenario_id:
                return scenario
        known = ", ".join(s.id for s in self.scenarios)
        raise ConfigError(f"no scenario {scenario_id!r} in {self.path}; known: {known}")

    def proven_alerts(self) -> set[str]:
        return {a.name for s in self.scenarios for a in s.alerts}

    def check_names(self, rule_alerts: Iterable[str], *, strict: bool, proven: Iterable[str] = ()) -> None:
        """Every alert and must-stay-silent name is one the rules define: a typo is one ConfigError line
        naming the scenario, the name and the closest names. ``strict`` also refuses alerts of the
        rules with no scenario and scenarios whose alert the rules lack; lenient, an alert name with no
        close match is a coverage gap (skipped and listed), not a typo. ``proven``: alerts `alertdrill prove`
        showed fireable by synthesis, which strict mode accepts without a scenario."""
        known = set(rule_alerts)
        problems = []
        for scenario in self.scenarios:
            names = [("alert", n) for n in sorted(scenario.alert_names())] + [("silent", n) for n in scenario.silent]
            for role, name in names:
                if name in known:
                    continue
                close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
                if role == "alert" and not strict and not close:
                    continue  # lenient: an alert the candidate rules lack is skipped and listed, not a typo
                hint = f" (closest: {', '.join(close)})" if close else ""
                problems.append(f"scenario {scenario.id!r} names {role} {name!r}, which no rule under test defines"
                                f"{hint}")
        if strict:
            uncovered = sorted(known - self.proven_alerts() - set(self.not_provable) - set(proven))
            if uncovered:
                problems.append(f"alerts without a scenario: {', '.join(uncovered)}")
        if problems:
            raise ConfigError(f"{self.path}: " + "; ".join(problems)
                              + (" (--no-strict-coverage skips and lists coverage gaps instead)" if strict else ""))

    def coverage(self, rule_alerts: Iterable[str]) -> Coverage:
        rules = frozenset(rule_alerts)
        proven = self.proven_alerts()
        uncovered = tuple(sorted(rules - proven - set(self.not_provable)))
        missing = {s.id: tuple(sorted(s.alert_names() - rules)) for s in self.scenarios if s.alert_names() - rules}
        return Coverage(rules, uncovered, missing, {k: v for k, v in self.not_provable.items() if k in rules})


def _require(data: Mapping, key: str, where: str, kind: type) -> Any:
    if key not in data:
        raise ConfigError(f"{where}: missing '{key}'")
    value = data[key]
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: '{key}' must be a {kind.__name__}, got {type(value).__name__}")
    return value


def _alert(raw: Any, where: str) -> AlertContract:
    if isinstance(raw, str):
        return AlertContract(name=raw)
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: an alert is a name or a mapping with 'name'")
    unknown = set(raw) - {"name", "labels", "receiver", "inhibited_by", "not_delivered_because"}
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    return AlertContract(
        name=_require(raw, "name", where, str),
        labels={str(k): str(v) for k, v in (raw.get("labels") or {}).items()},
        receiver=raw.get("receiver"),
        inhibited_by=raw.get("inhibited_by"),
        not_delivered_because=raw.get("not_delivered_because"),
    )


def _scenario(raw: Any, index: int, path: Path) -> Scenario:
    where = f"{path} scenario #{index + 1}"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: must be a mapping")
    sid = _require(raw, "id", where, str)
    where = f"{path} scenario {sid!r}"
    component = _require(raw, "component", where, str)
    if component not in COMPONENTS:
        raise ConfigError(f"{where}: component {component!r} is not one of {', '.join(COMPONENTS)}")
    fault = _require(raw, "fault", where, Mapping)
    kind = _require(fault, "kind", where + " fault", str)
    try:
        spec = FaultSpec.parse(kind, {k: v for k, v in fault.items() if k != "kind"})
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    alerts = tuple(_alert(a, where) for a in _require(raw, "alerts", where, list))
    if not alerts:
        raise ConfigError(f"{where}: 'alerts' is empty; a scenario proves at least one alert")
    for alert in alerts:
        if alert.receiver is None and alert.inhibited_by is None and alert.not_delivered_because is None:
            raise ConfigError(f"{where}: alert {alert.name} needs a receiver, inhibited_by or not_delivered_because")
    return Scenario(
        id=sid,
        component=component,
        description=str(raw.get("description", "")).strip(),
        fault=spec,
        alerts=alerts,
        silent=tuple(raw.get("silent") or ()),
        instance=raw.get("instance"),
    )


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Parse and validate a catalogue file; every problem is a one-line ConfigError naming the file."""
    path = Path(path or DEFAULT_CATALOGUE)
    data = load_yaml(path, what="catalogue")
    scenarios = tuple(_scenario(raw, i, path) for i, raw in enumerate(_require(data, "scenarios", str(path), list)))
    ids = [s.id for s in scenarios]
    if dupes := sorted({i for i in ids if ids.count(i) > 1}):
        raise ConfigError(f"{path}: duplicate scenario ids {dupes}")
    overrides: dict[str, RuleTiming] = {}
    reasons: dict[str, str] = {}
    for name, raw in (data.get("rule_overrides") or {}).items():
        where = f"{path} rule_overrides {name!r}"
        if not isinstance(raw, Mapping) or not raw.get("why"):
            raise ConfigError(f"{where}: needs a 'why' explaining the difference to the shipped rule")
        overrides[name] = RuleTiming(
            time_scale=raw.get("time_scale"),
            duration_thresholds=tuple(float(x) for x in raw.get("duration_thresholds") or ()),
            substitutions=tuple((str(a), str(b)) for a, b in (raw.get("substitute") or {}).items()),
            why=str(raw["why"]),
        )
        reasons[name] = str(raw["why"])
    return Catalogue(path=path, scenarios=scenarios, rule_overrides=overrides, override_reasons=reasons,
                     not_provable={str(k): str(v) for k, v in (data.get("not_provable") or {}).items()})
