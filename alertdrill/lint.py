"""Lint alerting rules: documented, labelled, routed, and fed by series that really exist.

``promtool check rules`` proves a rule file parses; it cannot tell that a metric name is misspelt,
that ``a / on (x) b`` joins on a label one side lacks, that an alert lands on Alertmanager's catch-all
route or links to a runbook section nobody wrote. Those mistakes make an alert silent without making
it invalid, so :func:`lint` looks for them: offline against the rule files, the Alertmanager config,
the runbook and the documented-alert list, and live against a running Prometheus, whose answers show
which series and labels the exporters really produce.

Every problem is a :class:`Finding` (``error`` or ``warning``) printed as one line naming the rule,
the problem and the fix. The PromQL part is a small parser (:func:`parse_promql`) plus an evaluator
of label sets (:class:`LabelShapes`): it follows which labels flow through selectors, functions,
aggregations and binary operators without computing any value.
"""

from __future__ import annotations

import difflib
import re
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Union

import yaml

from alertdrill.assertions.promql import AGGREGATIONS, Matcher, Selector, Token, selectors, tokenize, unquote
from alertdrill.errors import ConfigError
from alertdrill.stack import layout
from alertdrill.stack.binaries import resolve

__all__ = [
    "DOCUMENTED_ALERTS",
    "DocumentedAlert",
    "Finding",
    "LabelShapes",
    "Rule",
    "lint",
    "load_documented",
    "load_rules",
    "parse_promql",
]

DOCUMENTED_ALERTS = Path(__file__).with_name("documented_alerts.yml")
SEVERITIES = ("critical", "warning")
LEVELS = ("error", "warning")
#: Metrics Prometheus makes itself from the rules; no exporter has to produce them.
RULE_METRICS = frozenset({"ALERTS", "ALERTS_FOR_STATE"})


# --- findings, rules, documented alerts ---------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    """One problem: ``rule`` is who has it (an alert, a receiver, a file), ``fix`` what to do."""

    level: str
    check: str
    rule: str
    problem: str
    fix: str
    source: str = ""

    def line(self) -> str:
        where = f" ({self.source})" if self.source else ""
        return f"{self.level}: {self.rule}{where}: {self.problem}; fix: {self.fix}"


@dataclass(frozen=True)
class Rule:
    """An alerting rule as written in a rule file."""

    name: str
    expr: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    file: Path
    group: str

    @property
    def severity(self) -> str:
        return str(self.labels.get("severity", ""))

    @property
    def title(self) -> str:
        """``Name[severity]``: two rules may share a name (PostgresHighConnectionCount)."""
        return f"{self.name}[{self.severity or 'no severity'}]"


@dataclass(frozen=True)
class DocumentedAlert:
    """An alert the seed documents, with the severities it must exist at."""

    name: str
    severities: tuple[str, ...]
    service: str
    seed: str


