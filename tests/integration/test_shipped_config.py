"""The shipped configuration passes the upstream tools' own checks."""

import subprocess

import pytest
import yaml

from alertdrill.stack import layout
from alertdrill.stack.binaries import resolve


def _run(*argv, stdin=None):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, input=stdin)


def test_promtool_check_rules():
    result = _run(resolve("promtool"), "check", "rules", *map(str, layout.shipped_rule_files()))
    assert result.returncode == 0, result.stderr + result.stdout


def test_promtool_check_config(tmp_path):
    config = yaml.safe_load(layout.PROMETHEUS_CONFIG.read_text())
    config["rule_files"] = [str(p) for p in layout.shipped_rule_files()]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    result = _run(resolve("promtool"), "check", "config", str(path))
    assert result.returncode == 0, result.stderr + result.stdout


def test_amtool_check_config():
    result = _run(resolve("amtool"), "check-config", str(layout.ALERTMANAGER_CONFIG))
    assert result.returncode == 0, result.stderr + result.stdout


@pytest.mark.parametrize("labels,receiver", [
    (["alertname=RedisDown", "severity=critical", "instance=x"], "critical"),
    (["alertname=RedisOutOfMemory", "severity=warning", "instance=x"], "warning"),
    (["alertname=Unlabelled"], "warning"),
])
def test_amtool_routes_by_severity(labels, receiver):
    result = _run(resolve("amtool"), "config", "routes", "test", f"--config.file={layout.ALERTMANAGER_CONFIG}",
                  *labels)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == receiver


def test_every_rule_has_severity_service_and_runbook():
    problems = []
    for path in layout.shipped_rule_files():
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                labels, notes = rule.get("labels", {}), rule.get("annotations", {})
                if labels.get("severity") not in ("critical", "warning"):
                    problems.append(f"{rule['alert']}: severity")
                if not labels.get("service"):
                    problems.append(f"{rule['alert']}: service")
                if not {"summary", "description", "runbook_url"} <= set(notes):
                    problems.append(f"{rule['alert']}: annotations")
    assert problems == []


def test_every_seed_alert_has_a_rule():
    documented = {"PostgresNotResponding", "PostgresHighConnectionCount", "PostgreSQLSlowQueries", "PostgreSQLQPS",
                  "PostgreSQLCacheHitRatio", "PostgresqlExporterError", "PostgresqlTableNotVacuumed", "RedisDown",
                  "RedisOutOfMemory", "RedisTooManyConnections", "RedisNotEnoughConnections",
                  "RedisRejectedConnections", "monitor_service_down"}
    names = {r["alert"] for p in layout.shipped_rule_files() for g in yaml.safe_load(p.read_text())["groups"]
             for r in g["rules"]}
    assert documented <= names
    severities = {r["labels"]["severity"] for p in layout.shipped_rule_files()
                  for g in yaml.safe_load(p.read_text())["groups"] for r in g["rules"]
                  if r["alert"] == "PostgresHighConnectionCount"}
    assert severities == {"warning", "critical"}
