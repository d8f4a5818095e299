"""The diagnosis a failed drill starts with: which rule to diagnose for the step that failed.

Kept apart from :mod:`alertdrill.drill` so the drill's failure path stays one marked call: a
must-stay-silent failure diagnoses the alerts that fired; any other step the alert under contract.
"""

from __future__ import annotations

import re
from typing import Any

from alertdrill.diagnosis.diagnose import Diagnosis, diagnose_rule

__all__ = ["diagnose_failure"]


def diagnose_failure(scenario: Any, step: str, alert: str, prometheus: Any, message: str) -> Diagnosis:
    """The root cause of a drill that failed at ``step`` on ``alert``; ``message`` is the failure's text
    (it names the silent alerts that fired). Never raises: an unreachable Prometheus is in the result."""
    names = [alert]
    if step == "silent":
        fired = [n for n in scenario.silent if re.search(rf"\b{re.escape(n)}\b", message)]
        names = fired or names
    diagnoses = [diagnose_rule(name, prometheus, scenario=scenario, step=step) for name in names]
    if len(diagnoses) == 1:
        return diagnoses[0]
    return Diagnosis(", ".join(names), tuple(f for d in diagnoses for f in d.findings), diagnoses[0].origin,
                     "; ".join(d.skipped for d in diagnoses if d.skipped), dict(diagnoses[0].context))
