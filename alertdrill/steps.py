"""Every step of a drill leaves a record: name, UTC start and end, status, detail, exception.

Records make the timeline, the summary and the report; nothing is reconstructed from logs. When
allure-pytest is active the same step is also an Allure step, so the HTML report shows it nested.
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
    name: str
    started: float
    ended: float | None = None
    status: str = "running"
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _allure_step(title: str):
    try:
        import allure
    except ImportError:  # pragma: no cover - allure-pytest is a dependency, but the core works without it
        return contextlib.nullcontext()
    return allure.step(title)


class StepRecorder:
    """Records steps in order; ``with recorder.step("inject"):`` marks passed, failed or broken."""

    def __init__(self) -> None:
        self.records: list[StepRecord] = []

    @contextlib.contextmanager
    def step(self, name: str, **detail: Any) -> Iterator[StepRecord]:
        record = StepRecord(name=name, started=time.time(), detail=dict(detail))
        self.records.append(record)
        try:
            with _allure_step(name):
                yield record
        except AssertionError as exc:
            record.status, record.error = "failed", str(exc)
            raise
        except BaseException as exc:
            record.status, record.error = "broken", f"{type(exc).__name__}: {exc}"
            raise
        else:
            record.status = "passed"
        finally:
            record.ended = time.time()

    def to_list(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.records]
