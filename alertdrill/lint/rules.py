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
from alertdrill.lint.tools import run_tool

__all__ = ["SEVERITIES", "Rule", "check_labels", "check_scenarios", "load_rules"]

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
    duration: float = 0.0  # `for`, seconds
    keep_firing_for: float = 0.0

    @property
    def severity(self) -> str:
        return str(self.labels.get("severity", ""))

    @property
    def title(self) -> str:
        """``Name[severity]``: two rules may share a name (PostgresHighConnectionCount)."""
        return f"{self.name}[{self.severity or 'no severity'}]"

    def finding(self, level: str, check: str, problem: str, fix: str) -> Finding:
        """A finding about this rule: named by :attr:`title`, located by its file."""
        return Finding(level, check, self.title, problem, fix, self.file.name)


def _promtool_check(paths: Sequence[Path]) -> None:
    """ConfigError naming the first problems promtool sees, so a broken file is one line, not a traceback."""
    missing = [str(p) for p in paths if not Path(p).is_file()]
    if missing:
        raise ConfigError(f"rule file(s) not found: {', '.join(missing)}; pass existing files to --rules")
    result = run_tool("promtool", "check", "rules", *map(str, paths))
    if result.returncode != 0:
        lines = [ln.strip() for ln in (result.stderr + result.stdout).splitlines() if ln.strip()]
        problems = [ln for ln in lines if not ln.startswith(("Checking ", "SUCCESS")) and ln != "FAILED:"]
        detail = "; ".join(problems or lines)[:600]
        raise ConfigError(f"invalid rule file: {detail}; fix it and check with `promtool check rules FILE`")


def load_rules(paths: Sequence[Path]) -> list[Rule]:
    """The alerting rules of ``paths``; an invalid file is a one-line ConfigError from promtool."""
    paths = [Path(p) for p in paths]
    _promtool_check(paths)
    rules = []
    for path in paths:
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups") or []:
            for raw in group.get("rules") or []:
                if "alert" in raw:
                    rules.append(Rule(
                        name=str(raw["alert"]), expr=str(raw["expr"]),
                        labels={str(k): str(v) for k, v in (raw.get("labels") or {}).items()},
                        annotations={str(k): str(v) for k, v in (raw.get("annotations") or {}).items()},
                        file=path, group=str(group.get("name", "")),
                        duration=parse_duration(raw.get("for", 0), what="for"),
                        keep_firing_for=parse_duration(raw.get("keep_firing_for", 0), what="keep_firing_for")))
    return rules


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
