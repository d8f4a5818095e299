"""The live checks against the session's real stack: the shipped rules pass, typos are caught."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from linttest_support import rule

from alertdrill.cli import main
from alertdrill.lint import lint
from alertdrill.stack import layout

pytestmark = pytest.mark.integration

LIVE_CHECKS = ("selector", "join")


def _live(findings):
    return [f.line() for f in findings if f.check in LIVE_CHECKS]


def test_shipped_rules_pass_the_live_selector_and_join_checks(prometheus):
    assert _live(lint(prometheus=prometheus)) == []


def test_misspelt_metric_is_named_with_the_fix(prometheus, write_rules, project):
    path = write_rules(rule(expr="pg_stat_activty_count > 10"))
    (finding,) = [f for f in lint([path], prometheus=prometheus, runbook_root=project, documented=[])
                  if f.check == "selector"]
    assert finding.level == "error" and finding.rule == "GoodAlert[critical]"
    assert "selector `pg_stat_activty_count` returns no series" in finding.problem
    assert finding.fix == "did you mean `pg_stat_activity_count`?"


def test_misspelt_label_name_and_value(prometheus, write_rules, project):
    path = write_rules(rule(expr='up{jobb="app"} == 0 or up{job="ap"} == 0'))
    findings = [f for f in lint([path], prometheus=prometheus, runbook_root=project, documented=[])
                if f.check == "selector"]
    assert [(f.severity, f.kind, f.problem.split(":")[0]) for f in findings] == [
        ("broken", "dead-selector", 'selector `up{jobb="app"}` returns no series'),
        ("broken", "dead-selector", 'selector `up{job="ap"}` returns no series')]  # job: no target has it
    assert "has no label jobb (its labels: instance, job)" in findings[0].problem
    assert findings[1].fix.startswith('did you mean job="app"?')


@pytest.mark.parametrize("expr,expected", [
    ("sum by (instance) (pg_stat_activity_count) / on (server) max by (instance) (pg_settings_max_connections) > 0.7",
     "joins on (server) but the left side has no label server"),
    ("redis_memory_used_bytes / on (instance) pg_settings_max_connections > 1",
     "no series on the left matches one on the right"),
    ("pg_stat_activity_count / pg_settings_max_connections > 0.7",
     "only left has datname, state"),
])
def test_mismatched_join_labels_are_reported(prometheus, write_rules, project, expr, expected):
    path = write_rules(rule(expr=expr))
    findings = [f for f in lint([path], prometheus=prometheus, runbook_root=project, documented=[])
                if f.check == "join"]
    assert [f.level for f in findings] == ["error"] and expected in findings[0].problem


def test_cli_finds_the_stack_by_name(prometheus, lint_stack, tmp_path, capsys):
    stack_info = lint_stack.info
    names = {r["alert"] for p in layout.shipped_rule_files() for g in yaml.safe_load(p.read_text())["groups"]
             for r in g["rules"]}
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "runbook.md").write_text("".join(f"## {n}\n\n" for n in sorted(names)))
    run_dir = Path(stack_info.run_dir)
    code = main(["--home", str(run_dir.parent), "--name", run_dir.name, "lint", "--runbook-root", str(tmp_path)])
    out, err = capsys.readouterr()
    assert (code, out) == (0, "")
    assert f"live checks against {stack_info.prometheus_url}" in err
