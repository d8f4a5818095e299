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


def test_offline_findings_exit_1_one_line_each(write_rules, project, capsys):
    path = write_rules(rule(labels={"severity": "critical"}), rule(name="monitor_service_down"))
    code = main(["lint", "--offline", "--rules", str(path), "--runbook-root", str(project)])
    out, err = capsys.readouterr()
    assert code == 1
    lines = out.splitlines()
    assert "error: GoodAlert[critical] (rules1.yml): no service label; fix: set labels.service" in lines[0]
    assert all(line.startswith(("error: ", "warning: ")) and "; fix: " in line for line in lines)
    assert "error(s)" in err and "offline" in err


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
    assert out.splitlines() == ["warning: receiver void (alertmanager.yml): has no integration; alerts routed there "
                                "are dropped; fix: add a webhook_configs (or other) entry, or remove the receiver"]
    assert "0 error(s), 1 warning(s)" in err


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


def test_no_live_stack_says_how_to_go_on(tmp_path, capsys):
    assert main(["--home", str(tmp_path), "--name", "nothing-here", "lint"]) == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and "--prometheus-url" in err and "--offline" in err
