"""Candidate levels for each selector, derived from the expression, and their bounded enumeration.

Levels come from the rule itself: every number it compares or combines with and that number's
neighbours (a threshold, just above and below it, twice and half of it), the same numbers spread over
the range windows (``increase(x[5m]) > 3`` needs a slope of 3/300 per second), and products with the
values the other selectors have in the inventory (``used / max > 0.9`` needs 0.9 x max). A 0/1 flag
only ever takes 0 and 1, and a selector under ``absent()`` is present or not. Assignments are tried
from the fewest changes to the baseline upward, within :data:`BUDGET`.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from alertdrill.prove.expression import Analysis, Signal
from alertdrill.prove.inventory import CAPTURE_WINDOW, Inventory
from alertdrill.prove.synthesis import Level, Unit

__all__ = ["BUDGET", "LEVELS_PER_SIGNAL", "Domain", "assignments", "domains"]

#: Most candidate assignments tried per rule (the search's bound; see docs/prove.md).
BUDGET = 240
#: Most levels kept per selector.
LEVELS_PER_SIGNAL = 10

Assignment = Mapping[str, Level]


@dataclass(frozen=True)
class Domain:
    """The levels one signal can take: ``baseline`` (the idle stack as inventoried) first."""

    signal: str
    kind: str
    baseline: Level
    levels: tuple[Level, ...]


def _clean(values: Sequence[Level], *, floor: float | None = 0.0) -> list[Level]:
    out: list[Level] = []
    for v in values:
        if v is not None:
            if not math.isfinite(v) or (floor is not None and v < floor):
                continue
            v = float(f"{v:.6g}")
        if v not in out:
            out.append(v)
    return out


def _typical(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def domains(analysis: Analysis, units: Sequence[Unit], inventory: Inventory) -> list[Domain]:
    """One Domain per signal that has series (a signal without series cannot be fed)."""
    consts = [c for c in analysis.constants if math.isfinite(c)]
    typical: dict[str, float] = {}
    for signal in analysis.signals:
        info = inventory.metric(signal.metric)
        values = [s.last for s in (info.series if info else ()) if s.last is not None and signal.matches(s.labels)]
        value = _typical(values)
        if value:
            typical[signal.key] = value
    out = []
    for signal in analysis.signals:
        mine = [u for u in units if u.signal == signal.key]
        if not mine:
            continue
        kind = mine[0].kind
        info = inventory.metric(signal.metric)
        others = [v for k, v in typical.items() if k != signal.key]
        window = signal.window or analysis.max_window or 300.0
        if kind == "histogram":
            bounds = sorted({float(u.series[j].get("le", "inf").replace("Inf", "inf")) for u in mine
                             for j in range(len(u.series))} - {math.inf})
            baseline: Level = (bounds[0] / 2) if bounds else 0.001
            levels = [c * f for c in consts if c > 0 for f in (1.1, 2, 10, 0.5)] + [b * 1.5 for b in bounds]
            levels += [baseline]
        elif kind == "counter":
            slopes = [(s.high - s.low) / CAPTURE_WINDOW for s in (info.series if info else ())
                      if s.high is not None and s.low is not None and signal.matches(s.labels)]
            baseline = _typical(slopes) or 0.0
            levels = [c * f for c in consts for f in (1.1, 2)]
            levels += [c / window * f for c in consts for f in (1.1, 2)]
            levels += [c * v * f for c in consts for v in others for f in (1.1, 0.011)]
            levels += [0.0, 1.0, 10.0, 100.0]
        else:
            baseline = typical.get(signal.key, 0.0)
            if info is not None and info.is_flag:
                levels = [0.0, 1.0]
            else:
                levels = [c * f for c in consts for f in (1.1, 0.9, 2, 0.5)]
                levels += [c + d for c in consts for d in (1, -1)] + list(consts)
                levels += [c * v * f for c in consts for v in others for f in (1.1, 0.011, 0.9)]
                levels += [0.0, 1.0]
                values = info.values() if info else []
                levels += [min(values), max(values)] if values else []
        floor = None if info and any(v < 0 for v in info.values()) else 0.0
        kept = _clean([baseline, *levels], floor=floor)[:LEVELS_PER_SIGNAL]
        if "absent" in signal.roles or not kept:
            kept = [*kept[:LEVELS_PER_SIGNAL - 1], None]
        out.append(Domain(signal.key, kind, baseline, tuple(kept)))
    return out


def assignments(doms: Sequence[Domain], budget: int = BUDGET) -> Iterator[dict[str, Level]]:
    """Baseline first, then one signal changed, then two, then every combination, up to ``budget``."""
    base = {d.signal: d.baseline for d in doms}
    seen: set[tuple] = set()

    def emit(change: Mapping[str, Level]) -> dict[str, Level] | None:
        candidate = {**base, **change}
        key = tuple(sorted(candidate.items(), key=lambda kv: kv[0]))
        if key in seen:
            return None
        seen.add(key)
        return candidate

    def stages() -> Iterator[Mapping[str, Level]]:
        yield {}
        for d in doms:
            for level in d.levels:
                yield {d.signal: level}
        for a, b in itertools.combinations(doms, 2):
            for la, lb in itertools.product(a.levels[:5], b.levels[:5]):
                yield {a.signal: la, b.signal: lb}
        if len(doms) > 2:
            for levels in itertools.product(*(d.levels[:4] for d in doms)):
                yield dict(zip((d.signal for d in doms), levels, strict=True))

    count = 0
    for change in stages():
        candidate = emit(change)
        if candidate is None:
            continue
        yield candidate
        count += 1
        if count >= budget:
            return


def describe(signal: Signal, kind: str, level: Level) -> str:
    """A level in words, for evidence lines."""
    if level is None:
        return f"{signal.key} absent"
    if kind == "counter":
        return f"{signal.key} counting {level:g}/s"
    if kind == "histogram":
        return f"{signal.key} observations at {level:g}"
    return f"{signal.key} = {level:g}"
