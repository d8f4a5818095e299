"""Chaos scenarios for the app alerts: one test per catalogue scenario with component 'app'."""

import pytest

COMPONENT = "app"
pytestmark = [pytest.mark.chaos, pytest.mark.app]


def test_alert_contract(scenario, drill):
    """Baseline silent, fault proven, alert fires, is delivered, resolves, nothing lost."""
    result = drill()
    assert result.status == "passed", result.diagnosis
