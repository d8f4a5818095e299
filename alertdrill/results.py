"""What a chaos run produced, as typed objects, serialised to ``summary.json`` in this one place.

A :class:`DrillResult` per scenario (one :class:`AlertResult` per alert contract), gathered into a
:class:`RunSummary`. Every renderer (the text matrix, the HTML report, replays) reads these objects;
``to_json``/``from_json`` are the only functions that know the file's shape (pytest's
``_report_to_json`` is the model).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from alertdrill.errors import ConfigError
from alertdrill.steps import StepRecord

__all__ = ["AlertResult", "DrillResult", "FaultHold", "RunSummary", "TimelineRow"]


@dataclass
class AlertResult:
    """What one alert did in one scenario, measured against its deadlines (seconds)."""

    alert: str
    labels: dict[str, str]
    receiver: str | None
    #: The ideal pipeline's bounds, seconds from the injection to the notification (to firing for an
    #: alert not delivered by design): best = for + group_wait; worst = scrape + evaluation + what the
    #: expression waits for + for + one evaluation + group_wait (assertions/deadlines.py).
    best_case: float | None = None
    worst_case: float | None = None
    fired_after: float | None = None
    fire_deadline: float | None = None
    delivered_after: float | None = None
    deliver_deadline: float | None = None
    delivered_to: str | None = None
    inhibited: bool | None = None
    resolved_after: float | None = None
    resolve_deadline: float | None = None
    deadline_explanations: dict[str, str] = field(default_factory=dict)
    notification_labels: dict[str, str] = field(default_factory=dict)
    status: str = "not run"
    diagnosis: str | None = None
    #: One line: why the alert is broken (the rule's defect), when that is known.
    cause: str | None = None


@dataclass(frozen=True)
class FaultHold:
    """How long the fault was kept in effect, and why that long."""

    held_seconds: float
    required_seconds: float
    reason: str


@dataclass(frozen=True)
class TimelineRow:
    """One event of the drill's timeline; ``t`` in seconds from the injection (negative: before)."""

    t: float | None
    source: str
    kind: str
    alert: str | None = None
    labels: str = ""
    detail: str = ""


@dataclass
class DrillResult:
    """One scenario's run: the fault, its evidence and window, every alert's result, steps, timeline."""

    scenario: str
    component: str
    fault: str
    alerts: list[AlertResult]
    started: float
    params: dict[str, Any] = field(default_factory=dict)
    ended: float | None = None
    evidence: dict[str, Any] | None = None
    injected_at: float | None = None
    reverted_at: float | None = None
    status: str = "running"
    diagnosis: str | None = None
    steps: list[StepRecord] = field(default_factory=list)
    timeline: list[TimelineRow] = field(default_factory=list)
    silent_checked: list[str] = field(default_factory=list)
    fault_hold: FaultHold | None = None
    #: The client's view of the fault window (a LoadWindow's JSON) and the write-ledger check.
    load_during_fault: dict[str, Any] | None = None
    ledger: dict[str, Any] | None = None
    #: Alert names in the rules the run's Prometheus loaded (the report's coverage section).
    rule_alerts: list[str] = field(default_factory=list)
    #: The stack the drill ran on, and how long that stack took to start (for the suite's breakdown).
    stack: str = ""
    stack_startup_seconds: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DrillResult:
        """The result ``to_json`` wrote; unknown keys (a newer writer) are ignored."""
        if not isinstance(data, dict) or "scenario" not in data or not isinstance(data.get("alerts"), list):
            raise ConfigError("a drill result needs 'scenario' and 'alerts' (an entry of summary.json's 'results')")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["alerts"] = [_build(AlertResult, a) for a in data["alerts"]]
        values["steps"] = [StepRecord.from_dict(s) for s in data.get("steps") or []]
        values["timeline"] = [_build(TimelineRow, r) for r in data.get("timeline") or []]
        values["fault_hold"] = _build(FaultHold, data["fault_hold"]) if data.get("fault_hold") else None
        values.setdefault("component", "")
        values.setdefault("fault", "")
        values.setdefault("started", 0.0)
        return cls(**values)


def _build(cls: type, data: dict[str, Any]) -> Any:
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class RunSummary:
    """A whole chaos run: every drill result, the wall time and the time scale it ran at."""

    results: list[DrillResult]
    wall_seconds: float | None = None
    time_scale: float | None = None

    def to_json(self) -> dict[str, Any]:
        from alertdrill.matrix import matrix_rows

        return {"results": [r.to_json() for r in self.results], "wall_seconds": self.wall_seconds,
                "time_scale": self.time_scale, "matrix": [asdict(row) for row in matrix_rows(self.results)]}

    @classmethod
    def from_json(cls, data: Any) -> RunSummary:
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            raise ConfigError("a summary needs 'results' (the summary.json a chaos run writes)")
        return cls(results=[DrillResult.from_json(r) for r in data["results"]],
                   wall_seconds=data.get("wall_seconds"), time_scale=data.get("time_scale"))

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2, default=str))
        return path

    @classmethod
    def read(cls, path: Path) -> RunSummary:
        """The summary at ``path``; a missing or malformed file is one ConfigError line."""
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"no summary at {path}; run `pytest -m chaos` first or pass the right path") from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"summary {path} is not readable JSON ({exc}); pass the summary.json of a chaos run"
                              ) from None
        try:
            return cls.from_json(data)
        except (ConfigError, TypeError) as exc:
            raise ConfigError(f"summary {path}: {exc}") from None
