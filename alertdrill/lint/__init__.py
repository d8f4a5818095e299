"""Lint alerting rules: documented, labelled, routed, and fed by series that really exist.

``promtool check rules`` proves a rule file parses; it cannot tell that a metric name is misspelt,
that ``a / on (x) b`` joins on a label one side lacks, that an alert lands on Alertmanager's catch-all
route or links to a runbook section nobody wrote. Those mistakes make an alert silent without making
it invalid, so :func:`lint` looks for them: offline against the rule files, the Alertmanager config,
the runbook and the documented-alert list, and live against a running Prometheus, whose answers show
which series and labels the exporters really produce.

Every problem is a :class:`Finding` (``error`` or ``warning``) printed as one line naming the rule,
the problem and the fix. The modules, each one job::

    run         lint(): load the inputs once, run every check, errors first
    findings    Finding, levels, and the helpers that keep a finding one short line
    rules       Rule, loading rule files (promtool validates them), per-rule label checks
    documented  the documented-alert list and the check that each alert has its rules
    runbook     runbook_url links point at sections that exist
    routing     Alertmanager receivers and routes, through amtool
    tools       running promtool/amtool with a timeout
    promql      a PromQL syntax tree over the assertions' tokenizer
    labels      LabelShapes: which labels flow through an expression, and join problems
    live        selector and join checks against a running Prometheus
"""

from __future__ import annotations

from alertdrill.lint.documented import DOCUMENTED_ALERTS, DocumentedAlert, load_documented
from alertdrill.lint.findings import Finding
from alertdrill.lint.labels import LabelShapes
from alertdrill.lint.promql import parse_promql
from alertdrill.lint.rules import Rule, load_rules
from alertdrill.lint.run import lint

__all__ = [
    "DOCUMENTED_ALERTS",
    "DocumentedAlert",
    "Finding",
    "LabelShapes",
    "Rule",
    "lint",
    "load_documented",
    "load_rules",
    "parse_promql",
]
