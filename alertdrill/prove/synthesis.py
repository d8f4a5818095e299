"""Input series for a candidate: the inventory's label sets, values drawn phase by phase.

A candidate gives each selector (signal) one *level* per phase: a gauge's value, a counter's slope per
second, the value every observation of a histogram falls on, or ``None`` for no series at all. The
timeline has three phases sized from the rule: quiet (the baseline), fire (long enough for the widest
range window and the rule's ``for``) and quiet again (long enough for the windows to forget the fire
phase, plus ``keep_firing_for``). Counters keep counting across phases, as real counters do.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from alertdrill.prove.expression import Analysis, Matcher, Signal
from alertdrill.prove.inventory import Inventory, MetricInfo

__all__ = ["BASELINE", "Timeline", "Unit", "build_units", "unit_kind"]

#: The level "as the inventory saw it": each series keeps its own observed value (a gauge's last
#: value, a counter's observed slope), so the baseline phase is the captured stack, not a guess.
BASELINE = "baseline"
Level = float | str | None
#: Most baseline steps a time()-based rule gets (the step grows instead).
MAX_STEPS_BEFORE = 200
#: Words that make a ``*_seconds`` gauge an age, which grows by one per second while nothing resets it.
AGE_WORDS = ("since", "age", "running", "uptime")


@dataclass(frozen=True)
class Timeline:
    """Steps of ``step`` seconds: ``quiet`` baseline, ``fire``, ``after`` (quiet again)."""

    step: float
    quiet: int
    fire: int
    after: int

    @classmethod
    def for_rule(cls, *, step: float, window: float, duration: float, keep_firing_for: float = 0.0,
                 start_after: float = 0.0) -> Timeline:
        """Phases sized for the rule; ``start_after`` seconds of baseline at least (``time()`` in promtool
        counts from 0, so a rule comparing ages with ``time()`` needs the clock past its thresholds)."""
        if start_after:
            step = max(step, math.ceil(start_after / MAX_STEPS_BEFORE))
        def steps(seconds: float) -> int:
            return max(2, math.ceil(seconds / step))
        window = max(window, step)
        return cls(step, max(steps(window + 60), steps(start_after)), steps(window + duration + 120),
                   steps(window + keep_firing_for + 120))

    @property
    def size(self) -> int:
        return self.quiet + self.fire + self.after

    @property
    def t_quiet(self) -> int:
        """Last step of the baseline: silent here."""
        return self.quiet - 1

    @property
    def t_fire(self) -> int:
        """Last step of the fire phase: firing here, ``for`` included."""
        return self.quiet + self.fire - 1

    @property
    def t_after(self) -> int:
        """Last step: resolved here."""
        return self.size - 1

    def phase(self, i: int) -> int:
        return 0 if i < self.quiet else 1 if i < self.quiet + self.fire else 2

    def phase_start(self, i: int) -> int:
        return (0, self.quiet, self.quiet + self.fire)[self.phase(i)]


@dataclass(frozen=True)
class Unit:
    """Series fed as one: a single series, or every bucket of one histogram label set."""

    signal: str
    kind: str  # gauge | age | counter | histogram
    series: tuple[Mapping[str, str], ...]  # with __name__
    starts: tuple[float, ...] = ()
    synthesized: str = ""  # why the labels were made up (no inventory series matched the selector)
    clone: bool = False  # one of several copies a counting rule needs
    seen: tuple[float | None, ...] = ()  # per series: a gauge's last value, a counter's slope per second

    def values(self, levels: Sequence[Level], timeline: Timeline) -> list[list[float | None]]:
        """Per series, one value (None: no sample) per step, for the three phases' ``levels``."""
        out = []
        for j, labels in enumerate(self.series):
            le = _le(labels)
            seen = self.seen[j] if j < len(self.seen) else None
            total = self.starts[j] if j < len(self.starts) else (seen or 0.0)
            column: list[float | None] = []
            for i in range(timeline.size):
                level = levels[timeline.phase(i)]
                if level is None:
                    column.append(None)
                    continue
                elapsed = (i - timeline.phase_start(i)) * timeline.step
                if level == BASELINE:
                    level = (seen or 0.0) if self.kind != "histogram" else None
                    if self.kind == "ramp":
                        level = 0.0
                    elif self.kind == "timestamp":
                        level = 60.0 if seen else 0.0  # a recent event, or "never" as exporters say it
                    if level is None:  # a histogram at baseline: no observations
                        level = 0.0
                if self.kind == "gauge":
                    column.append(float(level))
                elif self.kind == "age":
                    column.append(float(level) + elapsed)
                elif self.kind == "timestamp":
                    # an age in seconds; 0 means "never happened", which exporters export as 0
                    column.append(max(0.0, i * timeline.step - float(level)) if level else 0.0)
                elif self.kind == "ramp":
                    if column and column[-1] is not None:
                        total += float(level) * timeline.step
                    column.append(round(total, 9))
                else:
                    slope = float(level) if self.kind == "counter" else (1.0 if 0 < float(level) <= le else 0.0)
                    if column and column[-1] is not None:
                        total += slope * timeline.step
                    column.append(round(total, 9))
            out.append(column)
        return out


