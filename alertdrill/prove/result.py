"""What ``prove`` found for one rule, and what that makes of each alert's coverage.

:class:`ProofResult` is the one typed record between the search and everything that shows it (the
CLI, the pytest session, the report's coverage section); :func:`alert_coverage` combines it with the
alerts a drill proved end to end.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["AlertCoverage", "CoverageKind", "ProofResult", "Verdict", "alert_coverage"]


class Verdict(enum.StrEnum):
    """fireable: an input made it fire and then resolve; cannot-fire: no input in the search made the
    expression true; always-fires: it is true on every input in the search, or never resolves once fired;
    undecided: the search could not be run (an expression it cannot synthesise inputs for)."""

    FIREABLE = "fireable"
    CANNOT_FIRE = "cannot-fire"
    ALWAYS_FIRES = "always-fires"
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class ProofResult:
    """The verdict on one alerting rule, why, the smallest evidence, and the promtool proof written."""

    alert: str
    severity: str
    verdict: Verdict
    reason: str = ""
    evidence: tuple[str, ...] = ()
    candidates_tried: int = 0
    series: int = 0
    seconds: float = 0.0
    test_file: Path | None = None
    rule_file: Path | None = None

    @property
    def title(self) -> str:
        """``Name[severity]``, as lint names a rule: two rules may share a name."""
        return f"{self.alert}[{self.severity or 'no severity'}]"

    @property
    def proven(self) -> bool:
        return self.verdict is Verdict.FIREABLE

    def line(self) -> str:
        """One line for the terminal: the verdict, then the reason or the proof file."""
        if self.proven:
            where = f" -> {self.test_file}" if self.test_file else ""
            return (f"{self.verdict.value:<12} {self.title}: fires and resolves on {self.series} synthesized "
                    f"series ({self.candidates_tried} candidate(s), {self.seconds:.1f}s){where}")
        evidence = "".join(f"\n    evidence: {e}" for e in self.evidence)
        return f"{self.verdict.value:<12} {self.title}: {self.reason}{evidence}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict.value
        data["evidence"] = list(self.evidence)
        data["test_file"] = str(self.test_file) if self.test_file else None
        data["rule_file"] = str(self.rule_file) if self.rule_file else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProofResult:
        return cls(alert=str(data["alert"]), severity=str(data.get("severity") or ""),
                   verdict=Verdict(data["verdict"]), reason=str(data.get("reason") or ""),
                   evidence=tuple(data.get("evidence") or ()), candidates_tried=int(data.get("candidates_tried") or 0),
                   series=int(data.get("series") or 0), seconds=float(data.get("seconds") or 0.0),
                   test_file=Path(data["test_file"]) if data.get("test_file") else None,
                   rule_file=Path(data["rule_file"]) if data.get("rule_file") else None)


class CoverageKind(enum.StrEnum):
    DRILL = "proven by a drill"
    SYNTHESIS = "proven by synthesis only"
    CANNOT_FIRE = "cannot fire"
    ALWAYS_FIRES = "always fires"
    UNPROVEN = "unproven"

    @property
    def acceptable(self) -> bool:
        """What ``--strict-coverage`` accepts: a drill or a synthesized proof."""
        return self in (CoverageKind.DRILL, CoverageKind.SYNTHESIS)


@dataclass(frozen=True)
class AlertCoverage:
    alert: str
    kind: CoverageKind
    reason: str = ""
    rules: tuple[str, ...] = field(default_factory=tuple)

    def line(self) -> str:
        return f"{self.alert}: {self.kind.value}" + (f" ({self.reason})" if self.reason else "")


def alert_coverage(alerts: Iterable[str], proofs: Iterable[ProofResult],
                   drilled: Iterable[str] = ()) -> dict[str, AlertCoverage]:
    """Per alert name: a drill proves it end to end; else every rule of that name proven by synthesis;
    else the first rule that cannot fire or always fires, with its reason; else unproven."""
    by_name: dict[str, list[ProofResult]] = {}
    for proof in proofs:
        by_name.setdefault(proof.alert, []).append(proof)
    drilled = set(drilled)
    out: dict[str, AlertCoverage] = {}
    for alert in sorted(set(alerts)):
        found = by_name.get(alert, [])
        titles = tuple(p.title for p in found)
        if alert in drilled:
            out[alert] = AlertCoverage(alert, CoverageKind.DRILL, rules=titles)
            continue
        broken = [p for p in found if p.verdict in (Verdict.CANNOT_FIRE, Verdict.ALWAYS_FIRES)]
        if broken:
            kind = CoverageKind.CANNOT_FIRE if broken[0].verdict is Verdict.CANNOT_FIRE else CoverageKind.ALWAYS_FIRES
            out[alert] = AlertCoverage(alert, kind, f"{broken[0].title}: {broken[0].reason}", titles)
        elif found and all(p.proven for p in found):
            out[alert] = AlertCoverage(alert, CoverageKind.SYNTHESIS, rules=titles)
        else:
            why = "; ".join(f"{p.title}: {p.reason}" for p in found if not p.proven) or "no proof ran"
            out[alert] = AlertCoverage(alert, CoverageKind.UNPROVEN, why, titles)
    return out