def _promtool_check(paths: Sequence[Path]) -> None:
    missing = [str(p) for p in paths if not Path(p).is_file()]
    if missing:
        raise ConfigError(f"rule file(s) not found: {', '.join(missing)}; pass existing files to --rules")
    result = subprocess.run([resolve("promtool"), "check", "rules", *map(str, paths)],
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        lines = [ln.strip() for ln in (result.stderr + result.stdout).splitlines() if ln.strip()]
        problems = [ln for ln in lines if not ln.startswith(("Checking ", "SUCCESS")) and ln != "FAILED:"]
        detail = "; ".join(problems or lines)[:600]
        raise ConfigError(f"invalid rule file: {detail}; fix it and check with `promtool check rules FILE`")


def load_rules(paths: Sequence[Path]) -> list[Rule]:
    """The alerting rules of ``paths``; an invalid file is a one-line ConfigError from promtool."""
    paths = [Path(p) for p in paths]
    _promtool_check(paths)
    rules = []
    for path in paths:
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups") or []:
            for raw in group.get("rules") or []:
                if "alert" in raw:
                    rules.append(Rule(
                        name=str(raw["alert"]), expr=str(raw["expr"]),
                        labels={str(k): str(v) for k, v in (raw.get("labels") or {}).items()},
                        annotations={str(k): str(v) for k, v in (raw.get("annotations") or {}).items()},
                        file=path, group=str(group.get("name", ""))))
    return rules


def load_documented(path: Path = DOCUMENTED_ALERTS) -> list[DocumentedAlert]:
    """The documented alerts (alertdrill/documented_alerts.yml)."""
    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
        return [DocumentedAlert(str(a["name"]), tuple(a["severities"]), str(a.get("service", "")),
                                str(a.get("seed", ""))) for a in raw["alerts"]]
    except FileNotFoundError:
        raise ConfigError(f"documented alert list {path} is missing; restore it from git") from None
    except (yaml.YAMLError, KeyError, TypeError) as exc:
        raise ConfigError(f"documented alert list {path} is invalid ({exc}); each alert needs name and severities"
                          ) from exc


# --- PromQL syntax tree --------------------------------------------------------------------------------

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


@dataclass(frozen=True)
class Unary:
    op: str
    expr: Node


@dataclass(frozen=True)
class Paren:
    expr: Node


Node = Union[Num, Str, Sel, Call, Agg, Binary, Unary, Paren]  # noqa: UP007 - a runtime alias

PRECEDENCE = {"or": 1, "and": 2, "unless": 2, "==": 3, "!=": 3, "<=": 3, "<": 3, ">=": 3, ">": 3,
              "+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "atan2": 5, "^": 6}
SET_OPERATORS = frozenset({"and", "or", "unless"})
COMPARISONS = frozenset({"==", "!=", "<=", "<", ">=", ">"})
AGG_WITH_PARAM = frozenset({"topk", "bottomk", "quantile", "count_values", "limitk", "limit_ratio"})


class _Parser:
    """Precedence climbing over :func:`tokenize`'s tokens; ConfigError on anything it cannot read."""

    def __init__(self, expr: str) -> None:
        self.expr = expr
        self.tokens = tokenize(expr)
        self.i = 0

    def peek(self, ahead: int = 0) -> Token | None:
        j = self.i + ahead
        return self.tokens[j] if j < len(self.tokens) else None

    def fail(self, message: str) -> ConfigError:
        tok = self.peek()
        where = f"offset {tok.pos} ({tok.text!r})" if tok else "the end"
        return ConfigError(f"PromQL: {message} at {where} in {self.expr!r}")

    def is_op(self, text: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok is not None and tok.kind == "op" and tok.text == text

    def is_word(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "ident" and tok.text in words

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise self.fail("unexpected end")
        self.i += 1
        return tok

    def expect(self, text: str) -> Token:
        if not self.is_op(text):
            raise self.fail(f"expected {text!r}")
        return self.take()

    def parse(self) -> Node:
        node = self.binary(0)
        if self.peek() is not None:
            raise self.fail("unexpected token")
        return node

    def binary_op(self) -> str | None:
        tok = self.peek()
        if tok is None:
            return None
        if tok.kind == "op" and tok.text in PRECEDENCE:
            return tok.text
        if tok.kind == "ident" and tok.text in ("and", "or", "unless", "atan2"):
            return tok.text
        return None

    def binary(self, min_prec: int) -> Node:
        start = self.peek().pos if self.peek() else len(self.expr)
        lhs = self.unary()
        while (op := self.binary_op()) is not None and PRECEDENCE[op] >= min_prec:
            self.take()
            node = Binary(op, lhs, lhs, "", card="many-to-many" if op in SET_OPERATORS else "one-to-one")
            if self.is_word("bool"):
                self.take()
                node = _replace(node, bool_=True)
            if self.is_word("on", "ignoring"):
                node = _replace(node, on=self.take().text == "on", labels=self.label_list())
            if self.is_word("group_left", "group_right"):
                card = self.take().text
                node = _replace(node, card=card, include=self.label_list() if self.is_op("(") else ())
            rhs = self.binary(PRECEDENCE[op] + (0 if op == "^" else 1))
            end = self.tokens[self.i - 1]
            lhs = _replace(node, rhs=rhs, text=self.expr[start:end.pos + len(end.text)])
        return lhs

    def unary(self) -> Node:
        if self.is_op("-") or self.is_op("+"):
            op = self.take().text
            operand = self.binary(PRECEDENCE["^"])
            if isinstance(operand, Num):
                return Num(-operand.value if op == "-" else operand.value)
            return Unary(op, operand)
        return self.postfix(self.primary())

    def postfix(self, node: Node) -> Node:
        while (tok := self.peek()) is not None:
            if tok.kind == "op" and tok.text == "[":
                window = self.brackets()
                if ":" not in window and isinstance(node, Sel):
                    s = node.selector
                    node = Sel(Selector(s.metric, s.matchers, window, s.offset, s.pos))
            elif tok.kind == "ident" and tok.text == "offset":
                self.take()
                if self.is_op("-"):
                    self.take()
                self.take()
            elif tok.kind == "op" and tok.text == "@":
                self.take()
                if self.is_word("start", "end"):
                    self.take()
                    self.expect("(")
                    self.expect(")")
                else:
                    if self.is_op("-"):
                        self.take()
                    self.take()
            else:
                break
        return node

    def brackets(self) -> str:
        start = self.expect("[")
        while (tok := self.peek()) is not None and not (tok.kind == "op" and tok.text == "]"):
            self.i += 1
        end = self.expect("]")
        return self.expr[start.pos + 1:end.pos].replace(" ", "")

    def primary(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise self.fail("expected an expression")
        if tok.kind == "number":
            self.take()
            return Num(float(int(tok.text, 16)) if tok.text.lower().startswith("0x") else float(tok.text))
        if tok.kind == "string":
            self.take()
            return Str(unquote(tok.text))
        if tok.kind == "op" and tok.text == "(":
            self.take()
            inner = self.binary(0)
            self.expect(")")
            return Paren(inner)
        if tok.kind == "op" and tok.text == "{":
            return self.selector(None, tok)
        if tok.kind != "ident":
            raise self.fail("expected an expression")
        if tok.text.lower() in ("inf", "nan"):
            self.take()
            return Num(float(tok.text))
        nxt = self.peek(1)
        if tok.text in AGGREGATIONS and nxt is not None and (nxt.text in ("(", "by", "without")):
            return self.aggregation()
        if nxt is not None and nxt.kind == "op" and nxt.text == "(":
            self.take()
            return Call(tok.text, self.arguments())
        self.take()
        return self.selector(tok.text, tok)

    def arguments(self) -> tuple[Node, ...]:
        self.expect("(")
        args: list[Node] = []
        while not self.is_op(")"):
            args.append(self.binary(0))
            if not self.is_op(")"):
                self.expect(",")
        self.expect(")")
        return tuple(args)

    def aggregation(self) -> Node:
        op = self.take().text
        labels: tuple[str, ...] = ()
        without = grouped = False
        if self.is_word("by", "without"):
            without, grouped, labels = self.take().text == "without", True, self.label_list()
        args = self.arguments()
        if not grouped and self.is_word("by", "without"):
            without, grouped, labels = self.take().text == "without", True, self.label_list()
        if not args:
            raise self.fail(f"{op}() needs an argument")
        param = args[0] if len(args) > 1 else None
        return Agg(op, args[-1], param, labels, without, grouped)

    def label_list(self) -> tuple[str, ...]:
        self.expect("(")
        names = []
        while not self.is_op(")"):
            tok = self.take()
            if tok.kind not in ("ident", "string"):
                raise self.fail("expected a label name")
            names.append(unquote(tok.text) if tok.kind == "string" else tok.text)
            if not self.is_op(")"):
                self.expect(",")
        self.expect(")")
        return tuple(names)

    def selector(self, metric: str | None, start: Token) -> Sel:
        matchers: list[Matcher] = []
        if self.is_op("{"):
            self.take()
            while not self.is_op("}"):
                tok = self.take()
                if tok.kind == "string" and (self.is_op(",") or self.is_op("}")):
                    matchers.append(Matcher("__name__", "=", unquote(tok.text)))
                else:
                    if tok.kind not in ("ident", "string"):
                        raise self.fail("expected a label name")
                    name = unquote(tok.text) if tok.kind == "string" else tok.text
                    op = self.take()
                    if op.text not in ("=", "!=", "=~", "!~"):
                        raise self.fail("expected one of = != =~ !~")
                    value = self.take()
                    if value.kind != "string":
                        raise self.fail("expected a quoted label value")
                    matchers.append(Matcher(name, op.text, unquote(value.text)))
                if not self.is_op("}"):
                    self.expect(",")
            self.expect("}")
        if metric is None:
            named = [m for m in matchers if m.name == "__name__" and m.op == "="]
            if named:
                metric = named[0].value
                matchers = [m for m in matchers if m is not named[0]]
        return Sel(Selector(metric, tuple(matchers), pos=start.pos))


def _replace(node: Binary, **changes: Any) -> Binary:
    return replace(node, **changes)


def parse_promql(expr: str) -> Node:
    """The syntax tree of ``expr``, enough to follow labels through it (values are not modelled)."""
    return _Parser(expr).parse()


# --- label shapes ---------------------------------------------------------------------------------------

Labels = frozenset  # frozenset[tuple[str, str]]: one series' label set, hashable
SeriesSource = Callable[[Selector], list[dict[str, str]]]


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
        return {k for s in self.series for k in s} - {"__name__"}


@dataclass(frozen=True)
class JoinProblem:
    level: str
    problem: str
    fix: str


def _short(text: str, limit: int = 70) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 3] + "..."


def _fmt(names: Iterable[str]) -> str:
    names = sorted(names)
    return ", ".join(names) if names else "none"


_NAME_KEEPING = frozenset({"label_replace", "label_join", "sort", "sort_desc", "last_over_time"})
_SCALAR_FUNCS = frozenset({"scalar", "time", "pi"})


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
            return inner if inner.scalar else Shape.of((_without(s, {"__name__"}) for s in inner.series),
                                                       inner.filtered)
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
        series, filtered = vectors[0].series, vectors[0].filtered
        if node.func == "histogram_quantile":
            return Shape.of((_without(s, {"__name__", "le"}) for s in series), filtered)
        if node.func == "label_replace" and len(node.args) == 5 and all(isinstance(a, Str) for a in node.args[1:]):
            dst, repl, src, regex = (a.value for a in node.args[1:])  # type: ignore[union-attr]
            return Shape.of((_label_replace(s, dst, repl, src, regex) for s in series), filtered)
        if node.func == "label_join" and len(node.args) >= 3 and all(isinstance(a, Str) for a in node.args[1:]):
            dst, sep, *src = (a.value for a in node.args[1:])  # type: ignore[union-attr]
            return Shape.of(({**s, dst: sep.join(s.get(n, "") for n in src)} for s in series), filtered)
        if node.func in _NAME_KEEPING:
            return Shape.of(series, filtered)
        return Shape.of((_without(s, {"__name__"}) for s in series), filtered)

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
                kept = _without(s, set(node.labels) | {"__name__"})
            else:
                kept = {k: v for k, v in s.items() if k in node.labels}
            out.append({**kept, **extra})
        return Shape.of(out, inner.filtered)

    def binary(self, node: Binary) -> Shape:
        lhs, rhs = self.evaluate(node.lhs), self.evaluate(node.rhs)
        if lhs.scalar and rhs.scalar:
            return Shape(scalar=True)
        drop_name = node.op not in COMPARISONS or node.bool_
        filters = node.op in COMPARISONS and not node.bool_
        if lhs.scalar or rhs.scalar:
            vector = rhs if lhs.scalar else lhs
            if node.op in SET_OPERATORS:
                return vector
            return Shape.of((_without(s, {"__name__"}) if drop_name else s for s in vector.series),
                            vector.filtered or filters)
        if lhs.series and rhs.series and node.op != "or":
            self.check_join(node, lhs, rhs)
        return self.combine(node, lhs, rhs, drop_name)

    def key(self, node: Binary, labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
        if node.on:
            return tuple((n, labels.get(n, "")) for n in sorted(node.labels))
        ignored = set(node.labels) | {"__name__"}
        return tuple(sorted((k, v) for k, v in labels.items() if k not in ignored))

    def check_join(self, node: Binary, lhs: Shape, rhs: Shape) -> None:
        where = f"`{_short(node.text)}`"
        if node.on:
            for side, shape, other in (("left", lhs, rhs), ("right", rhs, lhs)):
                missing = [n for n in node.labels if n not in shape.names()]
                if missing:
                    common = sorted(shape.names() & other.names())
                    self.problems.append(JoinProblem(
                        "error", f"{where} joins on ({_fmt(node.labels)}) but the {side} side has no label "
                                 f"{_fmt(missing)} (its labels: {_fmt(shape.names())})",
                        f"join on labels both sides have (common: {_fmt(common)}), or aggregate each side "
                        "by the join labels first"))
                    return
        else:
            ignored = set(node.labels)
            left, right = lhs.names() - ignored, rhs.names() - ignored
            if left != right:
                self.problems.append(JoinProblem(
                    "error", f"{where} matches on all labels{' but ' + _fmt(ignored) if ignored else ''}, and the "
                             f"sides differ: only left has {_fmt(left - right)}, only right has {_fmt(right - left)}",
                    f"add on ({_fmt(left & right)}) or ignoring ({_fmt(left ^ right)}), or aggregate both "
                    "sides by the same labels"))
                return
        left_keys = {self.key(node, s) for s in lhs.series}
        right_keys = {self.key(node, s) for s in rhs.series}
        if not left_keys & right_keys:
            self.problems.append(JoinProblem(
                "error", f"{where}: no series on the left matches one on the right "
                         f"(left {_keys(left_keys)}, right {_keys(right_keys)})",
                "join series of the same target: check that both sides come from the same job/instance"))
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
                    f"{where}: several series on the {side} side share the match labels {_keys(duplicated)}; "
                    f"the evaluation {certainty} with a many-to-one matching error and the alert goes silent",
                    f"aggregate the {side} side by the join labels, or use group_{side} if it really has many"))

    def combine(self, node: Binary, lhs: Shape, rhs: Shape, drop_name: bool) -> Shape:
        right_keys = {self.key(node, s): s for s in rhs.series}
        if node.op == "and":
            return Shape.of((s for s in lhs.series if self.key(node, s) in right_keys), filtered=True)
        if node.op == "unless":
            return Shape.of(lhs.series, filtered=True)
        if node.op == "or":
            left_keys = {self.key(node, s) for s in lhs.series}
            return Shape.of([*lhs.series, *(s for s in rhs.series if self.key(node, s) not in left_keys)],
                            lhs.filtered or rhs.filtered)
        many, one = (rhs, lhs) if node.card == "group_right" else (lhs, rhs)
        one_keys = {self.key(node, s): s for s in one.series}
        out = []
        for s in many.series:
            match = one_keys.get(self.key(node, s))
            if match is None:
                continue
            labels = _without(s, {"__name__"}) if drop_name else dict(s)
            if node.card == "one-to-one":
                if node.on:
                    labels = {k: v for k, v in labels.items() if k in node.labels}
                else:
                    labels = _without(labels, set(node.labels))
            for name in node.include:
                if name in match:
                    labels[name] = match[name]
            out.append(labels)
        return Shape.of(out, lhs.filtered or rhs.filtered or (node.op in COMPARISONS and not node.bool_))


def _without(labels: Mapping[str, str], names: set[str]) -> dict[str, str]:
    return {k: v for k, v in labels.items() if k not in names}


def _keys(keys: Iterable[tuple[tuple[str, str], ...]], limit: int = 3) -> str:
    shown = sorted("{" + ", ".join(f'{k}="{v}"' for k, v in key) + "}" for key in keys)
    more = f" and {len(shown) - limit} more" if len(shown) > limit else ""
    return ", ".join(shown[:limit]) + more


def _label_replace(labels: Mapping[str, str], dst: str, repl: str, src: str, regex: str) -> dict[str, str]:
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


# --- offline checks -------------------------------------------------------------------------------------

def check_labels(rules: Sequence[Rule]) -> list[Finding]:
    """severity (critical|warning) and service on every alert: routing and reports depend on them."""
    out = []
    for r in rules:
        if r.severity not in SEVERITIES:
            got = f"severity {r.severity!r}" if r.severity else "no severity label"
            out.append(Finding("error", "labels", r.title, f"{got}; Alertmanager routes by severity",
                               f"set labels.severity to one of {', '.join(SEVERITIES)}", r.file.name))
        if not r.labels.get("service"):
            out.append(Finding("error", "labels", r.title, "no service label",
                               "set labels.service (postgres, redis, api, monitoring, ...)", r.file.name))
        if not r.annotations.get("summary"):
            out.append(Finding("warning", "annotations", r.title, "no summary annotation",
                               "add annotations.summary: one line naming the instance and the value", r.file.name))
    return out


def runbook_anchors(markdown: str) -> set[str]:
    """GitHub-style heading slugs plus explicit ``<a id=...>``/``{#id}`` anchors of a Markdown file."""
    anchors = set()
    for line in markdown.splitlines():
        heading = re.match(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            text = re.sub(r"\{#([\w-]+)\}", "", heading.group(1))
            anchors.add(re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-"))
        anchors.update(re.findall(r"""<a\s+(?:id|name)=["']([^"']+)["']""", line))
        anchors.update(re.findall(r"\{#([\w-]+)\}", line))
    return anchors


def check_runbooks(rules: Sequence[Rule], root: Path) -> list[Finding]:
    """Every alert links a runbook section that exists (relative links, checked against ``root``)."""
    out: list[Finding] = []
    missing_files: dict[str, list[Rule]] = {}
    anchors: dict[Path, set[str]] = {}
    for r in rules:
        url = r.annotations.get("runbook_url", "")
        if not url:
            out.append(Finding("error", "runbook", r.title, "no runbook_url annotation",
                               f"add annotations.runbook_url: docs/runbook.md#{r.name.lower()}", r.file.name))
            continue
        if re.match(r"^[a-z][a-z0-9+.-]*://", url):
            continue  # a web page: not checkable offline
        path_text, _, anchor = url.partition("#")
        path = root / path_text
        if not path.is_file():
            missing_files.setdefault(path_text, []).append(r)
            continue
        if path not in anchors:
            anchors[path] = runbook_anchors(path.read_text())
        if anchor and anchor not in anchors[path]:
            out.append(Finding("error", "runbook", r.title, f"{path_text} has no section #{anchor}",
                               f"add a heading `## {r.name}` to {path_text} or fix the anchor", r.file.name))
    for path_text, linked in missing_files.items():
        names = sorted({r.name for r in linked})
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        out.append(Finding("error", "runbook", shown, f"runbook {path_text} does not exist ({len(linked)} "
                           f"alert(s) link to it, looked in {root})",
                           f"write {path_text} with one section per alert, or fix runbook_url", ""))
    return out


def load_alertmanager_config(path: Path) -> dict:
    try:
        return yaml.safe_load(Path(path).read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"Alertmanager config {path} not found; pass --alertmanager-config") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"Alertmanager config {path} is not YAML ({_short(str(exc), 120)})") from exc


def check_receivers(config: Mapping[str, Any], source: str) -> list[Finding]:
    """Every integration of every receiver sends resolutions: on-call must hear that it is over."""
    out = []
    for receiver in config.get("receivers") or []:
        name = str(receiver.get("name", "?"))
        integrations = {k: v for k, v in receiver.items() if k.endswith("_configs") and v}
        if not integrations:
            out.append(Finding("warning", "receiver", f"receiver {name}", "has no integration; alerts routed "
                               "there are dropped", "add a webhook_configs (or other) entry, or remove the "
                               "receiver", source))
        for kind, entries in integrations.items():
            for i, entry in enumerate(entries):
                if (entry or {}).get("send_resolved") is not True:
                    out.append(Finding("error", "receiver", f"receiver {name}",
                                       f"{kind}[{i}] does not set send_resolved: true; resolutions are not sent",
                                       f"add `send_resolved: true` to {kind}[{i}]", source))
    return out


def _amtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([resolve("amtool"), *args], capture_output=True, text=True, timeout=60)


def check_routes(rules: Sequence[Rule], am_path: Path) -> list[Finding]:
    """The config is valid and every alert matches a route below the root, not the catch-all."""
    result = _amtool("check-config", str(am_path))
    if result.returncode != 0:
        lines = [ln.strip() for ln in (result.stdout + result.stderr).splitlines() if "FAILED" in ln or "error" in ln]
        return [Finding("error", "route", am_path.name, "amtool check-config fails: " + "; ".join(lines)[:300],
                        "fix the config (every route's receiver must be defined)", am_path.name)]
    out = []
    seen: set[tuple[tuple[str, str], ...]] = set()
    for r in rules:
        labels = {"alertname": r.name, **r.labels}
        key = tuple(sorted(labels.items()))
        if key in seen:
            continue
        seen.add(key)
        args = [f"{k}={v}" for k, v in sorted(labels.items())]
        result = _amtool("config", "routes", "test", f"--config.file={am_path}", "--tree", *args)
        if result.returncode != 0:
            out.append(Finding("error", "route", r.title, "amtool cannot route it: " + _short(result.stderr, 200),
                               "check the alert's labels and the route matchers", r.file.name))
            continue
        matched, receivers = _route_tree(result.stdout)
        if not receivers:
            out.append(Finding("error", "route", r.title, "routes to no receiver",
                               f"add a route in {am_path.name} that matches its labels", r.file.name))
        elif matched <= 1:
            out.append(Finding("warning", "route", r.title, f"matches no route and falls through to the root "
                               f"receiver {', '.join(receivers)}",
                               f"add a route for severity={r.severity or '...'} in {am_path.name}, or fix the "
                               "alert's labels", r.file.name))
    return out


def _route_tree(output: str) -> tuple[int, list[str]]:
    """(number of matched routes in the tree, receivers) from ``amtool config routes test --tree``."""
    lines = output.splitlines()
    tree, receivers, in_tree = 0, [], False
    for line in lines:
        if line.startswith("Matching routes"):
            in_tree = True
            continue
        if in_tree and "── " in line:
            tree += 1
        elif in_tree and not line.strip() and tree:
            in_tree = False
        elif not in_tree and line.strip():
            receivers.extend(x.strip() for x in line.split(",") if x.strip())
    return tree, receivers


def check_documented(rules: Sequence[Rule], documented: Sequence[DocumentedAlert]) -> list[Finding]:
    """Every alert the seed documents exists, at every documented severity."""
    out = []
    for doc in documented:
        named = [r for r in rules if r.name == doc.name]
        if not named:
            out.append(Finding("error", "documented", doc.name, f"documented alert has no rule (seed: {doc.seed})",
                               f"add an alerting rule named {doc.name}", ""))
            continue
        for severity in doc.severities:
            if not any(r.severity == severity for r in named):
                out.append(Finding("error", "documented", f"{doc.name}[{severity}]",
                                   f"documented at severity {severity}, but no rule has it (rules: "
                                   f"{', '.join(r.severity or '-' for r in named)})",
                                   f"add or relabel a {doc.name} rule with severity: {severity}", named[0].file.name))
        for r in named:
            if doc.service and r.labels.get("service") and r.labels["service"] != doc.service:
                out.append(Finding("warning", "documented", r.title, f"service {r.labels['service']!r}, documented "
                                   f"under {doc.service!r}", f"set labels.service: {doc.service}", r.file.name))
    return out


def check_scenarios(rules: Sequence[Rule], scenario_alerts: set[str]) -> list[Finding]:
    """Alerts no end-to-end scenario proves (hook for the scenario catalogue)."""
    return [Finding("warning", "scenario", r.title, "no scenario proves this alert end to end",
                    "add a chaos scenario that causes it and expects it", r.file.name)
            for r in rules if r.name not in scenario_alerts]


# --- live checks ----------------------------------------------------------------------------------------

class LiveSeries:
    """Answers selectors from a running Prometheus, with a cache (one query per selector text)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.cache: dict[str, list[dict[str, str]]] = {}
        self._names: list[str] | None = None

    def query(self, expr: str) -> list[dict[str, str]]:
        if expr not in self.cache:
            self.cache[expr] = [dict(s.labels) for s in self.client.query(expr)]
        return self.cache[expr]

    def series(self, selector: Selector) -> list[dict[str, str]]:
        return self.query(selector.text)

    def relaxed(self, selector: Selector) -> list[dict[str, str]]:
        """The selector's series, or, when its matchers select nothing now (5xx only in an incident),
        every series of its metric: their label *names* are what the join check needs."""
        found = self.series(selector)
        if found or not selector.metric:
            return found
        return self.query(Selector(selector.metric).text)

    def metric_names(self) -> list[str]:
        if self._names is None:
            self._names = [str(n) for n in self.client.api("/label/__name__/values") or []]
        return self._names


def check_selectors(rule: Rule, live: LiveSeries) -> list[Finding]:
    """Each selector of the rule returns series now, or the finding says why not."""
    out = []
    for sel in selectors(rule.expr):
        if sel.metric in RULE_METRICS or live.series(sel):
            continue
        where = f"selector `{sel.text}` returns no series"
        if sel.metric and not live.query(Selector(sel.metric).text):
            close = difflib.get_close_matches(sel.metric, live.metric_names(), n=1, cutoff=0.75)
            hint = f"did you mean `{close[0]}`?" if close else "check the name against the exporter's /metrics"
            out.append(Finding("error", "selector", rule.title, f"{where}: no target exports {sel.metric}", hint,
                               rule.file.name))
            continue
        base = Selector(sel.metric).text if sel.metric else None
        for m in sel.matchers:
            if m.name == "__name__" or base is None:
                continue
            values = sorted({s[m.name] for s in live.query(f"count by ({m.name}) ({base})") if m.name in s})
            if not values:
                labels = _fmt({k for s in live.query(base) for k in s} - {"__name__"})
                out.append(Finding("error", "selector", rule.title,
                                   f"{where}: {sel.metric} has no label {m.name} (its labels: {labels})",
                                   "fix the label name in the matcher", rule.file.name))
            elif m.op == "=" and m.value not in values:
                close = difflib.get_close_matches(m.value, values, n=1)
                hint = f"did you mean {m.name}=\"{close[0]}\"?" if close else "check the value"
                out.append(Finding("warning", "selector", rule.title,
                                   f"{where}: no {sel.metric} has {m.name}=\"{m.value}\" now (values: "
                                   f"{_fmt(values[:8])})", hint + " (fine if it only appears during an incident)",
                                   rule.file.name))
    return out


def _group_by(config: Mapping[str, Any]) -> list[str]:
    route = config.get("route") or {}
    return [str(x) for x in route.get("group_by") or [] if x not in ("alertname", "...")]


def check_joins(rule: Rule, live: LiveSeries, group_by: Sequence[str] = ()) -> list[Finding]:
    """Binary operators can match series, and the alert keeps the labels Alertmanager groups by."""
    shapes = LabelShapes(live.relaxed)
    try:
        shape = shapes.evaluate(parse_promql(rule.expr))
    except ConfigError as exc:
        return [Finding("warning", "join", rule.title, f"cannot follow labels through the expression ({exc})",
                        "report the expression to alertdrill's maintainers", rule.file.name)]
    out = [Finding(p.level, "join", rule.title, p.problem, p.fix, rule.file.name) for p in shapes.problems]
    if shape.series and not shapes.problems:
        lacking = [n for n in group_by if n not in rule.labels and any(n not in s for s in shape.series)]
        if lacking:
            out.append(Finding("warning", "join", rule.title, f"its alerts lack {_fmt(lacking)}, which "
                               "Alertmanager groups and inhibits by: instances merge into one notification",
                               f"keep {_fmt(lacking)} in the result (by ({_fmt(lacking)}) / on (...))",
                               rule.file.name))
    return out


# --- entry point ----------------------------------------------------------------------------------------

def lint(
    rule_files: Sequence[Path] | None = None,
    *,
    prometheus: Any = None,
    alertmanager_config: Path = layout.ALERTMANAGER_CONFIG,
    runbook_root: Path | None = None,
    documented: Sequence[DocumentedAlert] | None = None,
    scenario_alerts: set[str] | None = None,
) -> list[Finding]:
    """Every finding for ``rule_files`` (default: the shipped rules), errors first.

    ``prometheus`` is a :class:`~alertdrill.assertions.prometheus.PrometheusClient` for the live
    checks, or None to skip them. ``runbook_root`` is where relative runbook links start (the
    project root). ``scenario_alerts``, when given, are the alert names that have a scenario.
    """
    paths = [Path(p) for p in (rule_files or layout.shipped_rule_files())]
    rules = load_rules(paths)
    am_config = load_alertmanager_config(alertmanager_config)
    findings = [
        *check_labels(rules),
        *check_runbooks(rules, Path(runbook_root) if runbook_root else layout.STACK_DIR.parent),
        *check_receivers(am_config, Path(alertmanager_config).name),
        *check_routes(rules, Path(alertmanager_config)),
        *check_documented(rules, load_documented() if documented is None else documented),
    ]
    if scenario_alerts is not None:
        findings += check_scenarios(rules, scenario_alerts)
    if prometheus is not None:
        live = LiveSeries(prometheus)
        group_by = _group_by(am_config)
        for rule in rules:
            findings += check_selectors(rule, live)
            findings += check_joins(rule, live, group_by)
    return sorted(findings, key=lambda f: LEVELS.index(f.level))
