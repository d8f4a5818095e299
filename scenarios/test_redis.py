"""Chaos scenarios for the redis alerts: one test per catalogue scenario with component 'redis'."""

import pytest

COMPONENT = "redis"
pytestmark = [pytest.mark.chaos, pytest.mark.redis]


def test_alert_contract(scenario, drill):
    """Baseline silent, fault proven, alert fires, is delivered, resolves, nothing lost."""
    result = drill()
    assert result.status == "passed", result.diagnosis
