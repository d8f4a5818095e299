"""What lint reports: one :class:`Finding` per problem, and the text helpers that keep its line short.

Every check returns Findings. A finding has a ``level`` (error/warning, kept for the checks' own
wording) and a ``severity`` that groups the output: **broken** (the rule can never fire, fires
falsely, or loses labels), **suspicious** (probably wrong, or wrong only in some states), and
**policy** (this project's conventions: runbook, ``service`` label, documented coverage). Root-cause
findings also name their ``kind`` (``threshold-unreachable``, ``rate-over-gauge``, ...: see
:mod:`alertdrill.diagnosis.kinds`). The helpers make lines stable (sorted label lists) and readable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

__all__ = ["LEVELS", "POLICY_CHECKS", "SEVERITIES", "Finding", "by_level", "by_severity", "listing", "shorten"]

#: Finding levels, most severe first.
LEVELS = ("error", "warning")
#: Severity groups, printed in this order.
SEVERITIES = ("broken", "suspicious", "policy")
#: Checks about this project's own conventions rather than whether a rule works.
POLICY_CHECKS = frozenset({"labels", "annotations", "runbook", "documented", "route", "receiver", "scenario"})


@dataclass(frozen=True)
class Finding:
    """One problem: ``rule`` is who has it (an alert, a receiver, a file), ``fix`` what to do.

    ``kind`` names a root cause (empty for policy checks); ``path``/``line`` locate the rule for CI
    annotations; ``origin`` is the Prometheus a live finding was computed from (empty: static).
    """

    level: str
    check: str
    rule: str
    problem: str
    fix: str
    source: str = ""
    kind: str = ""
    severity: str = ""
    path: str = ""
    line_no: int = 0
    origin: str = ""

    def __post_init__(self) -> None:
        if not self.severity:
            severity = ("policy" if self.check in POLICY_CHECKS else
                        "broken" if self.level == "error" else "suspicious")
            object.__setattr__(self, "severity", severity)

    def line(self) -> str:
        """The one line the CLI prints: who, where, what is wrong, what to do."""
        where = f" ({self.source}{':' + str(self.line_no) if self.line_no else ''})" if self.source else ""
        kind = f"{self.kind}: " if self.kind else ""
        live = f" [live: {self.origin}]" if self.origin else ""
        return f"{self.severity}: {self.rule}{where}: {kind}{self.problem}; fix: {self.fix}{live}"

    def annotation(self) -> str:
        """A GitHub Actions workflow command: one annotation on the rule's file and line."""
        level = {"broken": "error", "suspicious": "warning"}.get(self.severity, "notice")
        props = [f"file={_escape_property(self.path or self.source)}"] if (self.path or self.source) else []
        if self.line_no:
            props.append(f"line={self.line_no}")
        props.append(f"title={_escape_property(f'{self.severity} {self.kind or self.check}: {self.rule}')}")
        message = f"{self.problem}; fix: {self.fix}" + (f" (live: {self.origin})" if self.origin else "")
        return f"::{level} {','.join(props)}::{_escape_data(message)}"

    def to_dict(self) -> dict:
        return asdict(self)


def by_level(findings: Iterable[Finding]) -> list[Finding]:
    """Errors first; within a level the checks' own order stays (the sort is stable)."""
    return sorted(findings, key=lambda f: LEVELS.index(f.level))


def by_severity(findings: Iterable[Finding]) -> list[Finding]:
    """Broken first, then suspicious, then policy; the checks' own order within a group."""
    return sorted(findings, key=lambda f: SEVERITIES.index(f.severity))


def shorten(text: str, limit: int = 70) -> str:
    """``text`` on one line, cut to ``limit`` characters: a finding must stay one readable line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 3] + "..."


def listing(names: Iterable[str]) -> str:
    """``a, b, c`` sorted, or ``none``: the same labels always read the same way."""
    names = sorted(names)
    return ", ".join(names) if names else "none"


def _escape_data(text: str) -> str:
    """GitHub's escaping of a workflow command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """GitHub's escaping of a workflow command's property value."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")
