"""Chaos scenarios for the monitoring alerts: one test per catalogue scenario with component 'monitoring'."""

import pytest

COMPONENT = "monitoring"
pytestmark = [pytest.mark.chaos, pytest.mark.monitoring]


def test_alert_contract(scenario, drill):
    """Baseline silent, fault proven, alert fires, is delivered, resolves, nothing lost."""
    result = drill()
    assert result.status == "passed", result.diagnosis
