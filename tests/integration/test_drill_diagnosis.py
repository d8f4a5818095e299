"""Drills against a defective rule file fail with the rule's root cause at the top of the failure.

`pytest -m chaos scenarios --rules FILE --catalogue MAPPING` as a team runs it for a candidate rule
file: the catalogue maps the file's alerts to real faults of the native stack. Each drill must fail,
and its failure must start with the diagnosis (finding kind, evidence, fix) before today's detail;
the summary matrix carries the one-line cause.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "rule_corpus" / "defective"
#: corpus file -> the scenario that maps its alert to a fault, and the kind the failure must name
CASES = {
    "threshold-unreachable-1.yml": ("diag-postgres-down", "PostgresDownFlag", "threshold-unreachable",
                                    {"kind": "stop", "component": "postgres"}, "postgres", "postgres_exporter",
                                    "critical"),
    "dead-selector-1.yml": ("diag-redis-clients", "RedisClientsHigh", "dead-selector",
                            {"kind": "stop", "component": "redis"}, "redis", "redis_exporter", "warning"),
}


@pytest.fixture(scope="module")
def chaos_run(tmp_path_factory):
    """One `pytest -m chaos` session over both defective files (one stack start for both drills)."""
    tmp = tmp_path_factory.mktemp("diagnosed-drills")
    scenarios = []
    for sid, alert, _, fault, component, instance, severity in CASES.values():
        scenarios.append({"id": sid, "component": component, "instance": instance, "fault": fault,
                          "alerts": [{"name": alert, "labels": {"severity": severity}, "receiver": severity}]})
    catalogue = tmp / "catalogue.yml"
    catalogue.write_text(yaml.safe_dump({"scenarios": scenarios}, sort_keys=False))
    rules = [arg for name in CASES for arg in ("--rules", str(CORPUS / name))]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "chaos", "scenarios", "-p", "no:cacheprovider", "-rA",
         "--catalogue", str(catalogue), *rules, "--report-dir", str(tmp / "reports"),
         "-k", " or ".join(case[0] for case in CASES.values())],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "ALERTDRILL_STACK_NAME": "diagnosed-drills"})
    return result, tmp / "reports"


def _failure_of(output: str, sid: str) -> str:
    """The failure section pytest printed for the scenario ``sid``."""
    marker = f"test_alert_contract[{sid}]"
    start = output.index(marker, output.index("= FAILURES ="))
    end = output.find("\n____", start)
    return output[start:end if end > 0 else None]


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_failure_starts_with_the_finding_kind(chaos_run, name):
    result, _ = chaos_run
    sid, alert, kind, *_ = CASES[name]
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    failure = _failure_of(result.stdout, sid)
    lines = [line[1:].strip() for line in failure.splitlines() if line.startswith("E ")]
    assert lines, failure[-2000:]
    head = "\n".join(lines[:4])
    assert re.match(rf"\S*ExpectationError: diagnosis of {alert} \(live checks against Prometheus 127\.0\.0\.1:\d+\):$",
                    lines[0]), head
    assert lines[1].startswith(f"broken {kind}: ") and lines[2].startswith("fix: "), head


def test_the_summary_carries_a_one_line_cause(chaos_run):
    _, reports = chaos_run
    summary = json.loads((reports / "summary.json").read_text())
    causes = {row["alert"].split("{")[0]: row["cause"] for row in summary["matrix"]}
    for _, alert, kind, *_ in CASES.values():
        assert causes[alert].startswith(f"{kind}: "), causes
