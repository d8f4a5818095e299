"""What an alerting expression reads and compares, from the syntax tree of a real PromQL parser.

The tree comes from ``promql-parser`` (Rust bindings of the parser Prometheus-compatible databases
use), so precedence, modifiers and functions read as Prometheus reads them. This module only lists
what candidate generation needs: each selector with the functions around it (a ``rate`` wants a
counter slope, ``absent`` wants presence and absence), the range windows, and every number compared
or combined with. Values are never computed here; promtool does that.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import promql_parser as pp

from alertdrill.errors import ConfigError

__all__ = ["Analysis", "Matcher", "Signal", "analyse", "children", "parse", "render"]

#: Functions that read a counter's increase; their argument should be a counter.
RATE_FUNCS = frozenset({"rate", "irate", "increase"})
#: Functions that read a gauge's change.
DELTA_FUNCS = frozenset({"delta", "idelta", "deriv", "predict_linear"})
ABSENT_FUNCS = frozenset({"absent", "absent_over_time"})
_MATCH_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def matches(self, labels: dict[str, str]) -> bool:
        """Prometheus semantics: a missing label is the empty string; regexes are anchored."""
        got = labels.get(self.name, "")
        if self.op == "=":
            return got == self.value
        if self.op == "!=":
            return got != self.value
        hit = re.fullmatch(self.value, got) is not None
        return hit if self.op == "=~" else not hit


@dataclass(frozen=True)
class Signal:
    """One selector of the expression and how it is read: ``roles`` are the functions around it
    (``rate``, ``delta``, ``absent``, ``over_time``, ``histogram``, ``raw``), ``window`` its range."""

    metric: str
    matchers: tuple[Matcher, ...]
    roles: frozenset[str]
    window: float = 0.0

    @property
    def key(self) -> str:
        inner = ", ".join(f'{m.name}{m.op}"{m.value}"' for m in self.matchers)
        return f"{self.metric}{{{inner}}}" if inner else self.metric

    def matches(self, labels: dict[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)


@dataclass(frozen=True)
class Analysis:
    expr: str
    signals: tuple[Signal, ...]
    constants: tuple[float, ...]
    max_window: float
    uses_time: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)


def parse(expr: str) -> Any:
    """The syntax tree; a parse error is a one-line ConfigError (promtool has validated the file first)."""
    try:
        return pp.parse(expr)
    except Exception as exc:  # the binding raises a plain ValueError/RuntimeError
        raise ConfigError(f"cannot parse PromQL {expr!r}: {exc}") from None


def render(node: Any) -> str:
    """PromQL text of a subtree, as Prometheus would accept it."""
    return re.sub(r"([A-Za-z0-9_:])\{\}", r"\1", " ".join(str(node).split()))


def children(node: Any) -> list[Any]:
    """The subexpressions of ``node`` in evaluation order."""
    if isinstance(node, pp.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, pp.AggregateExpr):
        return [c for c in (node.param, node.expr) if c is not None]
    if isinstance(node, pp.Call):
        return list(node.args)
    if isinstance(node, (pp.ParenExpr, pp.UnaryExpr, pp.SubqueryExpr)):
        return [node.expr]
    if isinstance(node, pp.MatrixSelector):
        return [node.vector_selector]
    return []


def func_name(node: Any) -> str:
    return node.func.name if isinstance(node, pp.Call) else ""


def _matchers(sel: Any) -> tuple[Matcher, ...]:
    out = []
    for m in sel.matchers.matchers:
        op = _MATCH_OPS.get(str(m.op))
        if op is None:
            raise ConfigError(f"unknown label matcher operator {m.op}")
        if m.name != "__name__":
            out.append(Matcher(m.name, op, m.value))
    return tuple(out)


def _selector_name(sel: Any) -> str:
    if sel.name:
        return str(sel.name)
    for m in sel.matchers.matchers:
        if m.name == "__name__" and str(m.op) == "MatchOp.Equal":
            return str(m.value)
    return ""


def _walk(node: Any, context: tuple[str, ...], window: float) -> Iterator[tuple[Any, tuple[str, ...], float]]:
    if isinstance(node, pp.VectorSelector):
        yield node, context, window
        return
    if isinstance(node, pp.MatrixSelector):
        yield from _walk(node.vector_selector, context, node.range.total_seconds())
        return
    if isinstance(node, pp.SubqueryExpr):
        yield from _walk(node.expr, (*context, "over_time"), node.range.total_seconds())
        return
    name = func_name(node) or (f"agg:{node.op}" if isinstance(node, pp.AggregateExpr) else "")
    for child in children(node):
        yield from _walk(child, context + ((name,) if name else ()), window)


def _role(context: tuple[str, ...]) -> str:
    for fn in reversed(context):
        if fn in RATE_FUNCS:
            return "rate"
        if fn in DELTA_FUNCS:
            return "delta"
        if fn in ABSENT_FUNCS:
            return "absent"
        if fn.endswith("_over_time"):
            return "over_time"
    return "raw"


def _numbers(node: Any) -> Iterator[float]:
    if isinstance(node, pp.NumberLiteral):
        yield float(node.val)
    for child in children(node):
        yield from _numbers(child)


def _uses_time(node: Any) -> bool:
    return func_name(node) in ("time", "timestamp") or any(_uses_time(c) for c in children(node))


def analyse(expr: str) -> Analysis:
    """The selectors, windows and constants of ``expr``; one Signal per distinct selector."""
    tree = parse(expr)
    found: dict[tuple[str, tuple[Matcher, ...]], tuple[set[str], float]] = {}
    notes = []
    for sel, context, window in _walk(tree, (), 0.0):
        metric = _selector_name(sel)
        if not metric:
            notes.append(f"selector {render(sel)} names no metric; prove cannot shape series for it")
            continue
        key = (metric, _matchers(sel))
        roles, old = found.get(key, (set(), 0.0))
        roles.add(_role(context))
        if "histogram_quantile" in context or "histogram_fraction" in context:
            roles.add("histogram")
        if "agg:count" in context:
            roles.add("count")
        found[key] = (roles, max(old, window))
    signals = tuple(Signal(metric, matchers, frozenset(roles), window)
                    for (metric, matchers), (roles, window) in found.items())
    constants = tuple(dict.fromkeys(v for v in _numbers(tree)))
    max_window = max((s.window for s in signals), default=0.0)
    return Analysis(expr, signals, constants, max_window, _uses_time(tree), tuple(notes))
