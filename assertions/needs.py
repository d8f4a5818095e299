"""What an alert expression needs, after a fault begins, before it can turn true.

A deadline adds a range window only where the expression really waits for it. Each range function
is judged by how its value moves when a fault changes the input at one instant, given the
comparison that decides the alert (the nearest ``> 0.05``, ``== 1``, ... above it in the tree):

* **fill** -- the value is an average/fit over the window, so it crosses a threshold only once enough
  of the window holds fault-time samples; in the worst case (a fault just strong enough) all of it:
  ``rate``, ``increase``, ``delta``, ``deriv``, ``predict_linear``, ``holt_winters``,
  ``avg_over_time``, ``sum_over_time``, ``quantile_over_time``, ``stddev_over_time``,
  ``stdvar_over_time``, ``mad_over_time``. Compared ``> 0`` or ``!= 0``, ``rate``/``increase``/
  ``delta``/``changes``/``resets`` ask only "did it move": the first fault-time sample that differs
  from the one before it makes them true, so there is nothing to fill.
* **empty** -- the value is true only once every pre-fault sample has left the window:
  ``absent_over_time`` (the last sample stays in the range ``w`` seconds after the series stops:
  range selectors do not use staleness markers), ``max_over_time`` compared ``<``/``<=``/``!=``
  (an old high sample keeps it above), ``min_over_time`` compared ``>``/``>=``/``!=``,
  ``count_over_time`` compared ``<``/``<=``/``==``, ``changes``/``resets``/``rate``/``increase``
  compared ``== 0`` or ``< x`` ("stopped moving"). The window counts, as "old samples leave".
* **none** -- one fault-time sample decides: ``max_over_time`` compared ``>``/``>=``/``==`` (one
  sample above is enough), ``min_over_time`` compared ``<``/``<=``/``==``, ``last_over_time``,
  ``present_over_time``, and ``changes``/``resets``/``count_over_time`` compared ``>``/``>=``
  (they count events the fault makes, not time).
* **two samples** -- ``irate`` and ``idelta`` use the last two samples of the window only: one more
  scrape interval after the first fault-time sample, never the window.

A function whose comparison cannot be read (none above it, or arithmetic such as ``a - b`` between
it and the threshold) is judged as the worst case of its kind: fill for the averaging ones.

**Ages** inside the expression are a term too: a value that grows with time since the fault
(``time() - x > 120``, or a gauge named as an age or duration such as
``max(pg_stat_activity_max_tx_duration) > 120`` or ``pg_table_vacuum_seconds_since_vacuum > 86400``)
crosses its threshold no earlier than that many seconds after the fault, whatever the scrape and
evaluation timing, when the fault starts the clock (a query that starts running). A fault that makes
an old age visible at once only finds the deadline longer than it needs; it is an upper bound.

Subqueries (``f(expr[5m:1m])``) are not analysed: their range is counted as a window to fill.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from alertdrill.errors import ConfigError
from alertdrill.lint.promql import COMPARISONS, Agg, Binary, Call, Node, Num, Paren, Sel, Unary, parse_promql

from .durations import parse_duration
from .promql import tokenize

__all__ = ["AgeNeed", "WindowNeed", "age_needs", "window_needs"]

FILL = frozenset({"rate", "increase", "delta", "deriv", "predict_linear", "holt_winters", "avg_over_time",
                  "sum_over_time", "quantile_over_time", "stddev_over_time", "stdvar_over_time", "mad_over_time"})
MOVED = frozenset({"rate", "increase", "delta", "changes", "resets"})
TWO_SAMPLES = frozenset({"irate", "idelta"})
#: Aggregations and functions that keep the sense of a threshold on their input (max(x) > T iff some x > T).
KEEPS_THRESHOLD = frozenset({"sum", "max", "min", "avg", "topk", "bottomk", "quantile", "abs", "ceil", "floor",
                             "round", "clamp", "clamp_min", "clamp_max", "label_replace", "label_join", "sort",
                             "sort_desc"})
FLIPPED = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "==", "!=": "!="}
_AGE_NAME = re.compile(r"(_age|_age_seconds|_duration|_duration_seconds|_seconds)$|_seconds_since_")
_NOT_AGE = re.compile(r"(_total|_bucket|_sum|_count|_created|_timestamp_seconds|_time_seconds|_timestamp)$")


@dataclass(frozen=True)
class WindowNeed:
    """One range function: how much of its window the alert waits for, and why."""

    function: str
    selector: str
    seconds: float
    kind: str  # fill | empty | none | two samples
    comparison: str  # e.g. "> 0", or "" when none could be read

    @property
    def waits(self) -> bool:
        """True when the window itself is a term of the fire deadline."""
        return self.kind in ("fill", "empty")

    def why(self) -> str:
        cmp = f" {self.comparison}" if self.comparison else ""
        return {
            "fill": f"{self.function}({self.selector}){cmp}: new samples fill the window",
            "empty": f"{self.function}({self.selector}){cmp}: old samples leave the window",
            "none": f"{self.function}({self.selector}){cmp}: one fault-time sample decides",
            "two samples": f"{self.function}({self.selector}){cmp}: the last two samples decide",
        }[self.kind]


@dataclass(frozen=True)
class AgeNeed:
    """An age compared with a threshold: it can only cross it ``seconds`` after the fault began."""

    selector: str
    seconds: float
    comparison: str


@dataclass(frozen=True)
class _Threshold:
    op: str
    value: float | None  # None: the comparison's sense is known, its value is not comparable


def _kind(function: str, threshold: _Threshold | None) -> str:
    op = threshold.op if threshold else None
    zero = threshold is not None and threshold.value == 0
    if function in TWO_SAMPLES:
        return "two samples"
    if function in MOVED and zero and op in (">", "!="):
        return "none"
    if function in MOVED and op in ("==", "<", "<=") and threshold is not None and threshold.value is not None \
            and (zero or op != "=="):
        return "empty" if function in ("changes", "resets") or zero else "fill"
    if function in ("changes", "resets"):
        return "none" if op in (">", ">=", None) else "empty"
    if function in FILL:
        return "fill"
    if function == "max_over_time":
        return "none" if op in (">", ">=", "==") else ("empty" if op else "fill")
    if function == "min_over_time":
        return "none" if op in ("<", "<=", "==") else ("empty" if op else "fill")
    if function == "count_over_time":
        return "none" if op in (">", ">=", "!=") else ("empty" if op else "fill")
    if function == "absent_over_time":
        return "empty"
    if function in ("last_over_time", "present_over_time"):
        return "none"
    return "fill"  # an unknown range function: assume the worst


class _Walk:
    """One pass over the tree, carrying the comparison that decides each subtree."""

    def __init__(self) -> None:
        self.windows: list[WindowNeed] = []
        self.ages: list[AgeNeed] = []

    def visit(self, node: Node, threshold: _Threshold | None) -> None:
        if isinstance(node, Binary):
            self.binary(node, threshold)
        elif isinstance(node, Paren):
            self.visit(node.expr, threshold)
        elif isinstance(node, Unary):
            self.visit(node.expr, _Threshold(FLIPPED[threshold.op], None) if threshold and node.op == "-"
                       else threshold)
        elif isinstance(node, Agg):
            inner = threshold if node.op in KEEPS_THRESHOLD else None
            self.visit(node.expr, inner)
            if node.param is not None:
                self.visit(node.param, None)
        elif isinstance(node, Call):
            self.call(node, threshold)
        elif isinstance(node, Sel):
            self.selector(node, threshold, age=False)

    def binary(self, node: Binary, threshold: _Threshold | None) -> None:
        if node.op in COMPARISONS and not node.bool_:
            if isinstance(node.rhs, Num):
                self.visit(node.lhs, _Threshold(node.op, node.rhs.value))
                return
            if isinstance(node.lhs, Num):
                self.visit(node.rhs, _Threshold(FLIPPED[node.op], node.lhs.value))
                return
            self.visit(node.lhs, _Threshold(node.op, None))
            self.visit(node.rhs, _Threshold(FLIPPED[node.op], None))
            return
        if node.op == "-" and isinstance(node.lhs, Call) and node.lhs.func == "time" and isinstance(node.rhs, Sel):
            self.selector(node.rhs, threshold, age=True)  # time() - x: an age
            return
        if node.op in ("and", "unless"):
            self.visit(node.lhs, threshold)
            self.visit(node.rhs, None)
            return
        if node.op == "or":
            self.visit(node.lhs, threshold)
            self.visit(node.rhs, threshold)
            return
        # Arithmetic: the sense survives * and / (a ratio of rates > 5 %), not its value's meaning.
        keep = threshold if node.op in ("*", "/") else (_Threshold(threshold.op, None) if threshold else None)
        self.visit(node.lhs, keep)
        self.visit(node.rhs, keep if node.op in ("*", "/", "+") else None)

    def call(self, node: Call, threshold: _Threshold | None) -> None:
        ranged = [a for a in node.args if isinstance(a, Sel) and a.selector.range]
        for arg in ranged:
            sel = arg.selector
            try:
                seconds = parse_duration(sel.range or "", what=f"range of {sel}")
            except ConfigError:
                continue
            cmp = f"{threshold.op} {threshold.value:g}" if threshold and threshold.value is not None else (
                threshold.op if threshold else "")
            self.windows.append(WindowNeed(node.func, str(sel), seconds, _kind(node.func, threshold), cmp))
            if node.func in ("max_over_time", "min_over_time", "last_over_time", "avg_over_time"):
                self.selector(arg, threshold, age=False, ranged=True)
        for arg in node.args:
            if arg not in ranged:
                self.visit(arg, threshold if node.func in KEEPS_THRESHOLD else None)

    def selector(self, node: Sel, threshold: _Threshold | None, *, age: bool, ranged: bool = False) -> None:
        if threshold is None or threshold.value is None or threshold.op not in (">", ">="):
            return
        metric = node.selector.metric or ""
        named_age = bool(_AGE_NAME.search(metric)) and not _NOT_AGE.search(metric)
        if (age or named_age) and threshold.value > 0:
            text = node.selector.text
            self.ages.append(AgeNeed(f"time() - {text}" if age else text, threshold.value,
                                     f"{threshold.op} {threshold.value:g}"))


def _walk(expr: str) -> _Walk:
    walk = _Walk()
    walk.visit(parse_promql(expr), None)
    return walk


def _subquery_windows(expr: str) -> list[WindowNeed]:
    """Subquery ranges ``[5m:1m]``: not analysed, counted as windows to fill."""
    tokens = tokenize(expr)
    found = []
    for i, tok in enumerate(tokens):
        if tok.text != "[":
            continue
        j = next((k for k in range(i + 1, len(tokens)) if tokens[k].text == "]"), None)
        if j is None or ":" not in expr[tok.pos:tokens[j].pos]:
            continue
        window = tokens[i + 1].text if tokens[i + 1].kind == "duration" else None
        if window:
            found.append(WindowNeed("subquery", expr[tok.pos:tokens[j].pos + 1], parse_duration(window), "fill", ""))
    return found


def window_needs(expr: str) -> list[WindowNeed]:
    """Every range function of ``expr`` with what it waits for (see the module docstring).

    >>> [(w.function, w.kind) for w in window_needs("increase(x_total[5m]) > 0")]
    [('increase', 'none')]
    >>> [(w.function, w.kind) for w in window_needs("rate(x_total[5m]) > 10")]
    [('rate', 'fill')]
    """
    return _walk(expr).windows + _subquery_windows(expr)


def age_needs(expr: str) -> list[AgeNeed]:
    """Ages compared with a threshold in ``expr`` (``time() - x > 120``, ``x_duration_seconds > 120``)."""
    return _walk(expr).ages
