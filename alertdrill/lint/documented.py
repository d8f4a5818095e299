"""The alerts the seed documents (``alertdrill/documented_alerts.yml``) and the check that each has a rule.

The list is the contract with the people who wrote the runbook: a documented alert with no rule, or
missing one of its severities, is an alert on-call expects and will never get.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from alertdrill.errors import ConfigError
from alertdrill.lint.findings import Finding
from alertdrill.lint.rules import Rule

__all__ = ["DOCUMENTED_ALERTS", "DocumentedAlert", "check_documented", "load_documented"]

#: Shipped as package data of ``alertdrill`` (pyproject.toml), next to this package.
DOCUMENTED_ALERTS = Path(__file__).parent.parent / "documented_alerts.yml"


@dataclass(frozen=True)
class DocumentedAlert:
    """An alert the seed documents, with the severities it must exist at."""

    name: str
    severities: tuple[str, ...]
    service: str
    seed: str


def load_documented(path: Path = DOCUMENTED_ALERTS) -> list[DocumentedAlert]:
    """The documented alerts (alertdrill/documented_alerts.yml)."""
    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
        return [DocumentedAlert(str(a["name"]), tuple(a["severities"]), str(a.get("service", "")),
                                str(a.get("seed", ""))) for a in raw["alerts"]]
    except FileNotFoundError:
        raise ConfigError(f"documented alert list {path} is missing; restore it from git") from None
    except (yaml.YAMLError, KeyError, TypeError) as exc:
        raise ConfigError(f"documented alert list {path} is invalid ({exc}); each alert needs name and severities"
                          ) from exc


def check_documented(rules: Sequence[Rule], documented: Sequence[DocumentedAlert]) -> list[Finding]:
    """Every alert the seed documents exists, at every documented severity."""
    out = []
    for doc in documented:
        named = [r for r in rules if r.name == doc.name]
        if not named:
            out.append(Finding("error", "documented", doc.name, f"documented alert has no rule (seed: {doc.seed})",
                               f"add an alerting rule named {doc.name}", ""))
            continue
        for severity in doc.severities:
            if not any(r.severity == severity for r in named):
                out.append(Finding("error", "documented", f"{doc.name}[{severity}]",
                                   f"documented at severity {severity}, but no rule has it (rules: "
                                   f"{', '.join(r.severity or '-' for r in named)})",
                                   f"add or relabel a {doc.name} rule with severity: {severity}", named[0].file.name))
        for r in named:
            if doc.service and r.labels.get("service") and r.labels["service"] != doc.service:
                out.append(r.finding("warning", "documented", f"service {r.labels['service']!r}, documented "
                                     f"under {doc.service!r}", f"set labels.service: {doc.service}"))
    return out
