"""The entry point: :func:`lint` loads the inputs once and runs every check over them.

Policy checks (this project's conventions) come from this package; root causes (can the rule fire,
does it fire falsely, does it keep its labels) from :mod:`alertdrill.diagnosis`, the same checks a
failed drill reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import alertdrill.diagnosis.diagnose as diagnosis  # a module: it imports lint's parts in turn
from alertdrill.lint.documented import DocumentedAlert, check_documented, load_documented
from alertdrill.lint.findings import Finding, by_severity
from alertdrill.lint.routing import check_receivers, check_routes, load_alertmanager_config
from alertdrill.lint.rules import check_duplicates, check_labels, check_scenarios, load_rules
from alertdrill.lint.runbook import check_runbooks
from alertdrill.stack import layout

__all__ = ["lint"]


def lint(
    rule_files: Sequence[Path] | None = None,
    *,
    prometheus: Any = None,
    alertmanager_config: Path = layout.ALERTMANAGER_CONFIG,
    runbook_root: Path | None = None,
    documented: Sequence[DocumentedAlert] | None = None,
    scenario_alerts: set[str] | None = None,
) -> list[Finding]:
    """Every finding for ``rule_files`` (default: the shipped rules): broken, suspicious, then policy.

    ``prometheus`` is a :class:`~alertdrill.assertions.prometheus.PrometheusClient` for the live
    checks, or None for the static ones only. ``runbook_root`` is where relative runbook links start (the
    project root). ``scenario_alerts``, when given, are the alert names that have a scenario.
    """
    paths = [Path(p) for p in (rule_files or layout.shipped_rule_files())]
    rules = load_rules(paths)
    am_config = load_alertmanager_config(alertmanager_config)
    findings = [
        *check_duplicates(rules),
        *check_labels(rules),
        *check_runbooks(rules, Path(runbook_root) if runbook_root else layout.ROOT),
        *check_receivers(am_config, Path(alertmanager_config).name),
        *check_routes(rules, Path(alertmanager_config)),
        *check_documented(rules, load_documented() if documented is None else documented),
    ]
    if scenario_alerts is not None:
        findings += check_scenarios(rules, scenario_alerts)
    findings += diagnosis.diagnose_rules(rules, prometheus=prometheus, needed=diagnosis.needed_labels(am_config))
    return by_severity(findings)
