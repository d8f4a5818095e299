"""Run the promtool unit tests of the shipped rules, and make sure every shipped alert has one.

The ``*.test.yml`` files next to this module exercise the rules at production timing (``for``,
windows, thresholds at their boundaries, series that vanish). They reference the shipped rule files
by a path relative to the test file, so a changed rule is tested as shipped, never a copy.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from alertdrill.stack import layout
from alertdrill.stack.binaries import resolve

HERE = Path(__file__).resolve().parent
TEST_FILES = sorted(HERE.glob("*.test.yml"))


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) or {}


@pytest.mark.parametrize("test_file", TEST_FILES, ids=[p.name for p in TEST_FILES])
def test_promtool_unit_tests_pass(test_file: Path) -> None:
    result = subprocess.run([resolve("promtool"), "test", "rules", test_file.name], cwd=HERE,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"promtool test rules {test_file.name} failed:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("test_file", TEST_FILES, ids=[p.name for p in TEST_FILES])
def test_test_files_load_the_shipped_rules(test_file: Path) -> None:
    """A test of a copied rule file proves nothing about the rule that ships."""
    shipped = {p.resolve() for p in layout.shipped_rule_files()}
    loaded = [(test_file.parent / p).resolve() for p in _load(test_file).get("rule_files", [])]
    assert loaded, f"{test_file.name} loads no rule file"
    foreign = [str(p) for p in loaded if p not in shipped]
    assert foreign == [], f"{test_file.name} loads rule files that are not shipped"


def _shipped_alerts() -> set[tuple[str, str]]:
    return {(rule["alert"], rule.get("labels", {}).get("severity", ""))
            for path in layout.shipped_rule_files() for group in _load(path).get("groups", [])
            for rule in group.get("rules", []) if "alert" in rule}


def _alerts_proven_to_fire() -> set[tuple[str, str]]:
    """(alertname, severity) of every alert some test case expects to be firing."""
    found = set()
    for path in TEST_FILES:
        for group in _load(path).get("tests", []):
            for case in group.get("alert_rule_test", []):
                for alert in case.get("exp_alerts") or []:
                    found.add((case["alertname"], str((alert.get("exp_labels") or {}).get("severity", ""))))
    return found


def test_every_shipped_alert_has_a_firing_test_case() -> None:
    missing = sorted(_shipped_alerts() - _alerts_proven_to_fire())
    assert missing == [], f"shipped alerts (name, severity) without a promtool test case that fires them: {missing}"


def test_tests_name_no_unknown_alert() -> None:
    """A test case for a renamed alert would pass vacuously (expecting nothing, getting nothing)."""
    names = {name for name, _ in _shipped_alerts()}
    tested = {case["alertname"] for path in TEST_FILES for group in _load(path).get("tests", [])
              for case in group.get("alert_rule_test", [])}
    assert sorted(tested - names) == []
