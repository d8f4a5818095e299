"""Every step leaves a record: name, start and end (unix seconds), status, detail, error.

One record type for the drill's steps and each fault's own (inject, prove, revert, expire). Records
make the timeline, the summary and the report; nothing is reconstructed from logs. When allure-pytest
is active a drill step is also an Allure step, so the HTML report shows it nested.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["StepRecord", "StepRecorder"]


@dataclass
class StepRecord:
    """One step; ``status`` is running, passed, failed (an expectation) or broken (anything else)."""

    name: str
    started: float
    ended: float | None = None
    status: str = "running"
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def duration(self) -> float | None:
        return None if self.ended is None else round(self.ended - self.started, 3)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepRecord:
        return cls(**{k: data[k] for k in ("name", "started", "ended", "status", "detail", "error") if k in data})


def _allure_step(title: str):
    try:
        import allure
    except ImportError:  # pragma: no cover - allure-pytest is a dependency, but the core works without it
        return contextlib.nullcontext()
    return allure.step(title)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class StepRecorder:
    """Records steps in order; ``with recorder.step("inject"):`` marks passed, failed or broken.

    ``allure=False`` keeps the records out of the Allure report (a fault's own steps, which the
    drill's step already shows).
    """

    def __init__(self, *, allure: bool = True) -> None:
        self.records: list[StepRecord] = []
        self._allure = allure

    def add(self, name: str, *, status: str, **detail: Any) -> StepRecord:
        """Record an instantaneous step (e.g. a watchdog that fired)."""
        now = time.time()
        record = StepRecord(name=name, started=now, ended=now, status=status, detail=dict(detail))
        self.records.append(record)
        return record

    @contextlib.contextmanager
    def step(self, name: str, **detail: Any) -> Iterator[StepRecord]:
        record = StepRecord(name=name, started=time.time(), detail=dict(detail))
        self.records.append(record)
        try:
            with _allure_step(name) if self._allure else contextlib.nullcontext():
                yield record
        except AssertionError as exc:
            record.status, record.error = "failed", _one_line(exc)
            raise
        except BaseException as exc:
            record.status, record.error = "broken", f"{type(exc).__name__}: {_one_line(exc)}"
            raise
        else:
            record.status = "passed"
        finally:
            record.ended = time.time()

    def to_list(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.records]
