"""Say why: the root cause of a broken alerting rule, as a named finding kind with evidence and fix.

Used by ``alertdrill lint`` (every rule of a file) and by every failed drill (the rule that failed).

    kinds     the finding kinds and their severity
    metrics   metric types (Prometheus metadata, naming conventions) and value domains
    static    checks on the parsed expression: matching, counter/gauge misuse, thresholds,
              timestamp ages, labels lost by aggregation, co-firing
    live      checks on current values: true at baseline, timestamps that are 0 for "never"
    diagnose  Diagnosis, diagnose_rule() for a drill, diagnose_rules() for lint
"""

from __future__ import annotations

from alertdrill.diagnosis.diagnose import Diagnosis, diagnose_rule, diagnose_rules, needed_labels
from alertdrill.diagnosis.kinds import KINDS

__all__ = ["KINDS", "Diagnosis", "diagnose_rule", "diagnose_rules", "needed_labels"]
