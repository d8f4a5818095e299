"""The promtool files of a recording: the tested rule, the recorded series and the checks to replay.

The replay is never later than the live run, and at most about one evaluation earlier: a range query
puts a sample on the first step at or after its timestamp, while the live evaluation that reacted to
it ran at or after that step (later still when the scrape that took it was slow). So each check keeps
a margin of one evaluation interval from the edge the live ``ALERTS`` series showed, on the side the
replay can move to: silent two steps before the first firing step, firing from the first firing step
to one step before the last, resolved two steps after the last.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from alertdrill.assertions.durations import format_duration
from alertdrill.assertions.prometheus import AlertingRule
from alertdrill.errors import ConfigError

from .series import Grid, encode_values, series_name

__all__ = ["MARGIN", "Check", "Firing", "choose_checks", "dump_yaml", "promtool_test_doc", "rule_file_doc"]

#: Evaluations kept between a check and an edge the recording saw.
MARGIN = 1

LabelKey = tuple[tuple[str, str], ...]
#: (alert, label key, step or None for every step): annotations may differ per evaluation ($value).
AnnotationKey = tuple[str, LabelKey, int | None]


def label_key(labels: Mapping[str, str]) -> LabelKey:
    return tuple(sorted((k, v) for k, v in labels.items() if k not in ("__name__", "alertstate")))


@dataclass(frozen=True)
class Firing:
    """One alert instance as the recorded ``ALERTS{alertstate="firing"}`` series shows it."""

    alert: str
    labels: dict[str, str]
    steps: tuple[int, ...]

    @property
    def first(self) -> int:
        return self.steps[0]

    @property
    def last(self) -> int:
        return self.steps[-1]

    def at(self, step: int) -> bool:
        return self.first <= step <= self.last

    def certain(self, step: int, margin: int) -> bool | None:
        """Whether the replay fires at ``step`` for sure (True), surely not (False), or None: too close to an edge."""
        if self.first <= step <= self.last - margin:
            return True
        if step < self.first - margin or step > self.last:
            return False
        return None


@dataclass(frozen=True)
class Check:
    """One ``alert_rule_test`` case: at ``step`` the alert fires exactly as ``firing`` (none: silent)."""

    step: int
    alert: str
    firing: tuple[Firing, ...] = ()
    why: str = ""


def _contiguous(firing: Firing) -> None:
    gaps = [b for a, b in zip(firing.steps, firing.steps[1:], strict=False) if b != a + 1]
    if gaps:
        raise ConfigError(f"{firing.alert}{dict(firing.labels)} stopped and started firing again in the recording "
                          f"(at step {gaps[0]}); a flapping alert cannot be replayed deterministically")


def choose_checks(alert: str, instances: Sequence[Firing], *, size: int, quiet_before: int | None = None,
                  margin: int = MARGIN) -> list[Check]:
    """Silent, firing and resolved checks for ``alert``, each ``margin`` steps away from the edges seen."""
    if not instances:
        raise ConfigError(f"{alert} never fired in the recorded window; nothing to replay")
    for firing in instances:
        _contiguous(firing)
    first, last = min(f.first for f in instances), max(f.last for f in instances)
    silent = first - 1 - margin
    if silent < 0:
        raise ConfigError(f"{alert} fires {first} step(s) into the recording; start the recording earlier")
    resolved = last + 1 + margin
    if resolved >= size:
        raise ConfigError(f"the recording ends {size - 1 - last} step(s) after {alert}'s last firing step; "
                          f"it needs {1 + margin} to show the resolution")
    stable = [s for s in range(first, last - margin + 1)
              if None not in (states := [f.certain(s, margin) for f in instances]) and any(states)]
    if not stable:
        raise ConfigError(f"{alert} fired for only {last - first + 1} evaluation(s) (steps {first}..{last}); "
                          f"a replay needs {margin + 1} to assert firing with a margin of {margin}")
    checks = []
    if quiet_before is not None and 0 <= quiet_before < silent:
        checks.append(Check(quiet_before, alert, why="silent before the fault was injected"))
    checks.append(Check(silent, alert, why=f"silent {1 + margin} evaluations before the first firing step {first}"))
    for step in sorted({stable[0], stable[-1]}):
        checks.append(Check(step, alert, tuple(f for f in instances if f.certain(step, margin)),
                            why=f"firing (recorded from step {first} to {last})"))
    checks.append(Check(resolved, alert, why=f"resolved {1 + margin} evaluations after the last firing step {last}"))
    return checks


def rule_file_doc(rules: Iterable[AlertingRule], *, group: str, interval: float) -> dict[str, Any]:
    """A rule file holding exactly the rules as the live Prometheus evaluated them."""
    out = [rule_entry(r.name, r.query, duration=r.duration, keep_firing_for=r.keep_firing_for, labels=r.labels,
                      annotations=r.annotations) for r in rules]
    return {"groups": [{"name": group, "interval": format_duration(interval), "rules": out}]}


def rule_entry(name: str, expr: str, *, duration: float = 0.0, keep_firing_for: float = 0.0,
               labels: Mapping[str, str] | None = None, annotations: Mapping[str, str] | None = None
               ) -> dict[str, Any]:
    """One alerting rule as a rule file writes it (empty fields left out)."""
    entry: dict[str, Any] = {"alert": name, "expr": expr}
    if duration:
        entry["for"] = format_duration(duration)
    if keep_firing_for:
        entry["keep_firing_for"] = format_duration(keep_firing_for)
    if labels:
        entry["labels"] = dict(labels)
    if annotations:
        entry["annotations"] = dict(annotations)
    return entry


def promtool_test_doc(*, rule_file: str, grid: Grid, series: Iterable[tuple[Mapping[str, str], Sequence[float | None]]],
                  checks: Iterable[Check], annotations: Mapping[AnnotationKey, Mapping[str, str]],
                  name: str) -> dict[str, Any]:
    """The promtool test document; ``annotations`` holds the expected annotations per instance (and step)."""
    interval = format_duration(grid.step)
    cases = []
    for check in checks:
        expected = []
        for firing in check.firing:
            labels = {k: v for k, v in sorted(firing.labels.items()) if k != "alertname"}
            entry: dict[str, Any] = {"exp_labels": labels}
            key = label_key(firing.labels)
            found = annotations.get((check.alert, key, check.step), annotations.get((check.alert, key, None)))
            if found:
                entry["exp_annotations"] = dict(found)
            expected.append(entry)
        cases.append({"eval_time": format_duration(grid.offset(check.step)), "alertname": check.alert,
                      "exp_alerts": expected})
    inputs = [{"series": series_name(labels), "values": encode_values(values)} for labels, values in series]
    return {"rule_files": [rule_file], "evaluation_interval": interval,
            "tests": [{"name": name, "interval": interval, "input_series": inputs, "alert_rule_test": cases}]}


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (expressions) as literal blocks; everything else as safe_dump does it."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(doc: Mapping[str, Any], *, header: Sequence[str] = ()) -> str:
    """YAML text with ``header`` lines as leading comments."""
    comments = "".join(f"# {line}\n" for line in header)
    return comments + yaml.dump(dict(doc), Dumper=_Dumper, sort_keys=False, width=100_000, allow_unicode=True)
