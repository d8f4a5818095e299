"""How a scenario is filed in Allure: epic = component, feature = alert, severity, runbook link.

Reviewers browse the report by component and alert, and sort by what pages someone: the rule's own
``severity`` label decides the Allure severity, so the report ranks alerts the way on-call does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["SEVERITY", "RunbookLink", "allure_severity", "runbook_link"]

#: Rule severity label -> Allure severity level name (``allure.severity_level`` values).
SEVERITY = {"critical": "critical", "page": "critical", "error": "critical", "warning": "normal",
            "info": "minor", "none": "trivial"}
_RANK = ["trivial", "minor", "normal", "critical", "blocker"]


def allure_severity(rule_severities: Iterable[str | None]) -> str:
    """The most urgent Allure severity among the rules' ``severity`` labels (unknown -> normal)."""
    levels = [SEVERITY.get((s or "").lower(), "normal") for s in rule_severities]
    return max(levels, key=_RANK.index) if levels else "normal"


@dataclass(frozen=True)
class RunbookLink:
    """A runbook entry: ``url`` as the rule's annotation says, ``name`` shown in the report."""

    alert: str
    url: str
    name: str


_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def runbook_link(alert: str, annotations: Mapping[str, str]) -> RunbookLink | None:
    """The ``runbook_url`` annotation as a link, or None when the rule has none.

    A relative URL (``docs/runbook.md#redisdown``) is kept as written; the report command points it at
    the runbook page it renders next to the report, so the link works offline.
    """
    url = (annotations.get("runbook_url") or annotations.get("runbook") or "").strip()
    if not url:
        return None
    anchor = url.split("#", 1)[1] if "#" in url else ""
    name = f"runbook: {alert}" + (f" (#{anchor})" if anchor and not _SCHEME.match(url) else "")
    return RunbookLink(alert=alert, url=url, name=name)
