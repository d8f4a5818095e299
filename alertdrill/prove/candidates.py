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
import re
import statistics
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from alertdrill.prove.expression import Analysis, Signal
from alertdrill.prove.inventory import Inventory
from alertdrill.prove.synthesis import BASELINE, Level, Unit

__all__ = ["BUDGET", "LEVELS_PER_SIGNAL", "Domain", "assignments", "domains"]

#: Most candidate assignments tried per rule (the search's bound; see docs/prove.md).
BUDGET = 240
#: Most levels kept per selector.
LEVELS_PER_SIGNAL = 10
#: Levels per selector tried first (alone, then in pairs) before the others.
TOP = 3

Assignment = Mapping[str, Level]


@dataclass(frozen=True)
class Domain:
    """The levels one signal can take: ``baseline`` (the stack as inventoried) first.

    ``bounded_by`` names a limit signal of the same exporter (``*max*``, ``*limit*``) this one never
    exceeds: connections stay within max_connections, used memory within maxmemory.
    """

    signal: str
    kind: str
    baseline: Level
    levels: tuple[Level, ...]
    bounded_by: str | None = None
    typical: float | None = None


def _clean(values: Sequence[Level], *, floor: float | None = 0.0) -> list[Level]:
    out: list[Level] = []
    for v in values:
        if isinstance(v, float | int):
            if not math.isfinite(v) or (floor is not None and v < floor):
                continue
            v = float(f"{v:.6g}")
        if v not in out:
            out.append(v)
    return out


def _typical(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


_LIMIT = re.compile(r"(^|_)(max|limit)")


def domains(analysis: Analysis, units: Sequence[Unit], inventory: Inventory) -> list[Domain]:
    """One Domain per signal that has series (a signal without series cannot be fed)."""
    consts = [c for c in analysis.constants if math.isfinite(c)]
    typical: dict[str, float] = {}
    for signal in analysis.signals:
        info = inventory.metric(signal.metric)
        values = [s.last for s in (info.series if info else ()) if s.last is not None and signal.matches(s.labels)]
        value = _typical(values)
        if value is not None:
            typical[signal.key] = value
    kinds = {u.signal: u.kind for u in units}
    limits = [s for s in analysis.signals if kinds.get(s.key) == "gauge" and _LIMIT.search(s.metric)]
    out = []
    for signal in analysis.signals:
        mine = [u for u in units if u.signal == signal.key]
        if not mine:
            continue
        kind = mine[0].kind
        info = inventory.metric(signal.metric)
        others = [v for k, v in typical.items() if k != signal.key and v]
        window = signal.window or analysis.max_window or 300.0
        baseline: Level = BASELINE
        if kind == "histogram":
            bounds = sorted({_bound(lab) for u in mine for lab in u.series} - {math.inf})
            baseline = (bounds[0] / 2) if bounds else 0.001
            levels: list[Level] = [c * f for f in (1.1, 2, 10, 0.5) for c in consts if c > 0]
            levels += [b * 1.5 for b in bounds]
        elif kind in ("counter", "ramp"):
            levels = [c * f for f in (1.1, 2) for c in consts]
            levels += [c / window * f for f in (1.1, 2) for c in consts]
            levels += [c * v * f for f in (1.1, 0.011) for c in consts for v in others]
            levels += [0.0, 1.0, 10.0, 100.0]
        elif kind == "timestamp":
            levels = [c * 1.1 for c in consts if c > 0] + [0.0, 60.0]
        elif info is not None and info.is_flag:
            levels = [0.0, 1.0]
        else:
            levels = [c * f for f in (1.1, 0.9, 2, 0.5) for c in consts]
            levels += [c + d for d in (1, -1) for c in consts] + list(consts)
            levels += [c * v * f for f in (1.1, 0.011, 0.9) for c in consts for v in others]
            levels += [0.0, 1.0]
            values = info.values() if info else []
            levels += [min(values), max(values)] if values else []
        floor = None if info and any(v < 0 for v in info.values()) else 0.0
        kept = _clean([baseline, *levels], floor=floor)[:LEVELS_PER_SIGNAL]
        if "absent" in signal.roles:  # absence is what absent() is about: right after the baseline
            kept = [kept[0], None, *kept[1:LEVELS_PER_SIGNAL - 1]]
        prefix = signal.metric.split("_")[0]
        bound = next((lim.key for lim in limits if kind == "gauge" and lim.key != signal.key
                      and lim.metric.split("_")[0] == prefix and not _LIMIT.search(signal.metric)), None)
        out.append(Domain(signal.key, kind, baseline, tuple(kept), bound, typical.get(signal.key)))
    return out


def _bound(labels: Mapping[str, str]) -> float:
    try:
        return float(labels.get("le", "+Inf").replace("Inf", "inf"))
    except ValueError:
        return math.inf


def _plausible(candidate: Mapping[str, Level], doms: Sequence[Domain], counts: Mapping[str, int]) -> bool:
    """No signal above the limit that bounds it, its series added up (connections in every state
    together stay within max_connections)."""
    by_key = {d.signal: d for d in doms}
    for d in doms:
        if d.bounded_by is None or d.bounded_by not in by_key:
            continue
        mine, limit = candidate.get(d.signal), candidate.get(d.bounded_by)
        mine = d.typical if mine == BASELINE else mine
        limit = by_key[d.bounded_by].typical if limit == BASELINE else limit
        if isinstance(mine, float | int) and isinstance(limit, float | int) and mine * counts.get(d.signal, 1) > limit:
            return False
    return True


def assignments(doms: Sequence[Domain], budget: int = BUDGET,
                counts: Mapping[str, int] | None = None) -> Iterator[dict[str, Level]]:
    """Baseline first, then one signal changed, then two, then every combination, up to ``budget``;
    ``counts`` is how many series each signal feeds (for the limits)."""
    counts = counts or {}
    base = {d.signal: d.baseline for d in doms}
    seen: set[tuple] = set()

    def emit(change: Mapping[str, Level]) -> dict[str, Level] | None:
        candidate = {**base, **change}
        key = tuple(sorted(((k, str(v)) for k, v in candidate.items()), key=lambda kv: kv[0]))
        if key in seen or not _plausible(candidate, doms, counts):
            return None
        seen.add(key)
        return candidate

    def stages() -> Iterator[Mapping[str, Level]]:
        # The most promising levels (a threshold's neighbours) of every signal first, in turns, then
        # pairs of them; only then the rest: most rules fire within the first few candidates.
        yield {}
        for rank in range(TOP):
            for d in doms:
                if rank < len(d.levels):
                    yield {d.signal: d.levels[rank]}
        for a, b in itertools.combinations(doms, 2):
            for la, lb in itertools.product(a.levels[:TOP], b.levels[:TOP]):
                yield {a.signal: la, b.signal: lb}
        for rank in range(TOP, LEVELS_PER_SIGNAL):
            for d in doms:
                if rank < len(d.levels):
                    yield {d.signal: d.levels[rank]}
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
    if level == BASELINE:
        return f"{signal.key} as inventoried"
    if kind == "timestamp":
        return f"{signal.key} {level:g}s ago" if level else f"{signal.key} = 0 (never)"
    if kind == "ramp":
        return f"{signal.key} rising {level:g}/s"
    if kind == "counter":
        return f"{signal.key} counting {level:g}/s"
    if kind == "histogram":
        return f"{signal.key} observations at {level:g}"
    return f"{signal.key} = {level:g}"
