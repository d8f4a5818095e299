"""`alertdrill lint` as a user runs it: one line per finding, exit codes, one-line input errors."""

from __future__ import annotations

import yaml
from linttest_support import rule

from alertdrill.cli import main
from alertdrill.stack import layout


def test_lint_is_registered_as_a_sub_command(capsys):
    from alertdrill.cli import build_parser

    args = build_parser().parse_args(["lint", "--offline", "--rules", "a.yml", "--rules", "b.yml"])
    assert args.offline and [str(p) for p in args.rules] == ["a.yml", "b.yml"]


def test_policy_of_another_teams_file_is_one_summary_line_and_exit_0(write_rules, project, capsys):
    path = write_rules(rule(labels={"severity": "critical"}), rule(name="monitor_service_down"))
    code = main(["lint", "--offline", "--rules", str(path), "--runbook-root", str(project)])
    out, err = capsys.readouterr()
    assert code == 0
    (line,) = out.splitlines()
    assert line.startswith("policy: ") and "not shown" in line and "--policy" in line
    assert "0 broken, 0 suspicious" in err and "offline" in err


def test_policy_shown_with_the_option_exit_3_one_line_each(write_rules, project, capsys):
    path = write_rules(rule(labels={"severity": "critical"}), rule(name="monitor_service_down"))
    code = main(["lint", "--offline", "--policy", "--rules", str(path), "--runbook-root", str(project)])
    out, _ = capsys.readouterr()
    assert code == 3
    lines = out.splitlines()
    assert "policy: GoodAlert[critical] (rules1.yml:4): no service label; fix: set labels.service" in lines[0]
    assert all(line.startswith("policy: ") and "; fix: " in line for line in lines)


def test_broken_rule_exits_1_before_policy(write_rules, project, capsys):
    path = write_rules(rule(expr="pg_up > 1"), rule(name="B", expr="redis_up == 0", labels={"severity": "x"}))
    code = main(["lint", "--offline", "--policy", "--rules", str(path), "--runbook-root", str(project)])
    out, _ = capsys.readouterr()
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("broken: GoodAlert[critical] (rules1.yml:4): threshold-unreachable: `pg_up`")
    assert lines[-1].startswith("policy: ")


def test_github_annotations_one_per_finding_with_file_and_line(write_rules, project, capsys):
    path = write_rules(rule(expr="pg_up > 1"), rule(name="B", expr="time() - redis_start_time_seconds > 60"))
    code = main(["lint", "--offline", "--format", "github", "--rules", str(path), "--runbook-root", str(project)])
    out, _ = capsys.readouterr()
    assert code == 1
    first, second = out.splitlines()
    assert first.startswith(f"::error file={path},line=4,title=broken threshold-unreachable%3A GoodAlert[critical]::")
    assert second.startswith(f"::warning file={path},line=13,title=suspicious timestamp-age-never%3A B[critical]::")


def test_json_format_holds_findings_counts_and_exit_status(write_rules, project, capsys):
    import json

    path = write_rules(rule(expr="rate(x_total[5m]) > 1 and delta(y_total[5m]) > 1"))
    code = main(["lint", "--offline", "--format", "json", "--rules", str(path), "--runbook-root", str(project)])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["exit_status"] == 1 and data["counts"]["broken"] == 1
    (finding,) = data["findings"]
    assert finding["kind"] == "delta-over-counter" and finding["line_no"] == 4 and finding["fix"]


def test_empty_rule_file_says_it_is_empty(tmp_path, capsys):
    path = tmp_path / "empty.yml"
    path.write_text("")
    assert main(["lint", "--offline", "--rules", str(path)]) == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and f"rule file {path} is empty" in err and "missing" not in err


def test_same_alert_in_two_groups_is_broken(tmp_path, capsys):
    path = tmp_path / "dup.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "a", "rules": [rule()]}, {"name": "b", "rules": [rule()]}]}))
    assert main(["lint", "--offline", "--rules", str(path)]) == 1
    out, _ = capsys.readouterr()
    assert "broken: GoodAlert[critical] (dup.yml:" in out and "duplicate-alert: alert GoodAlert is defined in 2 " \
        "groups (group 'a' in dup.yml, group 'b' in dup.yml)" in out


def test_warnings_only_exit_0(tmp_path, capsys):
    """The shipped rules with an Alertmanager config that has an extra, empty receiver: a warning."""
    config = yaml.safe_load(layout.ALERTMANAGER_CONFIG.read_text())
    config["receivers"].append({"name": "void"})
    am = tmp_path / "alertmanager.yml"
    am.write_text(yaml.safe_dump(config))
    names = {r["alert"] for p in layout.shipped_rule_files() for g in yaml.safe_load(p.read_text())["groups"]
             for r in g["rules"]}
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "runbook.md").write_text("".join(f"## {n}\n\n" for n in sorted(names)))
    code = main(["lint", "--offline", "--alertmanager-config", str(am), "--runbook-root", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0
    assert out.splitlines() == ["policy: receiver void (alertmanager.yml): has no integration; alerts routed there "
                                "are dropped; fix: add a webhook_configs (or other) entry, or remove the receiver"]
    assert "0 broken, 0 suspicious, 1 policy" in err


def test_invalid_rule_file_is_one_line_and_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.yml"
    path.write_text("groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: sum(\n")
    assert main(["lint", "--offline", "--rules", str(path)]) == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("alertdrill: error: invalid rule file:") and "bad.yml" in err


def test_unreachable_prometheus_names_the_url(capsys):
    assert main(["lint", "--prometheus-url", "http://127.0.0.1:9"]) == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and "http://127.0.0.1:9" in err and "cannot connect" in err


def test_no_live_stack_still_checks_the_file_statically(tmp_path, capsys):
    path = tmp_path / "r.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [rule(expr="pg_up > 1")]}]}))
    assert main(["--home", str(tmp_path), "--name", "nothing-here", "lint", "--rules", str(path)]) == 1
    out, err = capsys.readouterr()
    assert "threshold-unreachable" in out
    skipped = [line for line in err.splitlines() if "skipped" in line]
    assert len(skipped) == 1 and "no reachable stack" in skipped[0] and "--prometheus-url" in skipped[0]
    assert "static checks only" in err
