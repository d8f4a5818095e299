"""The alerting rules as written, and the offline checks that need nothing but the rules themselves.

:func:`load_rules` lets promtool validate the files first, so everything after it can assume valid
YAML and PromQL; :func:`check_labels` and :func:`check_scenarios` then look at each rule on its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from alertdrill.assertions.durations import parse_duration
from alertdrill.errors import ConfigError
from alertdrill.lint.findings import Finding
from alertdrill.stack.rulefiles import check_rule_files

__all__ = ["SEVERITIES", "Rule", "check_duplicates", "check_labels", "check_scenarios", "load_rules", "read_rules",
           "refuse_duplicates"]

#: The severities Alertmanager's routes know; any other value lands on the catch-all route.
SEVERITIES = ("critical", "warning")


@dataclass(frozen=True)
class Rule:
    """An alerting rule as written in a rule file."""

    name: str
    expr: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    file: Path
    group: str
    line_no: int = 0
    duration: float = 0.0  # `for`, seconds
    keep_firing_for: float = 0.0

    @property
    def severity(self) -> str:
        return str(self.labels.get("severity", ""))

    @property
    def title(self) -> str:
        """``Name[severity]``: two rules may share a name (PostgresHighConnectionCount)."""
        return f"{self.name}[{self.severity or 'no severity'}]"

    def finding(self, level: str, check: str, problem: str, fix: str, *, kind: str = "", severity: str = "",
                origin: str = "") -> Finding:
        """A finding about this rule: named by :attr:`title`, located by its file and line."""
        return Finding(level, check, self.title, problem, fix, self.file.name, kind=kind, severity=severity,
                       path=str(self.file), line_no=self.line_no, origin=origin)


def _alert_lines(text: str) -> list[int]:
    """The 1-based line of each alerting rule's ``alert:`` key, in file order (for CI annotations)."""
    lines: list[int] = []
    root = yaml.compose(text)
    groups = _child(root, "groups")
    for group in groups.value if isinstance(groups, yaml.SequenceNode) else []:
        rules = _child(group, "rules")
        for raw in rules.value if isinstance(rules, yaml.SequenceNode) else []:
            for key, _ in raw.value if isinstance(raw, yaml.MappingNode) else []:
                if key.value == "alert":
                    lines.append(key.start_mark.line + 1)
    return lines


def _child(node: yaml.Node | None, name: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((value for key, value in node.value if key.value == name), None)


def read_rules(path: Path) -> list[Rule]:
    """The alerting rules of one file already known to be valid, each with its line number."""
    text = Path(path).read_text()
    lines = iter(_alert_lines(text))
    rules = []
    for group in (yaml.safe_load(text) or {}).get("groups") or []:
        for raw in group.get("rules") or []:
            if "alert" in raw:
                rules.append(Rule(
                    name=str(raw["alert"]), expr=str(raw["expr"]),
                    labels={str(k): str(v) for k, v in (raw.get("labels") or {}).items()},
                    annotations={str(k): str(v) for k, v in (raw.get("annotations") or {}).items()},
                    file=Path(path), group=str(group.get("name", "")), line_no=next(lines, 0),
                    duration=parse_duration(raw.get("for", 0), what="for"),
                    keep_firing_for=parse_duration(raw.get("keep_firing_for", 0), what="keep_firing_for")))
    return rules


def load_rules(paths: Sequence[Path]) -> list[Rule]:
    """The alerting rules of ``paths``; an invalid or empty file is a one-line ConfigError."""
    paths = [Path(p) for p in paths]
    check_rule_files(paths)
    rules = []
    for path in paths:
        found = read_rules(path)
        if not found:
            raise ConfigError(f"rule file {path} is empty: it holds no alerting rule (groups: -> rules: -> "
                              "alert:); pass the file that has your alerts")
        rules += found
    return rules


def check_duplicates(rules: Sequence[Rule]) -> list[Finding]:
    """One alert name in two groups: Prometheus evaluates both, and ALERTS mixes their series, so a drill
    sees one alert fire and resolve at random. Several rules of one group (one per severity) are fine."""
    groups: dict[str, list[Rule]] = {}
    for r in rules:
        groups.setdefault(r.name, []).append(r)
    out = []
    for name, named in groups.items():
        places = sorted({(r.file.name, r.group) for r in named})
        if len(places) > 1:
            where = ", ".join(f"group {g!r} in {f}" for f, g in places)
            out.append(named[-1].finding(
                "error", "duplicate", f"alert {name} is defined in {len(places)} groups ({where})",
                "rename one of them, or keep all its severities in one group", kind="duplicate-alert"))
    return out


def check_labels(rules: Sequence[Rule]) -> list[Finding]:
    """severity (critical|warning) and service on every alert: routing and reports depend on them."""
    out = []
    for r in rules:
        if r.severity not in SEVERITIES:
            got = f"severity {r.severity!r}" if r.severity else "no severity label"
            out.append(r.finding("error", "labels", f"{got}; Alertmanager routes by severity",
                                 f"set labels.severity to one of {', '.join(SEVERITIES)}"))
        if not r.labels.get("service"):
            out.append(r.finding("error", "labels", "no service label",
                                 "set labels.service (postgres, redis, api, monitoring, ...)"))
        if not r.annotations.get("summary"):
            out.append(r.finding("warning", "annotations", "no summary annotation",
                                 "add annotations.summary: one line naming the instance and the value"))
    return out


def check_scenarios(rules: Sequence[Rule], scenario_alerts: set[str]) -> list[Finding]:
    """Alerts no end-to-end scenario proves (hook for the scenario catalogue)."""
    return [r.finding("warning", "scenario", "no scenario proves this alert end to end",
                      "add a chaos scenario that causes it and expects it")
            for r in rules if r.name not in scenario_alerts]


def refuse_duplicates(paths: Sequence[Path]) -> None:
    """ConfigError (one line) when an alert name is defined in two groups: `alertdrill up` refuses such
    rules, since a drill could not tell which of the two fired. ``paths`` must be valid rule files."""
    found = check_duplicates([r for p in paths for r in read_rules(Path(p))])
    if found:
        first = found[0]
        raise ConfigError(f"{first.source}: {first.problem}; {first.fix}")
