"""Small rule files for the lint tests: a rule that lints clean, and variations of it."""

from __future__ import annotations

RUNBOOK = "# Runbook\n\n## GoodAlert\n\nWhat to do.\n\n## monitor_service_down\n"


def rule(name: str = "GoodAlert", expr: str = "up == 0", **overrides) -> dict:
    """A rule that lints clean against :data:`RUNBOOK`; ``overrides`` replace or (None) drop keys."""
    raw = {
        "alert": name, "expr": expr, "for": "1m",
        "labels": {"severity": "critical", "service": "monitoring"},
        "annotations": {"summary": "{{ $labels.job }} is down", "runbook_url": f"docs/runbook.md#{name.lower()}"},
    }
    for key, value in overrides.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    return raw
