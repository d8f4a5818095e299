"""Chaos scenarios for the postgres alerts: one test per catalogue scenario with component 'postgres'."""

import pytest

COMPONENT = "postgres"
pytestmark = [pytest.mark.chaos, pytest.mark.postgres]


def test_alert_contract(scenario, drill):
    """Baseline silent, fault proven, alert fires, is delivered, resolves, nothing lost."""
    result = drill()
    assert result.status == "passed", result.diagnosis
