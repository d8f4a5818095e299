"""A PromQL syntax tree, enough to follow labels and value domains through an expression.

Parsing is done by ``promql-parser`` (PyPI: Python bindings of the Rust port of Prometheus' own
parser), so precedence, modifiers and every function's syntax are Prometheus'; this module only
maps its tree onto small frozen dataclasses whose selectors are the assertions'
:class:`~alertdrill.assertions.promql.Selector`, so a selector reads the same in an assertion and
in a lint finding.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Union

import promql_parser as pp

from alertdrill.assertions.promql import Matcher, Selector
from alertdrill.errors import ConfigError

__all__ = [
    "COMPARISONS",
    "RULE_METRICS",
    "SET_OPERATORS",
    "Agg",
    "Binary",
    "Call",
    "Node",
    "Num",
    "Paren",
    "Sel",
    "Str",
    "Unary",
    "parse_promql",
    "walk",
]

#: Metrics Prometheus makes itself from the rules; no exporter has to produce them.
RULE_METRICS = frozenset({"ALERTS", "ALERTS_FOR_STATE"})
PRECEDENCE = {"or": 1, "and": 2, "unless": 2, "==": 3, "!=": 3, "<=": 3, "<": 3, ">=": 3, ">": 3,
              "+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "atan2": 5, "^": 6}
SET_OPERATORS = frozenset({"and", "or", "unless"})
COMPARISONS = frozenset({"==", "!=", "<=", "<", ">=", ">"})
_MATCH_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}
_CARDS = {"OneToOne": "one-to-one", "ManyToOne": "group_left", "OneToMany": "group_right", "ManyToMany": "many-to-many"}


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Str:
    value: str


@dataclass(frozen=True)
class Sel:
    selector: Selector


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Agg:
    op: str
    expr: Node
    param: Node | None = None
    labels: tuple[str, ...] = ()
    without: bool = False
    grouped: bool = False


@dataclass(frozen=True)
class Binary:
    """``lhs op rhs``; ``on`` is True for on(...), False for ignoring(...), None without modifier."""

    op: str
    lhs: Node
    rhs: Node
    text: str
    bool_: bool = False
    on: bool | None = None
    labels: tuple[str, ...] = ()
    card: str = "one-to-one"
    include: tuple[str, ...] = ()
    lhs_text: str = ""
    rhs_text: str = ""

    @property
    def filters(self) -> bool:
        """A comparison without ``bool`` drops series by value and keeps the metric name; all else
        keeps every match and drops the name."""
        return self.op in COMPARISONS and not self.bool_


@dataclass(frozen=True)
class Unary:
    op: str
    expr: Node


@dataclass(frozen=True)
class Paren:
    expr: Node


Node = Union[Num, Str, Sel, Call, Agg, Binary, Unary, Paren]  # noqa: UP007 - a runtime alias


def _duration(value: datetime.timedelta | None) -> str | None:
    return pp.display_duration(value) if value is not None else None


def _selector(vs: Any, window: str | None = None) -> Sel:
    matchers = [Matcher(m.name, _MATCH_OPS[str(m.op).rsplit(".", 1)[-1]], m.value) for m in vs.matchers.matchers]
    metric = vs.name
    if metric is None:
        named = [m for m in matchers if m.name == "__name__" and m.op == "="]
        if named:
            metric = named[0].value
            matchers = [m for m in matchers if m is not named[0]]
    return Sel(Selector(metric, tuple(matchers), window, _duration(vs.offset)))


def _convert(node: Any) -> Node:
    """One promql_parser node as this module's dataclasses (offset and @ move time, not labels)."""
    if isinstance(node, pp.NumberLiteral):
        return Num(float(node.val))
    if isinstance(node, pp.StringLiteral):
        return Str(node.val)
    if isinstance(node, pp.VectorSelector):
        return _selector(node)
    if isinstance(node, pp.MatrixSelector):
        return _selector(node.vector_selector, _duration(node.range))
    if isinstance(node, pp.SubqueryExpr):
        return _convert(node.expr)
    if isinstance(node, pp.ParenExpr):
        return Paren(_convert(node.expr))
    if isinstance(node, pp.UnaryExpr):
        inner = _convert(node.expr)
        return Num(-inner.value) if isinstance(inner, Num) else Unary("-", inner)
    if isinstance(node, pp.Call):
        return Call(node.func.name, tuple(_convert(a) for a in node.args))
    if isinstance(node, pp.AggregateExpr):
        mod = node.modifier
        without = mod is not None and str(mod.type).endswith("Without")
        labels = tuple(mod.labels) if mod is not None else ()
        param = _convert(node.param) if node.param is not None else None
        return Agg(str(node.op), _convert(node.expr), param, labels, without, grouped=mod is not None)
    if isinstance(node, pp.BinaryExpr):
        op = str(node.op)
        found: dict[str, Any] = {"card": "many-to-many" if op in SET_OPERATORS else "one-to-one"}
        mod = node.modifier
        if mod is not None:
            found["bool_"] = bool(mod.return_bool)
            if mod.matching is not None:
                found["on"] = str(mod.matching.type).endswith("Include")
                found["labels"] = tuple(mod.matching.labels)
            card = _CARDS[str(mod.card).rsplit(".", 1)[-1]]
            if card in ("group_left", "group_right"):
                found["card"] = card
                found["include"] = tuple(mod.group_labels or ())
        return Binary(op, _convert(node.lhs), _convert(node.rhs), str(node), lhs_text=str(node.lhs),
                      rhs_text=str(node.rhs), **found)
    raise ConfigError(f"PromQL: cannot follow {type(node).__name__} in {node}")


def parse_promql(expr: str) -> Node:
    """The syntax tree of ``expr`` (Prometheus' grammar, via promql-parser); ConfigError if it is not PromQL."""
    try:
        tree = pp.parse(expr)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"PromQL: {exc} in {' '.join(expr.split())!r}") from None
    return _convert(tree)


def walk(node: Node) -> Iterator[Node]:
    """``node`` and every node below it, parents first."""
    yield node
    if isinstance(node, (Paren, Unary)):
        yield from walk(node.expr)
    elif isinstance(node, Call):
        for arg in node.args:
            yield from walk(arg)
    elif isinstance(node, Agg):
        if node.param is not None:
            yield from walk(node.param)
        yield from walk(node.expr)
    elif isinstance(node, Binary):
        yield from walk(node.lhs)
        yield from walk(node.rhs)
