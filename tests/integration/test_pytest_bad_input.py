"""Bad input to `pytest -m chaos scenarios` ends the run with one line naming the problem."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _chaos(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "chaos", "scenarios", "-q", "-p", "no:cacheprovider",
         "--report-dir", str(tmp_path / "reports"), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "ALERTDRILL_STACK_NAME": "bad-input"},
    )


def test_invalid_candidate_rule_file(tmp_path):
    rules = tmp_path / "candidate.yml"
    rules.write_text("groups:\n  - name: g\n    rules:\n      - alert: X\n        expr: rate(up[5m]\n")
    result = _chaos("--rules", str(rules), "-k", "redis-down", tmp_path=tmp_path)
    assert result.returncode == 2
    lines = [line for line in (result.stdout + result.stderr).splitlines() if "alertdrill: error" in line]
    assert len(lines) == 1 and "invalid rule file" in lines[0] and "promtool check rules" in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_invalid_catalogue(tmp_path):
    catalogue = tmp_path / "catalogue.yml"
    catalogue.write_text("scenarios:\n  - id: x\n    component: nope\n")
    result = _chaos("--catalogue", str(catalogue), tmp_path=tmp_path)
    assert result.returncode == 4  # pytest's usage error
    assert "component 'nope' is not one of postgres, redis, app, monitoring" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_missing_rule_file(tmp_path):
    result = _chaos("--rules", str(tmp_path / "nope.yml"), "-k", "redis-down", tmp_path=tmp_path)
    assert result.returncode == 2
    assert "rule file(s) not found" in result.stdout + result.stderr
