"""The numbers a rule compares a metric with, so a fault can prove it reaches them.

``count by (instance) (pg_long_running_query_seconds > 2) >= 3`` holds two thresholds on the same
metric: the age (``> 2``, the innermost comparison) and the count (``>= 3``). Each comparison of an
operand with a number literal is found with the operand's metric names and its nesting depth, so a
fault picks the one it drives (e.g. the innermost for the age, the outermost for the count).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from alertdrill.errors import AlertdrillError

from .promql import Token, tokenize

__all__ = ["Threshold", "thresholds"]

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne}
_MIRROR = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "==", "!=": "!="}
_OPEN, _CLOSE = frozenset("(["), frozenset(")]")
_BOUNDARY = frozenset(["and", "or", "unless"])
_KEYWORDS = frozenset(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"])
_AGGREGATIONS = frozenset(["sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                           "bottomk", "topk", "quantile", "limitk", "limit_ratio"])


@dataclass(frozen=True)
class Threshold:
    """``<operand> op value``: the metric names inside the operand, and how deeply it is nested."""

    metrics: frozenset[str]
    op: str
    value: float
    depth: int
    operand: str

    def met_by(self, measured: float) -> bool:
        return _COMPARE[self.op](measured, self.value)

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}"


def _number(tokens: list[Token], i: int) -> tuple[float, int] | None:
    """The number literal starting at ``i`` (``bool`` and a sign allowed) and the index after it."""
    while i < len(tokens) and tokens[i].kind == "ident" and tokens[i].text == "bool":
        i += 1
    sign = 1.0
    if i < len(tokens) and tokens[i].kind == "op" and tokens[i].text in "+-":
        sign, i = (-1.0 if tokens[i].text == "-" else 1.0), i + 1
    if i < len(tokens) and tokens[i].kind == "number":
        try:
            return sign * float(tokens[i].text), i + 1
        except ValueError:
            return None
    return None


def _operand_start(tokens: list[Token], end: int) -> int:
    """Where the operand ending before ``end`` starts: after the unmatched ``(`` or set operator."""
    depth = 0
    for i in range(end - 1, -1, -1):
        tok = tokens[i]
        if tok.kind == "op" and tok.text in _CLOSE:
            depth += 1
        elif tok.kind == "op" and tok.text in _OPEN:
            if depth == 0:
                return i + 1
            depth -= 1
        elif depth == 0 and ((tok.kind == "ident" and tok.text in _BOUNDARY)
                             or (tok.kind == "op" and tok.text in _COMPARE)):
            return i + 1
    return 0


def _metrics(tokens: list[Token]) -> frozenset[str]:
    """Metric names in ``tokens``: identifiers that are not functions, aggregations, keywords, label
    names in matchers or in ``by (...)``/``on (...)`` lists."""
    names, skip_list, in_braces = set(), False, False
    for i, tok in enumerate(tokens):
        if tok.kind == "op" and tok.text == "{":
            in_braces = True
        elif tok.kind == "op" and tok.text == "}":
            in_braces = False
        if skip_list:
            skip_list = not (tok.kind == "op" and tok.text == ")")
            continue
        if tok.kind != "ident" or in_braces or tok.text in _BOUNDARY or tok.text in _AGGREGATIONS:
            continue
        if tok.text in _KEYWORDS:
            skip_list = i + 1 < len(tokens) and tokens[i + 1].text == "("
            continue
        if i + 1 < len(tokens) and tokens[i + 1].text == "(":  # a function
            continue
        names.add(tok.text)
    return frozenset(names)


def thresholds(expr: str, metric: str = "") -> list[Threshold]:
    """Every comparison of an operand with a number in ``expr`` whose operand mentions ``metric``
    (a regular expression over metric names; empty: any), outermost first."""
    try:
        tokens = tokenize(expr)
    except AlertdrillError:
        return []
    depth_at, depth = [], 0
    for tok in tokens:
        if tok.kind == "op" and tok.text in _CLOSE:
            depth -= 1
        depth_at.append(depth)
        if tok.kind == "op" and tok.text in _OPEN:
            depth += 1
    found = []
    for i, tok in enumerate(tokens):
        if tok.kind != "op" or tok.text not in _COMPARE:
            continue
        number = _number(tokens, i + 1)
        if number is not None:
            start, op = _operand_start(tokens, i), tok.text
            operand = tokens[start:i]
        else:  # `0.9 < x`: the number on the left
            left = _number(tokens, i - 1) if i and tokens[i - 1].kind == "number" else None
            if left is None:
                continue
            number, op = left, _MIRROR[tok.text]
            end = i + 1
            while end < len(tokens) and not (depth_at[end] < depth_at[i] or (
                    depth_at[end] == depth_at[i] and tokens[end].text in (*_BOUNDARY, *_COMPARE))):
                end += 1
            operand = tokens[i + 1:end]
        names = _metrics(operand)
        if metric and not any(re.fullmatch(metric, n) for n in names):
            continue
        found.append(Threshold(names, op, number[0], depth_at[i], " ".join(t.text for t in operand)))
    return sorted(found, key=lambda t: t.depth)
