"""The summary matrix: alert x fired / delivered / resolved, each measured time against its deadline.

One model (:class:`MatrixRow`) built from the drill results; the terminal prints it as text
(:func:`format_text`) and the report renders the same rows as HTML (alertdrill/report/matrix.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from alertdrill.results import AlertResult, DrillResult

__all__ = ["HIDDEN_LABELS", "MatrixRow", "Timing", "format_text", "matrix_rows", "shown_labels"]

#: Labels every row of a scenario shares (they repeat the scenario), left out of the alert column.
HIDDEN_LABELS = frozenset({"service", "instance"})


def shown_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """The labels that tell a scenario's alert contracts apart."""
    return {k: v for k, v in sorted(labels.items()) if k not in HIDDEN_LABELS}


@dataclass(frozen=True)
class Timing:
    """A measured time (seconds after its anchor) against its deadline."""

    measured: float | None
    deadline: float | None

    @property
    def late(self) -> bool:
        return self.measured is not None and self.deadline is not None and self.measured > self.deadline

    def text(self) -> str:
        if self.measured is None:
            return "-"
        if self.deadline is None:
            return f"{self.measured:.1f}s"
        return f"{self.measured:.1f}s/{self.deadline:.1f}s {'LATE' if self.late else 'ok'}"


@dataclass(frozen=True)
class MatrixRow:
    """One alert contract of one scenario."""

    scenario: str
    alert: str
    labels: dict[str, str]
    receiver: str | None
    fired: Timing
    delivered: Timing
    #: Why there is no delivery time: "inhibited", "n/a" (not delivered by design); empty otherwise.
    delivered_note: str
    resolved: Timing
    theoretical_min: float | None
    status: str
    diagnosis: str | None
    cause: str | None

    @property
    def title(self) -> str:
        inner = ",".join(f"{k}={v}" for k, v in self.labels.items())
        return f"{self.alert}{{{inner}}}" if inner else self.alert

    @property
    def passed(self) -> bool:
        return self.status == "passed"


def _row(result: DrillResult, alert: AlertResult) -> MatrixRow:
    note = "" if alert.receiver else ("inhibited" if alert.inhibited else "n/a")
    return MatrixRow(
        scenario=result.scenario, alert=alert.alert, labels=shown_labels(alert.labels), receiver=alert.receiver,
        fired=Timing(alert.fired_after, alert.fire_deadline),
        delivered=Timing(alert.delivered_after, alert.deliver_deadline), delivered_note=note,
        resolved=Timing(alert.resolved_after, alert.resolve_deadline), theoretical_min=alert.theoretical_min,
        status=alert.status if alert.status != "not run" else result.status, diagnosis=alert.diagnosis,
        cause=alert.cause,
    )


def matrix_rows(results: Iterable[DrillResult]) -> list[MatrixRow]:
    """Every alert contract of every result, in run order."""
    return [_row(result, alert) for result in results for alert in result.alerts]


def format_text(rows: list[MatrixRow], *, wall_seconds: float | None = None) -> str:
    """The matrix for the terminal, with a closing count (and the run's wall time)."""
    if not rows:
        return "alertdrill: no scenario ran"
    headers = ("scenario", "alert", "fired (measured/deadline)", "delivered", "resolved", "theoretical min",
               "status")
    table = [(r.scenario, r.title, r.fired.text(), r.delivered_note or r.delivered.text(), r.resolved.text(),
              "-" if r.theoretical_min is None else f"{r.theoretical_min:.1f}s",
              r.status + (f": {r.cause}" if r.cause and not r.passed else "")) for r in rows]
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table]
    passed = sum(r.passed for r in rows)
    tail = f"{passed}/{len(rows)} alert contracts passed"
    if wall_seconds is not None:
        tail += f" in {wall_seconds:.0f}s wall time ({wall_seconds / 60:.1f} min)"
    lines.append(tail)
    return "\n".join(lines)
