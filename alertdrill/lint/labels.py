"""Which label sets a PromQL expression yields, and whether its binary operators can match at all.

A join on a label one side lacks, or one that matches several series per key, makes a rule return
nothing (or fail to evaluate) without making it invalid. :class:`LabelShapes` walks a tree from
:func:`~alertdrill.lint.promql.parse_promql`, starting from the label sets its selectors really
return, and records each such problem as a :class:`JoinProblem`; no sample value is ever computed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field

from alertdrill.assertions.promql import Selector
from alertdrill.lint.findings import listing, shorten
from alertdrill.lint.promql import (
    RULE_METRICS,
    SET_OPERATORS,
    Agg,
    Binary,
    Call,
    Node,
    Num,
    Paren,
    Sel,
    Str,
    Unary,
)

__all__ = ["JoinProblem", "LabelShapes", "SeriesSource", "Shape"]

Labels = frozenset  # frozenset[tuple[str, str]]: one series' label set, hashable
SeriesSource = Callable[[Selector], list[dict[str, str]]]
MatchKey = tuple[tuple[str, str], ...]

NAME = frozenset({"__name__"})
_NAME_KEEPING = frozenset({"label_replace", "label_join", "sort", "sort_desc", "last_over_time"})
_SCALAR_FUNCS = frozenset({"scalar", "time", "pi"})


@dataclass
class Shape:
    """What an expression can return: a scalar, or these label sets (values unknown).

    ``filtered`` says a comparison, ``and``/``unless`` or topk may drop some of the series, so a
    problem that needs all of them at once (many-to-many) is only possible, not certain.
    """

    scalar: bool = False
    series: list[dict[str, str]] = field(default_factory=list)
    filtered: bool = False

    @classmethod
    def of(cls, series: Iterable[Mapping[str, str]], filtered: bool = False) -> Shape:
        unique = {Labels(s.items()): dict(s) for s in series}
        return cls(False, list(unique.values()), filtered)

    def names(self) -> set[str]:
        return {k for s in self.series for k in s} - NAME

    def without(self, names: Collection[str], filtered: bool = False) -> Shape:
        """These series without the labels ``names``; ``filtered`` when the step may drop some."""
        return Shape.of((_without(s, names) for s in self.series), self.filtered or filtered)


@dataclass(frozen=True)
class JoinProblem:
    """A problem of one binary operator, turned into a Finding by the caller, who knows the rule."""

    level: str
    problem: str
    fix: str
    kind: str = "vector-match-never"
    node: Binary | None = None


class LabelShapes:
    """Evaluates which label sets an expression yields, from the series its selectors return.

    Comparisons are treated as keeping every series (they filter by value, which is unknown), so the
    shape is what the expression *can* return. Each vector/vector binary operator is checked on the
    way: join labels present on both sides, at least one pair that matches, no accidental
    many-to-many. ``series_of`` answers a selector with the label sets of its series.
    """

    def __init__(self, series_of: SeriesSource) -> None:
        self.series_of = series_of
        self.problems: list[JoinProblem] = []

    def evaluate(self, node: Node) -> Shape:
        if isinstance(node, (Num, Str)):
            return Shape(scalar=True)
        if isinstance(node, Sel):
            if node.selector.metric in RULE_METRICS:
                return Shape()
            return Shape.of(self.series_of(node.selector))
        if isinstance(node, Paren):
            return self.evaluate(node.expr)
        if isinstance(node, Unary):
            inner = self.evaluate(node.expr)
            return inner if inner.scalar else inner.without(NAME)
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, Agg):
            return self.aggregate(node)
        return self.binary(node)

    def call(self, node: Call) -> Shape:
        if node.func in _SCALAR_FUNCS:
            return Shape(scalar=True)
        if node.func == "vector":
            return Shape.of([{}])
        if node.func in ("absent", "absent_over_time"):
            arg = node.args[0] if node.args else None
            fixed = {m.name: m.value for m in arg.selector.matchers if m.op == "="} if isinstance(arg, Sel) else {}
            return Shape.of([fixed])
        shapes = [self.evaluate(a) for a in node.args]
        vectors = [s for s in shapes if not s.scalar]
        if not vectors:
            return Shape(scalar=True) if shapes else Shape.of([{}])
        vector = vectors[0]
        series, filtered = vector.series, vector.filtered
        if node.func == "histogram_quantile":
            return vector.without(NAME | {"le"})
        if node.func == "label_replace" and len(node.args) == 5 and all(isinstance(a, Str) for a in node.args[1:]):
            dst, repl, src, regex = (a.value for a in node.args[1:])  # type: ignore[union-attr]
            return Shape.of((_label_replace(s, dst, repl, src, regex) for s in series), filtered)
        if node.func == "label_join" and len(node.args) >= 3 and all(isinstance(a, Str) for a in node.args[1:]):
            dst, sep, *src = (a.value for a in node.args[1:])  # type: ignore[union-attr]
            return Shape.of(({**s, dst: sep.join(s.get(n, "") for n in src)} for s in series), filtered)
        if node.func in _NAME_KEEPING:
            return Shape.of(series, filtered)
        return vector.without(NAME)

    def aggregate(self, node: Agg) -> Shape:
        inner = self.evaluate(node.expr)
        if node.op in ("topk", "bottomk", "limitk", "limit_ratio"):
            return Shape.of(inner.series, filtered=True)
        extra: dict[str, str] = {}
        if node.op == "count_values" and isinstance(node.param, Str):
            extra = {node.param.value: "*"}
        out = []
        for s in inner.series:
            if node.without:
                kept = _without(s, set(node.labels) | NAME)
            else:
                kept = {k: v for k, v in s.items() if k in node.labels}
            out.append({**kept, **extra})
        return Shape.of(out, inner.filtered)

    def binary(self, node: Binary) -> Shape:
        lhs, rhs = self.evaluate(node.lhs), self.evaluate(node.rhs)
        if lhs.scalar and rhs.scalar:
            return Shape(scalar=True)
        dropped = frozenset() if node.filters else NAME
        if lhs.scalar or rhs.scalar:
            vector = rhs if lhs.scalar else lhs
            if node.op in SET_OPERATORS:
                return vector
            return vector.without(dropped, node.filters)
        if lhs.series and rhs.series and node.op != "or":
            self.check_join(node, lhs, rhs)
        return self.combine(node, lhs, rhs, dropped)

    def key(self, node: Binary, labels: Mapping[str, str]) -> MatchKey:
        """The labels ``node`` matches series by: its ``on`` list, or all but the ignored ones."""
        if node.on:
            return tuple((n, labels.get(n, "")) for n in sorted(node.labels))
        ignored = set(node.labels) | NAME
        return tuple(sorted((k, v) for k, v in labels.items() if k not in ignored))

    def keys(self, node: Binary, shape: Shape) -> set[MatchKey]:
        return {self.key(node, s) for s in shape.series}

    def check_join(self, node: Binary, lhs: Shape, rhs: Shape) -> None:
        where = f"`{shorten(node.text.replace('{}', ''))}`"
        if node.on:
            for side, shape, other in (("left", lhs, rhs), ("right", rhs, lhs)):
                missing = [n for n in node.labels if n not in shape.names()]
                if missing:
                    common = sorted(shape.names() & other.names())
                    self.problems.append(JoinProblem(
                        "error", f"{where} joins on ({listing(node.labels)}) but the {side} side has no label "
                                 f"{listing(missing)} (its labels: {listing(shape.names())})",
                        f"join on labels both sides have (common: {listing(common)}), or aggregate each side "
                        "by the join labels first", node=node))
                    return
        else:
            ignored = set(node.labels)
            left, right = lhs.names() - ignored, rhs.names() - ignored
            if left != right:
                self.problems.append(JoinProblem(
                    "error", f"{where} matches on all labels{' but ' + listing(ignored) if ignored else ''}, and "
                             f"the sides differ: only left has {listing(left - right)}, only right has "
                             f"{listing(right - left)}",
                    f"add on ({listing(left & right)}) or ignoring ({listing(left ^ right)}), or aggregate both "
                    "sides by the same labels", node=node))
                return
        left_keys, right_keys = self.keys(node, lhs), self.keys(node, rhs)
        if not left_keys & right_keys:
            self.problems.append(JoinProblem(
                "error", f"{where}: no series on the left matches one on the right "
                         f"(left {_show(left_keys)}, right {_show(right_keys)})",
                "the sides come from different targets: match on labels whose values they share, e.g. "
                "on () for one series per side, or aggregate both sides first", node=node))
            return
        if node.op in SET_OPERATORS:
            return
        for side, shape, many_allowed in (("left", lhs, node.card == "group_left"),
                                          ("right", rhs, node.card == "group_right")):
            keys = [self.key(node, s) for s in shape.series]
            duplicated = {k for k in keys if keys.count(k) > 1}
            if duplicated and not many_allowed:
                certainty = "may fail (if they pass its filters together)" if shape.filtered else "fails"
                self.problems.append(JoinProblem(
                    "warning" if shape.filtered else "error",
                    f"{where}: several series on the {side} side share the match labels {_show(duplicated)}; "
                    f"the evaluation {certainty} with a many-to-one matching error and the alert goes silent",
                    f"aggregate the {side} side by the join labels, or use group_{side} if it really has many",
                    kind="vector-match-ambiguous", node=node))

    def combine(self, node: Binary, lhs: Shape, rhs: Shape, dropped: Collection[str]) -> Shape:
        """The result's label sets; ``dropped`` are the labels an arithmetic result loses (the name)."""
        if node.op == "and":
            right_keys = self.keys(node, rhs)
            return Shape.of((s for s in lhs.series if self.key(node, s) in right_keys), filtered=True)
        if node.op == "unless":
            return Shape.of(lhs.series, filtered=True)
        if node.op == "or":
            left_keys = self.keys(node, lhs)
            return Shape.of([*lhs.series, *(s for s in rhs.series if self.key(node, s) not in left_keys)],
                            lhs.filtered or rhs.filtered)
        many, one = (rhs, lhs) if node.card == "group_right" else (lhs, rhs)
        one_keys = {self.key(node, s): s for s in one.series}
        out = []
        for s in many.series:
            match = one_keys.get(self.key(node, s))
            if match is None:
                continue
            labels = _without(s, dropped)
            if node.card == "one-to-one":
                if node.on:
                    labels = {k: v for k, v in labels.items() if k in node.labels}
                else:
                    labels = _without(labels, node.labels)
            for name in node.include:
                if name in match:
                    labels[name] = match[name]
            out.append(labels)
        return Shape.of(out, lhs.filtered or rhs.filtered or node.filters)


def _without(labels: Mapping[str, str], names: Collection[str]) -> dict[str, str]:
    return {k: v for k, v in labels.items() if k not in names}


def _show(keys: Iterable[MatchKey], limit: int = 3) -> str:
    """A few match keys as ``{k="v", ...}``: enough to recognise the targets, short enough for one line."""
    shown = sorted("{" + ", ".join(f'{k}="{v}"' for k, v in key) + "}" for key in keys)
    more = f" and {len(shown) - limit} more" if len(shown) > limit else ""
    return ", ".join(shown[:limit]) + more


def _label_replace(labels: Mapping[str, str], dst: str, repl: str, src: str, regex: str) -> dict[str, str]:
    """What ``label_replace`` does to one label set: Go's ``$1``/``${1}`` become Python's ``\\g<1>``."""
    try:
        match = re.fullmatch(regex, labels.get(src, ""))
    except re.error:
        return dict(labels)
    if match is None:
        return dict(labels)
    value = match.expand(re.sub(r"\$\{?(\w+)\}?", r"\\g<\1>", repl))
    out = dict(labels)
    if value:
        out[dst] = value
    else:
        out.pop(dst, None)
    return out
