"""Recorded series on the evaluation grid, written in promtool's ``input_series`` notation.

A range query with ``step`` = the rule group's evaluation interval is the down-sampling: at each step
Prometheus returns the latest raw sample (within the lookback), which is exactly what an evaluation
at that instant saw. Where the live series had no value, the replay must not have one either: the
first missing step becomes ``stale`` (a bare gap would let promtool's 5 m lookback repeat the last
value), later ones ``_``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from alertdrill.errors import ConfigError

__all__ = ["Grid", "encode_values", "series_name"]


@dataclass(frozen=True)
class Grid:
    """The recording's evaluation steps: ``start + i * step`` for ``i`` in ``range(size)`` (unix seconds)."""

    start: float
    step: float
    size: int

    def __post_init__(self) -> None:
        if self.step <= 0 or self.size < 1:
            raise ConfigError(f"a recording grid needs step > 0 and at least one step, got {self.step}, {self.size}")

    @classmethod
    def covering(cls, start: float, end: float, step: float) -> Grid:
        """The grid from ``start`` (rounded down to a multiple of ``step``) through ``end``."""
        first = math.floor(start / step) * step
        return cls(first, step, math.floor((end - first) / step + 1e-9) + 1)

    @property
    def end(self) -> float:
        return self.start + (self.size - 1) * self.step

    def index(self, t: float) -> int:
        """The step whose time is nearest to ``t`` (range-query timestamps are the step times)."""
        return round((t - self.start) / self.step)

    def offset(self, i: int) -> float:
        """Seconds from the recording's start to step ``i``: promtool's ``eval_time``."""
        return round(i * self.step, 3)

    def place(self, points: Iterable[tuple[float, float]]) -> list[float | None]:
        """Range-query points as one value (or None) per step."""
        values: list[float | None] = [None] * self.size
        for t, v in points:
            i = self.index(t)
            if 0 <= i < self.size:
                values[i] = v
        return values


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def encode_values(values: Sequence[float | None]) -> str:
    """promtool's ``values`` string: runs as ``vxN``/``_xN``, a vanished series as ``stale``.

    ``vxN`` means N+1 samples and ``_xN`` N missing samples (promtool's expanding notation).
    """
    tokens: list[str] = []
    i = 0
    while i < len(values):
        value = values[i]
        if value is None:
            run = _run(values, i, lambda v: v is None)
            if i > 0 and values[i - 1] is not None:
                tokens.append("stale")
                run -= 1
                i += 1
            if run:
                tokens.append("_" if run == 1 else f"_x{run}")
            i += run
            continue
        run = _run(values, i, lambda v, ref=value: v is not None and _same(v, ref))
        text = _number(value)
        tokens.append(text if run == 1 else f"{text}x{run - 1}")
        i += run
    return " ".join(tokens)


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _run(values: Sequence[float | None], start: int, same) -> int:
    end = start
    while end < len(values) and same(values[end]):
        end += 1
    return end - start


def series_name(labels: Mapping[str, str]) -> str:
    """``metric{label="value", ...}`` as promtool parses it (values escaped like PromQL strings)."""
    name = labels.get("__name__", "")
    inner = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(labels.items())
                      if k != "__name__")
    if not name:
        return "{" + inner + "}"
    return name + ("{" + inner + "}" if inner else "")