def _le(labels: Mapping[str, str]) -> float:
    raw = labels.get("le", "+Inf")
    try:
        return float(raw.replace("Inf", "inf"))
    except ValueError:
        return math.inf


def unit_kind(signal: Signal, info: MetricInfo | None) -> str:
    name = signal.metric
    if info is not None and info.type == "histogram" and name.endswith("_bucket"):
        return "histogram"
    if info is not None and info.is_counter:
        return "counter"
    unknown = info is None or info.type == "unknown"
    if unknown and ("rate" in signal.roles or name.endswith(("_total", "_count", "_sum"))):
        return "counter"
    if name.endswith(("_timestamp_seconds", "_time_seconds", "_timestamp")):
        return "timestamp"
    if name.endswith("_seconds") and any(w in name for w in AGE_WORDS):
        return "age"
    if signal.roles & {"rate", "delta"}:
        return "ramp"  # a gauge read for its change: it must move to show any
    return "gauge"


@dataclass
class _Pool:
    """Label values seen anywhere in the inventory, to satisfy a matcher no series of the metric does."""

    values: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, inventory: Inventory) -> _Pool:
        pool: dict[str, list[str]] = {}
        for m in inventory.metrics.values():
            for s in m.series:
                for k, v in s.labels.items():
                    if v not in pool.setdefault(k, []):
                        pool[k].append(v)
        return cls(pool)

    def satisfy(self, labels: dict[str, str], matcher: Matcher, carried: set[str]) -> bool:
        """Change ``labels`` so ``matcher`` holds, with a value seen in the inventory for that label on a
        label the metric carries; only a negative matcher may get a made-up value. False: impossible."""
        if matcher.matches(labels):
            return True
        if matcher.name not in carried:
            return False
        tries = [v for v in self.values.get(matcher.name, []) if matcher.matches({matcher.name: v})]
        if matcher.op in ("!=", "!~"):
            tries += [v for v in _from_regex(matcher) if matcher.matches({matcher.name: v})]
        if not tries:
            return False
        labels[matcher.name] = tries[0]
        return True


def _from_regex(matcher: Matcher) -> list[str]:
    """A few strings a matcher's value suggests: ``5..`` -> ``500``, ``a|b`` -> ``a``, else ``other``."""
    value = matcher.value
    if matcher.op == "=":
        return [value]
    if matcher.op in ("!=", "!~"):
        return [f"{value}-other" if value else "other", "other"]
    first = value.split("|")[0]
    simple = re.sub(r"\[([^\]])[^\]]*\]", r"\1", first)
    simple = simple.replace(".*", "").replace(".+", "x").replace(".", "0")
    simple = re.sub(r"[()^$?*+]", "", simple).replace("\\", "")
    return [simple, first]


