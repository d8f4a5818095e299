"""The summary matrix: alert x fired / delivered / resolved, each measured time against its deadline.

Next to them, the ideal pipeline's bounds for the alert: the best case (``for`` + ``group_wait``) and
the worst case (scrape + evaluation + what the expression waits for + ``for`` + one evaluation +
``group_wait``); a measured delivery normally lies between them, and the deadline is the worst case
plus the scrape's own duration and slack.

One model (:class:`MatrixRow`) built from the drill results; the terminal prints it as text
(:func:`format_text`) and the report renders the same rows as HTML (alertdrill/report/matrix.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # results.py writes the matrix into summary.json: types only, no import cycle
    from alertdrill.results import AlertResult, DrillResult

__all__ = ["HIDDEN_LABELS", "Bounds", "MatrixRow", "Timing", "format_text", "matrix_rows", "shown_labels"]

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
class Bounds:
    """The ideal pipeline's best and worst case (seconds from the injection) for one alert."""

    best: float | None
    worst: float | None

    def text(self) -> str:
        if self.best is None or self.worst is None:
            return "-"
        return f"{self.best:.1f}..{self.worst:.1f}s"

    def place(self, measured: float | None) -> str:
        """Where ``measured`` lies: "below best", "within", "above worst" (or "" when unknown)."""
        if measured is None or self.best is None or self.worst is None:
            return ""
        return "below best" if measured < self.best else ("above worst" if measured > self.worst else "within")


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
    #: To the notification; to firing for an alert not delivered by design (see AlertResult).
    bounds: Bounds
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

    @property
    def bounded(self) -> Timing:
        """The measured time the bounds are about: the delivery, or firing when nothing is delivered."""
        return self.fired if self.delivered_note else self.delivered


def _row(result: DrillResult, alert: AlertResult) -> MatrixRow:
    note = "" if alert.receiver else ("inhibited" if alert.inhibited else "n/a")
    return MatrixRow(
        scenario=result.scenario, alert=alert.alert, labels=shown_labels(alert.labels), receiver=alert.receiver,
        fired=Timing(alert.fired_after, alert.fire_deadline),
        delivered=Timing(alert.delivered_after, alert.deliver_deadline), delivered_note=note,
        resolved=Timing(alert.resolved_after, alert.resolve_deadline), bounds=Bounds(alert.best_case, alert.worst_case),
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
    headers = ("scenario", "alert", "fired (measured/deadline)", "delivered", "resolved", "best..worst case",
               "status")
    table = [(r.scenario, r.title, r.fired.text(), r.delivered_note or r.delivered.text(), r.resolved.text(),
              r.bounds.text(), r.status + (f": {r.cause}" if r.cause and not r.passed else "")) for r in rows]
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table]
    passed = sum(r.passed for r in rows)
    tail = f"{passed}/{len(rows)} alert contracts passed"
    if wall_seconds is not None:
        tail += f" in {wall_seconds:.0f}s wall time ({wall_seconds / 60:.1f} min)"
    lines.append("best..worst case: the ideal pipeline from injection to notification (to firing when not "
                 "delivered); the deadline adds the scrape's duration and slack")
    lines.append(tail)
    return "\n".join(lines)
