"""Helpers for the lint tests: small rule files and Alertmanager configs written into tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from linttest_support import RUNBOOK


@pytest.fixture
def write_rules(tmp_path: Path):
    """``write_rules(rule(...), ...)`` -> path of a rule file holding those rules."""
    count = [0]

    def write(*rules: dict) -> Path:
        count[0] += 1
        path = tmp_path / f"rules{count[0]}.yml"
        path.write_text(yaml.safe_dump({"groups": [{"name": "test", "rules": list(rules)}]}, sort_keys=False))
        return path

    return write


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project root with docs/runbook.md that has sections for GoodAlert and monitor_service_down."""
    root = tmp_path / "project"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "runbook.md").write_text(RUNBOOK)
    return root
