"""How lint's findings are shown: text grouped by severity, JSON, or GitHub annotations; and the exit status.

Policy findings are this project's conventions (runbook, ``service`` label, documented coverage). On
another team's rule file they would drown the real problems, so unless asked for (``--policy``, or
the shipped rules themselves) they are one summary line and do not change the exit status.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from alertdrill.lint.findings import SEVERITIES, Finding, by_severity

__all__ = ["EXIT_BROKEN", "EXIT_CLEAN", "EXIT_POLICY", "FORMATS", "LintReport"]

FORMATS = ("text", "json", "github")
EXIT_CLEAN = 0
EXIT_BROKEN = 1
#: 2 is the CLI's "unusable input" (an invalid rule file, an unreachable --prometheus-url).
EXIT_POLICY = 3


@dataclass(frozen=True)
class LintReport:
    """The findings of one lint run and what to show of them."""

    findings: tuple[Finding, ...]
    show_policy: bool
    live: str  # "live checks against URL" or why they were skipped

    @classmethod
    def of(cls, findings: Sequence[Finding], *, show_policy: bool, live: str) -> LintReport:
        return cls(tuple(by_severity(findings)), show_policy, live)

    def count(self, severity: str) -> int:
        return sum(f.severity == severity for f in self.findings)

    @property
    def shown(self) -> list[Finding]:
        return [f for f in self.findings if self.show_policy or f.severity != "policy"]

    @property
    def exit_status(self) -> int:
        """1 with any broken finding, 3 with shown policy errors only, else 0 (suspicious findings and policy
        warnings do not fail)."""
        if self.count("broken"):
            return EXIT_BROKEN
        if self.show_policy and any(f.severity == "policy" and f.level == "error" for f in self.findings):
            return EXIT_POLICY
        return EXIT_CLEAN

    def hidden_policy_line(self) -> str | None:
        hidden = 0 if self.show_policy else self.count("policy")
        if not hidden:
            return None
        return (f"policy: {hidden} finding(s) about this project's own conventions (runbook, service label, "
                "documented alerts) not shown for a rule file that is not the shipped one; show them with --policy")

    def summary(self) -> str:
        counts = ", ".join(f"{self.count(s)} {s}" for s in SEVERITIES)
        return f"alertdrill lint: {counts}; {self.live}"

    def render(self, fmt: str) -> str:
        """The standard output for ``fmt`` (text, json or github)."""
        if fmt == "json":
            return json.dumps({"findings": [f.to_dict() for f in self.shown],
                               "counts": {s: self.count(s) for s in SEVERITIES},
                               "policy_hidden": not self.show_policy and self.count("policy") > 0,
                               "live": self.live, "exit_status": self.exit_status}, indent=2)
        if fmt == "github":
            return "\n".join(f.annotation() for f in self.shown)
        lines = [f.line() for f in self.shown]
        hidden = self.hidden_policy_line()
        if hidden:
            lines.append(hidden)
        return "\n".join(lines)