def build_units(analysis: Analysis, inventory: Inventory) -> tuple[list[Unit], list[str]]:
    """Units for every signal from the inventory's series, each series given to its most specific
    selector; a selector no series matches gets one made-up label set (noted) if its metric exists."""
    pool = _Pool.of(inventory)
    notes: list[str] = []
    units: list[Unit] = []
    signals = list(analysis.signals)
    for metric in dict.fromkeys(s.metric for s in signals):
        info = inventory.metric(metric)
        mine = [s for s in signals if s.metric == metric]
        groups = _groups(info)
        assigned: dict[str, list[tuple[dict[str, str], ...]]] = {s.key: [] for s in mine}
        for group in groups:
            hits = [s for s in mine if s.matches(group[0])]
            if hits:
                best = max(hits, key=lambda s: len(s.matchers))
                assigned[best.key].append(group)
        for signal in mine:
            kind = unit_kind(signal, info)
            found = assigned[signal.key]
            why = ""
            if not found and groups:
                made = []
                for group in groups[:1]:
                    base = dict(group[0])
                    carried = {k for g in groups for lab in g for k in lab} | set(info.declared if info else ())
                    if all(pool.satisfy(base, m, carried) for m in signal.matchers) and signal.matches(base):
                        fixed = {k: v for k, v in base.items() if k != "le"}
                        made.append(tuple({**g, **fixed} for g in group))
                if made:
                    found = made
                    why = (f"no {metric} series in the inventory matches {signal.key}; "
                           f"used {_show(found[0][0])}")
                    notes.append(why)
            cloned = "count" in signal.roles and bool(found)
            if cloned:
                found, note = _clones(found, info, analysis)
                notes.append(note)
            for group in found:
                starts = tuple(_start(info, labels) for labels in group) if kind in ("counter", "histogram") else ()
                seen = tuple(_seen(info, labels, kind) for labels in group)
                series = tuple({"__name__": metric, **labels} for labels in group)
                units.append(Unit(signal.key, kind, series, starts, why, cloned, seen))
    return units, notes


#: Most series one selector is cloned into when the rule counts series.
MAX_CLONES = 20


def _clones(found: list[tuple[dict[str, str], ...]], info: MetricInfo | None,
            analysis: Analysis) -> tuple[list[tuple[dict[str, str], ...]], str]:
    """A counted selector needs several series: copies of the first, told apart by a label the
    exporter declares (a query's ``pid``), else by one it already has. As many as the largest count
    the rule compares with, plus one."""
    wanted = [int(c) + 1 for c in analysis.constants if 1 <= c < MAX_CLONES]
    n = max(wanted, default=3)
    group = found[0]
    present = {k for k, v in group[0].items() if v}
    declared = [k for k in (info.declared if info else ()) if k not in present]
    label = declared[0] if declared else next((k for k in sorted(group[0]) if k not in ("instance", "job", "le")),
                                               "instance")
    out = []
    for k in range(1, n + 1):
        out.append(tuple({**labels, label: f"{labels.get(label) or label}-{k}"} for labels in group))
    return out, f"{n} series of {group[0].get('__name__', '') or 'the counted selector'} told apart by {label}"


def _show(labels: Mapping[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "le") + "}"


def _groups(info: MetricInfo | None) -> list[tuple[dict[str, str], ...]]:
    """The metric's series, histogram buckets grouped by their labels without ``le``."""
    if info is None:
        return []
    grouped: dict[tuple, list[dict[str, str]]] = {}
    for s in info.series:
        labels = dict(s.labels)
        key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        grouped.setdefault(key, []).append(labels)
    return [tuple(sorted(g, key=_le)) for g in grouped.values()]


def _seen(info: MetricInfo | None, labels: Mapping[str, str], kind: str) -> float | None:
    """What the inventory saw of this series: a counter's slope per second, else its last value."""
    from alertdrill.prove.inventory import CAPTURE_WINDOW

    for s in info.series if info else ():
        if dict(s.labels) == dict(labels):
            if kind in ("counter", "histogram"):
                return (s.high - s.low) / CAPTURE_WINDOW if s.high is not None and s.low is not None else 0.0
            return s.last
    return None


def _start(info: MetricInfo | None, labels: Mapping[str, str]) -> float:
    if info is None:
        return 0.0
    for s in info.series:
        if dict(s.labels) == dict(labels) and s.low is not None:
            return max(0.0, s.low)
    return 0.0
