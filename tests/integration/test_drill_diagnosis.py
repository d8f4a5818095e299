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
def _scenario(sid: str, component: str, alert: str, severity: str, silent: tuple[str, ...] = ()) -> dict:
    return {"id": sid, "component": component, "instance": f"{component}_exporter",
            "fault": {"kind": "service-stop", "component": component},
            "alerts": [{"name": alert, "labels": {"severity": severity}, "receiver": severity}],
            "silent": list(silent)}


#: corpus file -> (scenario mapping its alert to a real fault, the alert diagnosed, the kind it must name)
CASES = {
    "threshold-unreachable-1.yml": (_scenario("diag-postgres-flag", "postgres", "PostgresDownFlag", "critical"),
                                    "PostgresDownFlag", "threshold-unreachable"),
    "dead-selector-1.yml": (_scenario("diag-redis-clients", "redis", "RedisClientsHigh", "warning"),
                            "RedisClientsHigh", "dead-selector"),
    # Postgres stopped: the "down" alert fires as it must, and the unguarded exporter-error alert fires
    # with it; the must-stay-silent failure is diagnosed on the alert that should have kept quiet.
    "co-firing-1.yml": (_scenario("diag-postgres-cofiring", "postgres", "PostgresDownSlowly", "critical",
                                  silent=("PostgresExporterFailing",)), "PostgresExporterFailing", "co-firing"),
}
#: The co-firing drill's expected alert: `for: 5m` (5 s scaled) keeps the fault in effect long enough
#: for the exporter's error flag, which follows pg_up by one scrape, to fire too.
DOWN_SLOWLY = {"groups": [{"name": "down-slowly", "rules": [{
    "alert": "PostgresDownSlowly", "expr": "pg_up == 0", "for": "5m",
    "labels": {"severity": "critical", "service": "postgres"}, "annotations": {"summary": "Postgres is down"}}]}]}


@pytest.fixture(scope="module")
def chaos_run(tmp_path_factory):
    """One `pytest -m chaos` session over the defective files (one stack start for every drill)."""
    tmp = tmp_path_factory.mktemp("diagnosed-drills")
    catalogue = tmp / "catalogue.yml"
    catalogue.write_text(yaml.safe_dump({"scenarios": [case[0] for case in CASES.values()]}, sort_keys=False))
    down = tmp / "down-slowly.yml"
    down.write_text(yaml.safe_dump(DOWN_SLOWLY, sort_keys=False))
    files = [down, *(CORPUS / name for name in CASES)]
    rules = [arg for path in files for arg in ("--rules", str(path))]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "chaos", "scenarios", "-p", "no:cacheprovider", "-rA",
         "--no-strict-coverage",
         "--catalogue", str(catalogue), *rules, "--report-dir", str(tmp / "reports"),
         "-k", " or ".join(case[0]["id"] for case in CASES.values())],
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
    scenario, alert, kind = CASES[name]
    sid = scenario["id"]
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
    causes = {row["scenario"]: row["cause"] for row in summary["matrix"]}
    for scenario, _, kind in CASES.values():
        assert causes[scenario["id"]].startswith(f"{kind}: "), causes
